"""Shared fixtures for the end-to-end tests of the `ringlog` command.

The binary is $RINGLOG_BIN, or target/debug/ringlog (scripts/test builds it
first). Every process a test starts is killed at the end of the test, and
every wait is bounded.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[3]


def ringlog_bin() -> str:
    path = os.environ.get("RINGLOG_BIN") or str(ROOT / "target" / "debug" / "ringlog")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built (cargo build -p ringlog-cli, or set RINGLOG_BIN)")
    return path


@pytest.fixture
def ringlog() -> str:
    """Path of the ringlog binary under test."""
    return ringlog_bin()


class Procs:
    """Processes started by a test; all are killed when it ends."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, **kw: object) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(list(args), **kw)  # type: ignore[call-overload]
        self.procs.append(p)
        return p

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture
def procs() -> Iterator[Procs]:
    ps = Procs()
    yield ps
    ps.stop_all()


SERVING = re.compile(rb"serving .* on (http://[0-9.:\[\]a-f]+)/")


def start_serve(procs: Procs, ring_file: Path, *extra: str, timeout: float = 15.0) -> tuple[subprocess.Popen[bytes], str]:
    """Starts `ringlog serve FILE --listen 127.0.0.1:0`; returns the process
    and its base URL (from the `ringlog: serving FILE on http://ADDR/` line
    it prints on stderr once it listens)."""
    p = procs.start(ringlog_bin(), "serve", str(ring_file), "--listen", "127.0.0.1:0", *extra,
                    stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert p.stderr is not None
    deadline = time.monotonic() + timeout
    seen = b""
    while time.monotonic() < deadline:
        line = p.stderr.readline()  # serve prints the line at once; EOF if it died
        if not line:
            break
        seen += line
        m = SERVING.search(line)
        if m:
            return p, m.group(1).decode()
    p.kill()
    raise AssertionError(f"ringlog serve did not say where it listens: {seen!r}")
