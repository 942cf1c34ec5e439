"""Smoke test of an installed ringlog wheel, run by python/tests_wheel/run
in a fresh virtualenv, from a temporary directory, with `python -I`: the
source tree is nowhere on sys.path. Exits non-zero on the first failure."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import ringlog

here = Path(ringlog.__file__).resolve().parent
assert Path(sys.prefix).resolve() in here.parents, f"ringlog imported from {here}, not from the virtualenv"
assert (here / "py.typed").exists() and (here / "_ringlog.pyi").exists(), "typing files are in the wheel"
print(f"ringlog {ringlog.__version__} from {here}", flush=True)

# Write and read.
ring = ringlog.Ring(1 << 16)
rd = ring.reader()
assert ring.write("hello") == 0 and ring.write(b"world") == 1
tail = ring.reader("newest")
assert [r.data for r in iter(lambda: rd.next(timeout=0), None)] == [b"hello", b"world"]
assert tail.next(timeout=0) is None
assert ring.snapshot() == b"helloworld"
try:
    ring.reader("newest", seq=3)
    raise AssertionError("start='newest' with seq")
except ringlog.InvalidArgument as e:
    assert "seq cannot be combined" in str(e)

# async for.
async def first_two() -> list[bytes]:
    out = []
    async for rec in ring.reader():
        out.append(rec.data)
        if len(out) == 2:
            break
    return out

assert asyncio.run(first_two()) == [b"hello", b"world"]

# logging, from dictConfig.
logging.config.dictConfig(
    {
        "version": 1,
        "handlers": {
            "ring": {"class": "ringlog.RingHandler", "capacity": 65536, "target": "sink", "flush_level": "ERROR"},
            "sink": {"class": "logging.handlers.BufferingHandler", "capacity": 100},
        },
        "loggers": {"app": {"handlers": ["ring"], "level": "DEBUG", "propagate": False}},
    }
)
log = logging.getLogger("app")
log.info("started")
log.error("failed")
(handler,) = log.handlers
assert isinstance(handler, ringlog.RingHandler)
lines = handler.ring.snapshot().decode().splitlines()
stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"
assert re.fullmatch(f"{stamp} INFO app: started", lines[0]), lines
assert re.fullmatch(f"{stamp} ERROR app: failed", lines[1]), lines
sink = handler.target
assert isinstance(sink, logging.handlers.BufferingHandler)
assert [r.getMessage() for r in sink.buffer] == lines

with tempfile.TemporaryDirectory() as tmp:
    # A ring in a file, read by a second handle.
    path = os.path.join(tmp, "app.ring")
    with ringlog.Ring.open(path, 1 << 16) as fring:
        fring.write("kept in the file")
    again = ringlog.Ring.open(path)  # closed by `with`: opened again (the next run)
    again_rd = again.reader()
    rec = again_rd.next(timeout=0)
    assert rec is not None and rec.data == b"kept in the file" and again_rd.next(timeout=0) is None
    assert again.is_file and again.write("and more") == 1

    # A crash dump from the native signal handler.
    dump = os.path.join(tmp, "crash.dump")
    code = (
        "import os, sys, ringlog\n"
        "r = ringlog.Ring(4096)\n"
        "r.write('last words\\n')\n"
        "ringlog.install_crash_dump(r, sys.argv[1])\n"
        "os.abort()\n"
    )
    p = subprocess.run([sys.executable, "-I", "-c", code, dump], capture_output=True, timeout=30)
    assert p.returncode == -signal.SIGABRT, p
    assert Path(dump).read_bytes() == b"last words\n"

print("smoke test passed")
