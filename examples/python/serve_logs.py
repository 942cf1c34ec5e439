"""Serve an application's recent logs live over HTTP, from a ringlog ring.

The application logs through `logging` into a RingHandler (and also to a
file). A stdlib HTTP server streams the ring to every client that connects:
GET /logs answers with a chunked response that starts at the oldest
retained record (GET /logs?start=newest: at what is logged from now on),
sends each record as soon as it is written, and ends cleanly when the
ring closes. A slow client does not slow the application
down: its reader is lapped, and the stream tells it how many records it
missed ("[ringlog: N records lost]"). Each line is RingHandler's default
format, ISO 8601 local time, level, logger, message:

    2025-03-14T09:26:53.589+01:00 INFO app: line 7 of the application log

    python examples/python/serve_logs.py               # logs a line every 100 ms, until Ctrl-C
    curl -N http://127.0.0.1:8080/logs                  # in another terminal

Options: --port (0 picks a free one), --lines N and --interval S (stop after
N lines, S seconds apart), --ring-bytes, --logfile, --sndbuf (bound what a
stalled client can have queued in the kernel), --file PATH (see below).

With --file PATH the ring lives in that file (ringlog.Ring.open: created
with --ring-bytes if missing, else opened as it is), so that any other
process can read it while the application runs, and after it exits or
crashes:

    python examples/python/serve_logs.py --file /tmp/app.ring
    python -c 'import ringlog
    for r in ringlog.Ring.open("/tmp/app.ring").reader(): print(r.data.decode(), end="")'
"""

from __future__ import annotations

import argparse
import http.server
import logging
import socket
import sys
import threading
import time
from typing import Literal

import ringlog


class LogStreamHandler(http.server.BaseHTTPRequestHandler):
    """GET /logs: the ring as a live chunked stream."""

    ring: ringlog.Ring  # set on the subclass made by serve()
    sndbuf: int = 0  # if set: the kernel's send buffer per client, in bytes
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.split("?")[0] != "/logs":
            self.send_error(404, "try /logs")
            return
        start: Literal["oldest", "newest"] = "newest" if "start=newest" in self.path else "oldest"
        if self.sndbuf:
            # Bound what a stalled client can have queued in the kernel:
            # past that, its reader falls behind and is lapped instead.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
        reader = self.ring.reader(start)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            for rec in reader:  # blocks between records; ends when the ring closes
                if rec.lost:
                    self._chunk(f"[ringlog: {rec.lost} records lost]\n".encode())
                self._chunk(rec.data)
            self.wfile.write(b"0\r\n\r\n")  # the end of the chunked body
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; its reader goes with it

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        logging.getLogger("http").debug(format, *args)


def serve(ring: ringlog.Ring, port: int, sndbuf: int = 0) -> http.server.ThreadingHTTPServer:
    """Starts the HTTP server in a background thread."""
    handler = type("Handler", (LogStreamHandler,), {"ring": ring, "sndbuf": sndbuf})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--lines", type=int, default=0, help="stop after this many lines (0: run until Ctrl-C)")
    p.add_argument("--interval", type=float, default=0.1, help="seconds between lines")
    p.add_argument("--ring-bytes", type=int, default=1 << 20)
    p.add_argument("--logfile", default="serve_logs.log")
    p.add_argument("--sndbuf", type=int, default=0, help="kernel send buffer per client, bytes (0: the default)")
    p.add_argument("--wait-clients", type=int, default=0, help="wait for this many clients before logging")
    p.add_argument("--file", help="keep the ring in this file, readable by other processes (ringlog.Ring.open)")
    args = p.parse_args()

    ring = open_ring(args.file, args.ring_bytes) if args.file else ringlog.Ring(args.ring_bytes)
    log = logging.getLogger("app")
    log.setLevel(logging.INFO)
    log.addHandler(ringlog.RingHandler(ring))
    file_handler = logging.FileHandler(args.logfile, mode="w")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(file_handler)

    server = serve(ring, args.port, args.sndbuf)
    print(f"serving on http://127.0.0.1:{server.server_address[1]}/logs", flush=True)
    if args.wait_clients:
        # For tests: start logging once the clients' readers exist (with
        # --file: readers in any process count).
        while ring_readers(ring) < args.wait_clients:
            time.sleep(0.01)
    try:
        i = 0
        while args.lines == 0 or i < args.lines:
            log.info("line %d of the application log", i)
            i += 1
            if args.interval:
                time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    ring.flush(timeout=2.0)  # give the clients a moment to catch up
    ring.close()  # every stream ends cleanly (with --file: readers in other processes too)
    time.sleep(0.2)
    server.shutdown()
    print(f"logged {i} lines", flush=True)
    return 0


def open_ring(path: str, capacity: int) -> ringlog.Ring:
    """The ring in the file at `path`: the existing one, as it is (its
    records kept, seqs going on), or a new one of `capacity` bytes."""
    try:
        return ringlog.Ring.open(path)
    except FileNotFoundError:
        return ringlog.Ring.open(path, capacity)


def ring_readers(ring: ringlog.Ring) -> int:
    """How many readers (clients) the ring has."""
    return ring.readers


if __name__ == "__main__":
    sys.exit(main())
