"""A panic inside ringlog (made on purpose through the test-only hook of a
build with the fault-injection feature) is a Python exception, and the ring
is still correct: never a crash, never half-updated. The same hook makes a
write answer Busy, to test that answer where it cannot be provoked on demand.

Run by scripts/test against a wheel built with
MATURIN_PEP517_ARGS="--features fault-injection".
"""

from __future__ import annotations

import threading

import pytest

import ringlog
from ringlog import _ringlog

WRITE, READ, SNAPSHOT, FLUSH, BUSY = 1, 2, 3, 4, 5


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


def test_a_panic_in_a_write_kills_that_record_only_and_nobody_waits() -> None:
    ring = ringlog.Ring(1 << 20)
    rd = ring.reader()
    errors: list[BaseException] = []
    written = [0, 0, 0]

    def writer(i: int) -> None:
        for _ in range(3000):
            try:
                ring.write(b"x" * 8)
                written[i] += 1
            except ringlog.RingError as e:  # the one that panicked
                errors.append(e)

    ts = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    panic_at(WRITE)  # the first write of any writer panics
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=10)
        assert not t.is_alive(), "a writer hung behind the interrupted write"
    assert len(errors) == 1 and isinstance(errors[0], ringlog.InternalError)
    assert ring.written == sum(written) + 1, "the dead record took a seq"
    assert ring.write(b"late") == ring.written - 1, "the ring goes on"
    ring.close()
    read = lost = 0
    for rec in rd:
        assert rec.data in (b"x" * 8, b"late")
        read += 1
        lost += rec.lost
    assert (read, lost) == (sum(written) + 1, 1), "every committed record; the dead one lost once"
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


def test_busy_is_a_ring_error_counted_by_the_ring_and_the_handler() -> None:
    import logging

    ring = ringlog.Ring(4096)
    panic_at(BUSY)
    with pytest.raises(ringlog.Busy) as info:
        ring.write(b"refused")
    assert isinstance(info.value, ringlog.RingError)
    assert ring.stats()["dropped"] == 1 and ring.written == 0, "nothing written, the drop counted"
    log = logging.getLogger("test.busy")
    log.propagate = False
    handler = ringlog.RingHandler(ring)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    try:
        panic_at(BUSY)
        log.error("dropped, not raised")
        log.error("written")
    finally:
        log.handlers.clear()
    assert handler.dropped == 1
    assert ring.stats()["dropped"] == 2
    assert ring.snapshot() == b"written\n"
