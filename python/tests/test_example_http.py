"""The HTTP example (examples/python/serve_logs.py): two clients over
loopback, one fast and one deliberately slow, each checked line by line."""

from __future__ import annotations

import datetime
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "serve_logs.py"
LINES = 3000
# RingHandler's default format: ISO 8601 local time, level, logger, message.
LINE = re.compile(r"^(\S+) INFO app: line (\d+) of the application log$")
LOST = re.compile(r"^\[ringlog: (\d+) records lost\]$")


def get_logs(port: int, slow: bool) -> bytes:
    """GET /logs over a raw socket; the slow client has a tiny receive
    buffer and stops reading for a while, so the server's writes block and
    its reader is lapped. Returns the decoded chunked body."""
    s = socket.socket()
    if slow:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /logs HTTP/1.1\r\nHost: localhost\r\n\r\n")
    raw = b""
    if slow:
        raw += s.recv(512)
        time.sleep(2.0)
    while not raw.endswith(b"\r\n0\r\n\r\n"):
        data = s.recv(1024 if slow else 65536)
        if not data:
            break
        raw += data
        if slow:
            time.sleep(0.001)
    s.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" in head.lower()
    out = b""
    while True:  # de-chunk
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out += body[:size]
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]
    return out


def check_stream(body: bytes) -> tuple[int, int]:
    """Lines in order; every gap announced by an exact lost count; every
    line of the application accounted for. Returns (lines, lost)."""
    expected, read, lost, pending = 0, 0, 0, 0
    last: datetime.datetime | None = None
    for text in body.decode().splitlines():
        if m := LOST.match(text):
            pending += int(m.group(1))
            continue
        m = LINE.match(text)
        assert m, f"unexpected line {text!r}"
        stamp = datetime.datetime.fromisoformat(m.group(1))
        assert stamp.tzinfo is not None and stamp.microsecond % 1000 == 0, "milliseconds and a UTC offset"
        assert last is None or stamp >= last, "one thread logs: the times never go back"
        last = stamp
        i = int(m.group(2))
        assert i == expected + pending, f"line {i} after {expected - 1} with {pending} lost announced"
        lost += pending
        pending = 0
        expected = i + 1
        read += 1
    assert read + lost == LINES, (read, lost)
    return read, lost


def test_two_clients_stream_the_ring_live(tmp_path: Path) -> None:
    logfile = tmp_path / "app.log"
    cmd = [sys.executable, str(EXAMPLE), "--port", "0", "--lines", str(LINES), "--interval", "0.0005",
           "--ring-bytes", "16384", "--sndbuf", "4096", "--wait-clients", "2", "--logfile", str(logfile)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            bodies: dict[str, bytes] = {}
            errors: list[BaseException] = []

            def client(name: str, slow: bool) -> None:
                try:
                    bodies[name] = get_logs(port, slow)
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(e)

            ts = [threading.Thread(target=client, args=(n, n == "slow")) for n in ("fast", "slow")]
            for t in ts:
                t.start()
            for t in ts:
                t.join(timeout=60)
            assert not errors, errors
            assert server.wait(timeout=30) == 0
            assert server.stdout.read().strip() == f"logged {LINES} lines"
        finally:
            server.kill()

    fast_read, fast_lost = check_stream(bodies["fast"])
    slow_read, slow_lost = check_stream(bodies["slow"])
    assert fast_read > 0
    assert slow_lost > 0, "the slow client should have been lapped and told so"
    assert len(logfile.read_text().splitlines()) == LINES, "the file got every line"
