"""A panic inside ringlog (made on purpose through the test-only hook of a
build with the fault-injection feature) is a Python exception, and the ring
is still correct or refuses further use: never a crash, never half-updated.

Run by scripts/test against a wheel built with
MATURIN_PEP517_ARGS="--features fault-injection".
"""

from __future__ import annotations

import threading

import pytest

import ringlog
from ringlog import _ringlog

WRITE, READ, SNAPSHOT, FLUSH = 1, 2, 3, 4


def panic_at(point: int) -> None:
    assert _ringlog._test_panic_at(point)  # type: ignore[attr-defined]


def test_the_hook_refuses_unknown_points() -> None:
    assert not _ringlog._test_panic_at(99)  # type: ignore[attr-defined]


def test_a_panic_in_a_read_is_an_exception_and_the_record_comes_again() -> None:
    ring = ringlog.Ring(4096)
    rd = ring.reader()
    ring.write(b"zero")
    panic_at(READ)
    with pytest.raises(ringlog.InternalError):
        rd.next(timeout=0)
    rec = rd.next(timeout=0)
    assert rec is not None and (rec.seq, rec.data) == (0, b"zero")


def test_panics_in_snapshot_and_flush_change_nothing() -> None:
    ring = ringlog.Ring(4096)
    ring.write(b"kept")
    panic_at(SNAPSHOT)
    with pytest.raises(ringlog.InternalError):
        ring.snapshot()
    assert ring.snapshot() == b"kept"
    panic_at(FLUSH)
    with pytest.raises(ringlog.InternalError):
        ring.flush(timeout=0)
    assert ring.flush(timeout=0)


def test_a_panic_in_a_write_poisons_the_ring_and_every_waiter_returns() -> None:
    ring = ringlog.Ring(4096)
    rd = ring.reader()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while True:
                ring.write(b"x" * 8)
        except ringlog.RingError as e:  # InternalError for all of them
            errors.append(e)

    ts = [threading.Thread(target=writer) for _ in range(3)]
    for t in ts:
        t.start()
    panic_at(WRITE)
    for t in ts:
        t.join(timeout=10)
        assert not t.is_alive(), "a writer hung behind the interrupted write"
    assert len(errors) == 3 and all(isinstance(e, ringlog.InternalError) for e in errors)
    with pytest.raises(ringlog.InternalError):
        ring.write(b"late")
    count = 0
    with pytest.raises(ringlog.InternalError):  # the end of a poisoned ring
        while True:
            rec = rd.next()
            assert rec is not None and rec.data == b"x" * 8
            count += 1 + rec.lost
    assert count == ring.written
    fresh = ringlog.Ring(4096)
    assert fresh.write(b"other rings are fine") == 0


def test_the_logging_handler_survives_a_panic() -> None:
    import io
    import logging
    import sys

    ring = ringlog.Ring(4096)
    log = logging.getLogger("test.panic")
    log.propagate = False
    log.addHandler(ringlog.RingHandler(ring))
    stderr, sys.stderr = sys.stderr, io.StringIO()
    try:
        panic_at(WRITE)
        log.error("this write panics")  # reported through handleError, not raised
        report = sys.stderr.getvalue()
    finally:
        sys.stderr = stderr
        log.handlers.clear()
    assert "InternalError" in report
