"""End-to-end tests of `ringlog serve` from outside: curl and Python's
standard library as the clients, `ringlog write` as the writer.

Closing a ring needs a program that closes it: the ringlog Python module
(when it is installed in this interpreter) does, in a subprocess; the tests
that need it are skipped without it. Every wait is bounded and every
process is killed at the end (conftest.py).
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import Procs, ringlog_bin, start_serve

CURL_TIMEOUT = 20


def write(ring: Path, *lines: str, capacity: str = "64KiB") -> None:
    """Writes each line as one record with `ringlog write` (stdin mode)."""
    subprocess.run([ringlog_bin(), "write", "--capacity", capacity, str(ring)],
                   input="".join(line + "\n" for line in lines).encode(), check=True, timeout=30)


def has_module() -> bool:
    return subprocess.run([sys.executable, "-c", "import ringlog"], capture_output=True, timeout=30).returncode == 0


def close_ring(ring: Path) -> None:
    if not has_module():
        pytest.skip("closing a ring needs the ringlog Python module (pip install ./python)")
    subprocess.run([sys.executable, "-c", "import ringlog, sys; ringlog.Ring.open(sys.argv[1]).close()", str(ring)],
                   check=True, timeout=30)


def stat(ring: Path) -> dict:
    out = subprocess.run([ringlog_bin(), "stat", "--json", str(ring)], capture_output=True, check=True, timeout=30)
    return json.loads(out.stdout)


def wait_until(what: str, cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.02)


def connect(base: str) -> http.client.HTTPConnection:
    u = urlsplit(base)
    return http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=CURL_TIMEOUT)


@pytest.fixture
def ring(tmp_path: Path) -> Path:
    p = tmp_path / "app.ring"
    write(p, "first record")
    return p


def test_curl_streams_live_until_the_ring_is_closed(procs: Procs, ring: Path) -> None:
    _, base = start_serve(procs, ring)
    curl = procs.start("curl", "-sS", "-N", "--max-time", str(CURL_TIMEOUT), base + "/records",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until("curl's reader", lambda: stat(ring)["readers"] == 1)
    write(ring, *[f"line {i}" for i in range(100)])
    close_ring(ring)
    out, err = curl.communicate(timeout=CURL_TIMEOUT)
    assert curl.returncode == 0, err  # the chunked body ended properly
    assert out.decode().splitlines() == ["first record"] + [f"line {i}" for i in range(100)]


def test_loss_is_a_line_in_the_stream(procs: Procs, tmp_path: Path) -> None:
    ring = tmp_path / "small.ring"
    write(ring, *[f"{i:05} " + "y" * 100 for i in range(200)], capacity="4KiB")
    oldest = stat(ring)["oldest_seq"]
    assert oldest > 0
    _, base = start_serve(procs, ring)
    close_ring(ring)
    out = subprocess.run(["curl", "-sS", "-N", "--max-time", str(CURL_TIMEOUT), base + "/records?from=0"],
                         capture_output=True, timeout=CURL_TIMEOUT + 5)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.decode().splitlines()
    assert lines[0] == f"ringlog: lost {oldest} records"
    assert [int(line[:5]) for line in lines[1:]] == list(range(oldest, 200))
    # The same in JSON: the loss in the first object.
    out = subprocess.run(["curl", "-sS", base + "/records?from=0&format=json"], capture_output=True,
                         timeout=CURL_TIMEOUT)
    first = json.loads(out.stdout.decode().splitlines()[0])
    assert (first["seq"], first["lost"]) == (oldest, oldest)


def test_stopping_the_server_cuts_streams_and_exits_0(procs: Procs, ring: Path) -> None:
    serve, base = start_serve(procs, ring)
    curl = procs.start("curl", "-sS", "-N", "--max-time", str(CURL_TIMEOUT), base + "/records",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until("curl's reader", lambda: stat(ring)["readers"] == 1)
    serve.send_signal(signal.SIGTERM)
    assert serve.wait(timeout=10) == 0
    out, _ = curl.communicate(timeout=CURL_TIMEOUT)
    assert curl.returncode == 18  # a partial transfer: the server went away, the ring did not end
    assert out == b"first record\n"


def test_stat_and_snapshot_with_curl(procs: Procs, ring: Path) -> None:
    write(ring, "second", "third")
    _, base = start_serve(procs, ring)
    out = subprocess.run(["curl", "-sS", "-i", base + "/stat"], capture_output=True, timeout=CURL_TIMEOUT, check=True)
    head, body = out.stdout.decode().split("\r\n\r\n", 1)
    assert "content-type: application/json" in head.lower()
    st = json.loads(body)
    assert st["written"] == 3 and st["closed"] is False and st["file"] == str(ring)
    out = subprocess.run(["curl", "-sS", base + "/snapshot"], capture_output=True, timeout=CURL_TIMEOUT, check=True)
    assert out.stdout == b"first record\nsecond\nthird\n"
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", base + "/nope"],
                         capture_output=True, timeout=CURL_TIMEOUT, check=True)
    assert out.stdout == b"404"


def read_event(resp: http.client.HTTPResponse) -> dict:
    """One server-sent event: its fields, data lines joined by newlines."""
    ev: dict = {"event": "message", "data": []}
    while True:
        raw = resp.readline()
        if not raw:
            raise EOFError("the stream ended")
        line = raw.decode().rstrip("\n")
        if line == "":
            if ev["data"]:
                ev["data"] = "\n".join(ev["data"])
                return ev
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            ev["data"].append(value)
        elif field:
            ev[field] = value


def sse(base: str, last_event_id: str | None = None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = connect(base)
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    conn.request("GET", "/records", headers=headers)
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/event-stream"
    return conn, resp


def test_sse_client_resumes_with_last_event_id(procs: Procs, ring: Path) -> None:
    write(ring, *[f"event {i}" for i in range(1, 30)])
    _, base = start_serve(procs, ring)
    conn, resp = sse(base)
    seen = []
    for _ in range(10):
        ev = read_event(resp)
        seen.append((int(ev["id"]), ev["data"]))
    conn.close()  # goes away after id 9
    write(ring, *[f"event {i}" for i in range(30, 50)])
    conn, resp = sse(base, last_event_id=str(seen[-1][0]))
    for _ in range(10, 50):
        ev = read_event(resp)
        seen.append((int(ev["id"]), ev["data"]))
    assert [s for s, _ in seen] == list(range(50))  # no duplicate, no gap
    assert seen[0][1] == "first record" and seen[1:] == [(i, f"event {i}") for i in range(1, 50)]
    close_ring(ring)
    ev = read_event(resp)
    assert (ev["event"], ev["data"]) == ("end", "closed")
    assert resp.read() == b""  # the stream ends
    conn.close()
    # A client that has everything is told 204: no more reconnecting.
    conn = connect(base)
    conn.request("GET", "/records", headers={"Accept": "text/event-stream", "Last-Event-ID": "49"})
    assert conn.getresponse().status == 204
    conn.close()


def test_help_is_enough_to_use_it(ringlog: str) -> None:
    out = subprocess.run([ringlog, "serve", "--help"], capture_output=True, timeout=30, check=True).stdout.decode()
    for needed in ["/records", "/snapshot", "/stat", "from=oldest|newest|SEQ", "format=text|json",
                   "text/event-stream", "Last-Event-ID", "ringlog: lost N records", "event: lost", "curl -N",
                   "127.0.0.1:8080", "503"]:
        assert needed in out, needed
