"""Ctrl-C interrupts every blocking call: the waits release the GIL in
slices and check for signals between them."""

from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import pytest

import ringlog


def interrupted_within(seconds: float, blocking: Callable[[], object]) -> float:
    """Runs `blocking` on the main thread, interrupts it after 0.2 s with
    _thread.interrupt_main(), and returns how long the interrupt took."""
    timer = threading.Timer(0.2, _thread.interrupt_main)
    t0 = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        blocking()
    took = time.monotonic() - t0 - 0.2
    timer.join()
    assert took < seconds, f"interrupt took {took:.3f} s"
    return took


def test_ctrl_c_interrupts_next() -> None:
    ring = ringlog.Ring(4096)
    rd = ring.reader()
    interrupted_within(1.0, rd.next)
    ring.write(b"still usable")
    rec = rd.next(timeout=1)
    assert rec is not None and rec.data == b"still usable"


def test_ctrl_c_interrupts_iteration() -> None:
    ring = ringlog.Ring(4096)
    interrupted_within(1.0, lambda: [r for r in ring.reader()])


def test_ctrl_c_interrupts_flush() -> None:
    ring = ringlog.Ring(4096)
    _idle = ring.reader()
    ring.write(b"x")
    interrupted_within(1.0, ring.flush)


def test_ctrl_c_interrupts_a_thread_waiting_for_a_busy_reader() -> None:
    ring = ringlog.Ring(4096)
    rd = ring.reader()

    def hold() -> None:  # holds the reader until the ring closes
        try:
            rd.next(timeout=3)
        except ringlog.Closed:
            pass

    other = threading.Thread(target=hold)
    other.start()
    time.sleep(0.05)
    interrupted_within(1.0, rd.next)
    ring.close()
    other.join(timeout=5)


def test_a_real_sigint_stops_a_reading_process() -> None:
    code = textwrap.dedent(
        """
        import ringlog, sys
        ring = ringlog.Ring(4096)
        print("ready", flush=True)
        try:
            for rec in ring.reader():
                pass
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(3)
        """
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as p:
        try:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
            time.sleep(0.2)
            t0 = time.monotonic()
            os.kill(p.pid, signal.SIGINT)
            rc = p.wait(timeout=5)
            took = time.monotonic() - t0
            out = p.stdout.read().strip()
        finally:
            p.kill()
    assert rc == 3 and out == "interrupted"
    assert took < 2
