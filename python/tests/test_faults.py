"""fork() and signals: an inherited ring refuses to work in the child
(never a deadlock), and signals do not break a waiting reader."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time

import pytest

import ringlog


def test_a_forked_child_gets_forked_errors_and_the_parent_goes_on() -> None:
    ring = ringlog.Ring(1 << 16)
    rd = ring.reader()
    stop = threading.Event()
    writes = 0

    def hammer() -> None:  # the parent is busy in the ring when it forks
        nonlocal writes
        while not stop.is_set():
            ring.write(b"parent")
            writes += 1

    t = threading.Thread(target=hammer)
    t.start()
    time.sleep(0.05)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: exactly the point
        pid = os.fork()
    if pid == 0:  # the child: report through the exit status, never raise
        code = 0
        try:
            signal.alarm(10)  # a deadlock kills the child instead of hanging
            checks = [
                lambda: ring.write(b"child"),
                lambda: rd.next(timeout=None),
                lambda: ring.flush(),
                lambda: ring.snapshot(),
                lambda: ring.reader(),
                lambda: ring.close(),
            ]
            for i, check in enumerate(checks):
                try:
                    check()
                    code = 10 + i  # did not refuse
                    break
                except ringlog.Forked:
                    pass
            if code == 0:
                fresh = ringlog.Ring(4096)
                frd = fresh.reader()
                fresh.write(b"fresh")
                rec = frd.next(timeout=0)
                code = 0 if rec is not None and rec.data == b"fresh" else 3
            del rd  # dropping inherited objects must not hang either
        except BaseException:  # noqa: BLE001
            code = 2
        os._exit(code)
    try:
        deadline = time.monotonic() + 20
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            assert time.monotonic() < deadline, "the child hung"
            time.sleep(0.01)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        stop.set()
        t.join(timeout=10)
    before = writes
    ring.write(b"the parent goes on")
    assert writes == before and rd.next(timeout=1) is not None


def test_signals_neither_cut_a_wait_short_nor_break_a_reader() -> None:
    hits = 0

    def handler(signum: int, frame: object) -> None:
        nonlocal hits
        hits += 1

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        ring = ringlog.Ring(4096)
        rd = ring.reader()

        def storm() -> None:
            for _ in range(500):
                os.kill(os.getpid(), signal.SIGUSR1)
                time.sleep(0.0005)

        t = threading.Thread(target=storm)
        t0 = time.monotonic()
        t.start()
        assert rd.next(timeout=0.5) is None  # the handler runs; the wait goes on
        took = time.monotonic() - t0
        t.join(timeout=10)
        assert took >= 0.49, took
        assert hits > 0
        threading.Timer(0.1, lambda: ring.write(b"after the storm")).start()
        rec = rd.next(timeout=5)
        assert rec is not None and rec.data == b"after the storm"
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_a_signal_handler_that_raises_interrupts_the_wait() -> None:
    def handler(signum: int, frame: object) -> None:
        raise TimeoutError("from the handler")

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        ring = ringlog.Ring(4096)
        rd = ring.reader()
        threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGUSR1)).start()
        with pytest.raises(TimeoutError):
            rd.next()
    finally:
        signal.signal(signal.SIGUSR1, old)


@pytest.mark.parametrize(
    "call",
    ["next()", "next(timeout=1)", "for rec in rd", "lost_total", "async for", "a new reader"],
)
def test_fork_while_a_thread_waits_in_next_each_call_raises_forked_in_the_child(call: str) -> None:
    """A thread blocked in rd.next() when the process forks: the child's
    copy of the reader's lock is held by a thread that does not exist
    there. Every call must raise Forked at once (it hung, or returned None)."""
    ring = ringlog.Ring(1 << 16)
    rd = ring.reader()
    started = threading.Event()

    def blocked() -> None:
        started.set()
        with contextlib.suppress(ringlog.Closed):
            rd.next()  # holds the reader's lock while it waits (in slices)

    t = threading.Thread(target=blocked)
    t.start()
    started.wait(5)
    time.sleep(0.2)  # well inside a wait slice: the lock is held now or soon

    def attempt() -> None:
        if call == "next()":
            rd.next()
        elif call == "next(timeout=1)":
            rd.next(timeout=1)
        elif call == "for rec in rd":
            for _ in rd:
                pass
        elif call == "lost_total":
            _ = rd.lost_total
        elif call == "async for":

            async def drain() -> None:
                async for _ in rd:
                    pass

            asyncio.run(drain())
        else:
            ring.reader()

    import warnings

    codes = []
    for _ in range(5):  # several forks: the lock is caught held in most
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.alarm(10)  # a hang kills the child (SIGALRM) instead
                try:
                    attempt()
                    code = 10  # returned instead of raising
                except ringlog.Forked:
                    code = 0
            except BaseException:  # noqa: BLE001
                code = 2
            os._exit(code)
        deadline = time.monotonic() + 20
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError(f"{call}: the child hung")
            time.sleep(0.01)
        codes.append(os.waitstatus_to_exitcode(status))
        time.sleep(0.03)
    ring.close()
    t.join(timeout=10)
    assert codes == [0] * 5, f"{call}: child exit codes {codes} (10: no Forked raised, -14: hung until SIGALRM)"
