"""Argument errors name the function and the argument."""

from __future__ import annotations

import re
from typing import Any

import pytest

import ringlog


@pytest.mark.parametrize(
    "args, kwargs, exc, message",
    [
        ((0,), {}, TypeError, 'reader(): start must be "oldest" or "newest", not int (0)'),
        (("middle",), {}, ringlog.InvalidArgument, "reader(): start must be \"oldest\" or \"newest\" (or give seq=n alone), not \"middle\""),
        ((), {"seq": -1}, OverflowError, "reader(): seq must be >= 0, got -1"),
        ((), {"seq": 1 << 64}, OverflowError, f"reader(): seq must be < 2**64, got {1 << 64}"),
        ((), {"seq": "3"}, TypeError, "reader(): seq must be an int (a record's seq) or None, not str"),
        ((), {"seq": 1.0}, TypeError, "reader(): seq must be an int (a record's seq) or None, not float"),
        ((), {"seq": True}, TypeError, "reader(): seq must be an int (a record's seq) or None, not bool"),
        (("newest",), {"seq": 3}, ringlog.InvalidArgument, 'reader(): seq cannot be combined with start="newest"'),
    ],
)
def test_reader_argument_errors(args: tuple[Any, ...], kwargs: dict[str, Any], exc: type[Exception], message: str) -> None:
    ring = ringlog.Ring(4096)
    with pytest.raises(exc, match=f"^{re.escape(message)}$"):
        ring.reader(*args, **kwargs)


def test_good_reader_arguments() -> None:
    ring = ringlog.Ring(4096)
    for i in range(3):
        ring.write(b"%d" % i)
    rd = ring.reader()
    assert [r.seq for r in iter(lambda: rd.next(timeout=0), None)] == [0, 1, 2]
    assert ring.reader("oldest", seq=2).next(timeout=0) == ring.reader(seq=2).next(timeout=0)
    assert ring.reader(start="newest").next(timeout=0) is None
    assert ring.reader(seq=None).next(timeout=0) is not None


@pytest.mark.parametrize(
    "timeout, exc, message",
    [
        ("1", TypeError, "timeout must be a number of seconds or None, not str"),
        (b"1", TypeError, "timeout must be a number of seconds or None, not bytes"),
        ([], TypeError, "timeout must be a number of seconds or None, not list"),
        (-1, ringlog.InvalidArgument, "timeout must be >= 0 or None, got -1"),
        (float("nan"), ringlog.InvalidArgument, "timeout must be >= 0 or None, got NaN"),
    ],
)
def test_timeout_argument_errors(timeout: Any, exc: type[Exception], message: str) -> None:
    ring = ringlog.Ring(4096)
    rd = ring.reader()
    with pytest.raises(exc, match=f"^{re.escape('next(): ' + message)}$"):
        rd.next(timeout=timeout)
    with pytest.raises(exc, match=f"^{re.escape('flush(): ' + message)}$"):
        ring.flush(timeout=timeout)


def test_good_timeouts() -> None:
    ring = ringlog.Ring(4096)
    rd = ring.reader()
    assert rd.next(timeout=0) is None and rd.next(0.01) is None and rd.next(timeout=1 - 1) is None
    ring.write(b"x")
    assert rd.next(timeout=None) is not None
    assert ring.flush(timeout=0) and ring.flush(1) and ring.flush(None)
