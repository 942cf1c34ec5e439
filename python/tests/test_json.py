"""JsonFormatter through RingHandler: parse the output back, record by
record, and check every field (in the manner of Go's slogtest)."""

from __future__ import annotations

import datetime
import json
import logging
import math
from collections.abc import Iterator
from typing import Any

import pytest

import ringlog


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __repr__(self) -> str:
        return f"Point({self.x}, {self.y})"


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


@pytest.fixture
def setup() -> Iterator[tuple[ringlog.Ring, logging.Logger]]:
    ring = ringlog.Ring(1 << 20)
    log = logging.getLogger("test.json")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    handler = ringlog.RingHandler(ring)
    handler.setFormatter(ringlog.JsonFormatter())
    log.addHandler(handler)
    yield ring, log
    log.removeHandler(handler)


def parsed(ring: ringlog.Ring) -> list[dict[str, Any]]:
    rd = ring.reader()
    out = []
    for rec in iter(lambda: rd.next(timeout=0), None):
        text = rec.data.decode("utf-8")
        assert text.endswith("\n") and text.count("\n") == 1, "one JSON object per line"
        out.append(json.loads(text))
    return out


def test_every_field_round_trips(setup: tuple[ringlog.Ring, logging.Logger]) -> None:
    ring, log = setup
    circular: list[object] = []
    circular.append(circular)
    before = datetime.datetime.now(datetime.timezone.utc)
    log.debug("plain")
    log.info("user %s did %d things", "ann", 3, extra={"user": "ann", "n": 3, "ratio": 0.5, "ok": True, "none": None})
    log.warning(
        "odd values",
        extra={
            "point": Point(1, 2),
            "nan": math.nan,
            "inf": math.inf,
            "nested": {"a": [1, 2, {"b": "c"}]},
            "tuple_keys": {(1, 2): "x"},
            "circular": circular,
            "bytes": b"\x00\xff",
            "bad": BadRepr(),
            "level": "an extra named like a core key",
        },
    )
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("it failed")
    log.error("with stack", stack_info=True)
    log.critical("bad args %s %s", "one")
    after = datetime.datetime.now(datetime.timezone.utc)

    entries = parsed(ring)
    assert [e["level"] for e in entries] == ["DEBUG", "INFO", "WARNING", "ERROR", "ERROR", "CRITICAL"]
    for e in entries:
        assert e["logger"] == "test.json"
        t = datetime.datetime.fromisoformat(e["time"])
        assert t.tzinfo is not None and before - datetime.timedelta(seconds=1) <= t <= after
        assert isinstance(e["message"], str)

    plain, info, odd, exc, stack, bad = entries
    assert plain == {"time": plain["time"], "level": "DEBUG", "logger": "test.json", "message": "plain"}
    assert info["message"] == "user ann did 3 things"
    assert (info["user"], info["n"], info["ratio"], info["ok"], info["none"]) == ("ann", 3, 0.5, True, None)

    assert odd["point"] == "Point(1, 2)"
    assert odd["nan"] == "nan" and odd["inf"] == "inf"
    assert odd["nested"] == {"a": [1, 2, {"b": "c"}]}
    assert odd["tuple_keys"] == "{(1, 2): 'x'}"
    assert odd["circular"] == "[[...]]"
    assert odd["bytes"] == "b'\\x00\\xff'"
    assert odd["bad"].startswith("<unrepresentable BadRepr: RuntimeError: no repr for you")
    assert odd["level"] == "WARNING" and odd["extra.level"] == "an extra named like a core key"

    assert exc["message"] == "it failed"
    assert exc["exc"].startswith("Traceback (most recent call last):") and "KeyError: 'missing'" in exc["exc"]
    assert "stack" in stack and "test_every_field_round_trips" in stack["stack"]
    assert "bad args %s %s" in bad["message"] and "'one'" in bad["message"]


def test_non_unicode_text_still_gives_valid_json(setup: tuple[ringlog.Ring, logging.Logger]) -> None:
    ring, log = setup
    bad = b"\xff".decode("utf-8", "surrogateescape")
    log.info("x=%s", bad, extra={"field": bad})
    (entry,) = parsed(ring)
    assert entry["message"] == "x=\udcff" and entry["field"] == "\udcff"
