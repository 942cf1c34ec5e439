"""Threads writing and reading, every record checked."""

from __future__ import annotations

import threading
import time

import pytest
from checks import StreamCheck, checking_reader, make_record

import ringlog


def run(capacity: int, writers: int, per_writer: int, readers: int, slow: int) -> list[StreamCheck]:
    ring = ringlog.Ring(capacity)
    checks = [StreamCheck() for _ in range(readers)]
    errors: list[BaseException] = []

    def write(w: int) -> None:
        for c in range(per_writer):
            ring.write(make_record(w, c, 20 + (c * 7919 + w) % 200))

    rts = [
        threading.Thread(target=checking_reader, args=(ring.reader(seq=0), checks[i], i < slow, errors)) for i in range(readers)
    ]
    wts = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in rts + wts:
        t.start()
    for t in wts:
        t.join(timeout=60)
        assert not t.is_alive()
    ring.close()
    for t in rts:
        t.join(timeout=60)
        assert not t.is_alive(), "a reader did not reach the end of the closed ring"
    assert not errors, errors
    for c in checks:
        c.finish(ring.written)
    return checks


def test_writers_and_readers_agree_on_every_record() -> None:
    checks = run(1 << 20, writers=4, per_writer=5000, readers=3, slow=0)
    assert all(c.read > 0 for c in checks)


def test_a_small_ring_laps_a_slow_reader_with_exact_accounting() -> None:
    checks = run(4096, writers=2, per_writer=5000, readers=2, slow=1)
    assert checks[0].lost > 0, "the slow reader should have been lapped"


def test_close_wakes_a_reader_blocked_in_another_thread() -> None:
    ring = ringlog.Ring(4096)
    rd = ring.reader()
    got: list[object] = []
    t = threading.Thread(target=lambda: got.extend(r.data for r in rd))
    t.start()
    ring.write(b"one")
    time.sleep(0.1)
    ring.close()
    t.join(timeout=5)
    assert not t.is_alive() and got == [b"one"]


def test_one_reader_shared_by_two_threads_hands_out_each_record_once() -> None:
    ring = ringlog.Ring(1 << 20)
    rd = ring.reader()
    seen: list[list[int]] = [[], []]

    def take(i: int) -> None:
        while True:
            try:
                rec = rd.next(timeout=5)
            except ringlog.Closed:
                return
            assert rec is not None
            seen[i].append(rec.seq)

    ts = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for i in range(20000):
        ring.write(b"%d" % i)
    ring.close()
    for t in ts:
        t.join(timeout=30)
        assert not t.is_alive()
    for s in seen:
        assert s == sorted(s), "each thread sees seqs in order"
    assert sorted(seen[0] + seen[1]) == list(range(20000)), "every record exactly once"


def test_flush_true_once_a_reading_thread_catches_up_false_while_idle() -> None:
    ring = ringlog.Ring(1 << 16)
    rd = ring.reader()
    ring.write(b"x")
    t0 = time.monotonic()
    assert ring.flush(timeout=0.2) is False
    assert time.monotonic() - t0 >= 0.19
    t = threading.Thread(target=lambda: [r for r in rd])
    t.start()
    assert ring.flush(timeout=10) is True
    ring.close()
    t.join(timeout=5)


@pytest.mark.parametrize("n", [1, 8])
def test_many_writers_never_block_on_an_idle_reader(n: int) -> None:
    ring = ringlog.Ring(1 << 12)
    idle = ring.reader()  # never reads
    done = threading.Barrier(n + 1, timeout=30)

    def write() -> None:
        for i in range(2000):
            ring.write(b"record %d" % i)
        done.wait()

    for _ in range(n):
        threading.Thread(target=write).start()
    done.wait()
    rec = idle.next(timeout=0)
    assert rec is not None and rec.lost > 0
