"""RingHandler: one log record, one ring record; robust to bad input; never
lets a failure escape into the application."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator

import pytest

import ringlog


@pytest.fixture
def ring() -> ringlog.Ring:
    return ringlog.Ring(1 << 20)


@pytest.fixture
def logger(ring: ringlog.Ring) -> Iterator[logging.Logger]:
    log = logging.getLogger(f"test.handler.{id(ring)}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    handler = ringlog.RingHandler(ring)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    yield log
    log.removeHandler(handler)


def records(ring: ringlog.Ring) -> list[str]:
    rd = ring.reader()
    return [r.data.decode("utf-8") for r in iter(lambda: rd.next(timeout=0), None)]


def test_one_log_call_is_one_ring_record(ring: ringlog.Ring, logger: logging.Logger) -> None:
    logger.info("hello %s", "world")
    logger.warning("multi\nline")
    assert records(ring) == [
        f"INFO {logger.name}: hello world\n",
        f"WARNING {logger.name}: multi\nline\n",
    ]


def test_level_and_filters_apply(ring: ringlog.Ring) -> None:
    log = logging.getLogger("test.handler.level")
    log.propagate = False
    handler = ringlog.RingHandler(ring, level=logging.WARNING)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(lambda r: "secret" not in r.getMessage())
    log.addHandler(handler)
    try:
        log.info("too low")
        log.warning("kept")
        log.error("a secret")
    finally:
        log.removeHandler(handler)
    assert records(ring) == ["kept\n"]


def test_many_threads_every_line_whole(ring: ringlog.Ring, logger: logging.Logger) -> None:
    def work(t: int) -> None:
        for i in range(500):
            logger.info("thread %d line %d %s", t, i, "x" * (i % 50))

    ts = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=30)
    lines = records(ring)
    assert len(lines) == 8 * 500
    last: dict[int, int] = {}
    for line in lines:
        head, _, rest = line.partition(": ")
        assert head == f"INFO {logger.name}"
        _, t, _, i, pad = rest.rstrip("\n").split(" ") if rest.count(" ") == 4 else (*rest.rstrip("\n").split(" "), "")
        t_, i_ = int(t), int(i)
        assert pad == "x" * (i_ % 50)
        assert last.get(t_, -1) < i_, "per-thread order"
        last[t_] = i_


def test_the_handler_lock_is_not_taken_around_the_write(ring: ringlog.Ring, logger: logging.Logger) -> None:
    handler = logger.handlers[0]
    assert handler.lock is not None
    handler.acquire()  # another thread holding the handler's lock...
    try:
        done = threading.Event()
        threading.Thread(target=lambda: (logger.info("not blocked"), done.set())).start()
        assert done.wait(timeout=5), "logging waited for the handler lock"
    finally:
        handler.release()
    assert records(ring)[-1].endswith("not blocked\n")


def test_mismatched_percent_arguments_are_logged_not_dropped(ring: ringlog.Ring, logger: logging.Logger) -> None:
    logger.info("two values %s %s", "only one")
    logger.info("a number %d", "not a number")
    out = records(ring)
    assert len(out) == 2
    assert "two values %s %s" in out[0] and "'only one'" in out[0] and "TypeError" in out[0]
    assert "a number %d" in out[1] and "'not a number'" in out[1]


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    def __str__(self) -> str:
        raise RuntimeError("str exploded")


def test_a_value_whose_repr_raises_is_logged(ring: ringlog.Ring, logger: logging.Logger) -> None:
    logger.info("value: %r", BadRepr())
    logger.info("value: %s", BadRepr())
    logger.info(BadRepr())
    out = records(ring)
    assert len(out) == 3
    for line in out:
        assert "unrepresentable BadRepr" in line and "exploded" in line


def test_a_string_that_is_not_unicode_is_logged_escaped(ring: ringlog.Ring, logger: logging.Logger) -> None:
    bad = b"caf\xe9 \xff".decode("utf-8", "surrogateescape")
    logger.info("name=%s", bad)
    (line,) = records(ring)
    assert line == f"INFO {logger.name}: name=caf\\udce9 \\udcff\n"


def test_a_message_longer_than_max_record_is_truncated_not_dropped() -> None:
    ring = ringlog.Ring(4096)  # max_record 1024
    log = logging.getLogger("test.handler.long")
    log.propagate = False
    handler = ringlog.RingHandler(ring)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    try:
        log.warning("start " + "y" * 5000 + " end")
    finally:
        log.handlers.clear()
    (line,) = records(ring)
    assert len(line.encode()) <= ring.max_record
    assert line.startswith("start yyy") and "[logging: truncated" in line and line.endswith("bytes]\n")


def test_a_closed_ring_goes_to_handle_error_and_never_raises(
    ring: ringlog.Ring, logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring.close()
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    logger.error("after close")  # must not raise
    assert "Logging error" in stderr.getvalue() and "Closed" in stderr.getvalue()


def test_a_broken_formatter_still_logs_something(ring: ringlog.Ring, logger: logging.Logger) -> None:
    class Broken(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            raise ValueError("formatter bug")

    logger.handlers[0].setFormatter(Broken())
    logger.info("the message %d", 7)
    (line,) = records(ring)
    assert "the message 7" in line and "formatter failed" in line
