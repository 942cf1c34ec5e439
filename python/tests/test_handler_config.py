"""RingHandler from plain values (dictConfig, fileConfig), its default
format, and what MemoryHandler users expect: target and flush_level."""

from __future__ import annotations

import datetime
import logging
import logging.config
import logging.handlers
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ringlog


class ListHandler(logging.Handler):
    """Keeps what it handles: (message, record) pairs."""

    def __init__(self, level: int | str = logging.NOTSET) -> None:
        super().__init__(level)
        self.got: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.got.append(record)

    def lines(self) -> list[str]:
        return [self.format(r) for r in self.got]


def lines_of(ring: ringlog.Ring) -> list[str]:
    rd = ring.reader()
    return [r.data.decode() for r in iter(lambda: rd.next(timeout=0), None)]


@pytest.fixture
def fresh_logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    log = logging.getLogger(f"test.config.{request.node.name}")
    yield log
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()


def dict_config(name: str, handlers: dict[str, Any], **extra: Any) -> None:
    """`handlers` for the logger `name`, and an unattached ListHandler
    "z_target"."""
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {**handlers, "z_target": {"()": ListHandler}},
        "loggers": {name: {"handlers": sorted(handlers), "level": "DEBUG", "propagate": False}},
        **extra,
    }
    logging.config.dictConfig(config)


# ---- construction ---------------------------------------------------------------------


def test_something_that_is_not_a_ring_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"ring must be a ringlog.Ring, not int \(for a new ring of that size: capacity=1048576\)"):
        ringlog.RingHandler(1048576)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ring must be a ringlog.Ring, not str"):
        ringlog.RingHandler("app.ring")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="target must be a logging.Handler"):
        ringlog.RingHandler(target=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown level flush_level='LOUD'"):
        ringlog.RingHandler(flush_level="LOUD")
    with pytest.raises(ValueError, match="capacity must be a number of bytes"):
        ringlog.RingHandler(capacity="1 MiB")
    assert ringlog.RingHandler(capacity="8192").ring.capacity == 8192


def test_dict_config_capacity_path_and_ring(fresh_logger: logging.Logger, tmp_path: Path) -> None:
    shared = ringlog.Ring(4096)
    dict_config(
        fresh_logger.name,
        {
            "mem": {"class": "ringlog.RingHandler", "capacity": 65536, "level": "INFO"},
            "file": {"class": "ringlog.RingHandler", "path": str(tmp_path / "app.ring")},
            "given": {"class": "ringlog.RingHandler", "ring": "cfg://rings.shared"},
        },
        rings={"shared": shared},
    )
    by_name = {h.name: h for h in fresh_logger.handlers}
    assert all(isinstance(h, ringlog.RingHandler) for h in by_name.values())
    mem, file, given = (by_name[n] for n in ("mem", "file", "given"))
    assert isinstance(mem, ringlog.RingHandler) and isinstance(file, ringlog.RingHandler)
    assert isinstance(given, ringlog.RingHandler)
    assert mem.ring.capacity == 65536 and not mem.ring.is_file and mem.level == logging.INFO
    assert file.ring.is_file and file.ring.capacity == ringlog.handler.DEFAULT_CAPACITY
    assert given.ring is shared
    fresh_logger.debug("debug line")
    fresh_logger.info("info line")
    assert [line.split(" ", 1)[1] for line in lines_of(mem.ring)] == [f"INFO {fresh_logger.name}: info line\n"]
    assert len(lines_of(ringlog.Ring.open(tmp_path / "app.ring"))) == 2
    assert len(lines_of(shared)) == 2


def test_dict_config_refuses_a_number_for_ring(fresh_logger: logging.Logger) -> None:
    with pytest.raises(ValueError, match="Unable to configure handler 'bad'") as info:
        dict_config(fresh_logger.name, {"bad": {"class": "ringlog.RingHandler", "ring": 1048576}})
    assert isinstance(info.value.__cause__, TypeError)


INI = """
[loggers]
keys = root,app,sink

[handlers]
keys = positional,keywords,file,target,option,unattached

[formatters]
keys = plain

[logger_root]
handlers =

[logger_app]
qualname = {name}
level = DEBUG
propagate = 0
handlers = positional,keywords,file,option

# logging keeps handlers by name only weakly: the target must belong to a
# logger (or be referred to otherwise) to be there when it is looked up.
[logger_sink]
qualname = {name}.sink
propagate = 0
handlers = target

[handler_positional]
class = ringlog.RingHandler
args = (None, 65536, None, "INFO")

[handler_keywords]
class = ringlog.RingHandler
kwargs = {{"capacity": 8192, "target": "target", "flush_level": "ERROR"}}

[handler_file]
class = ringlog.RingHandler
args = ()
kwargs = {{"path": {path!r}, "capacity": 16384}}
formatter = plain

# As for a MemoryHandler: `target` in the section, resolved by fileConfig
# (the target need not belong to a logger then).
[handler_option]
class = ringlog.RingHandler
args = (None, 8192)
kwargs = {{"flush_level": "CRITICAL"}}
target = unattached
formatter = plain

[handler_unattached]
class = logging.handlers.BufferingHandler
args = (1000,)
formatter = plain

[handler_target]
class = logging.handlers.BufferingHandler
args = (1000,)
formatter = plain

[formatter_plain]
format = %(message)s
"""


def test_file_config_positional_and_keyword_arguments(fresh_logger: logging.Logger, tmp_path: Path) -> None:
    ini = tmp_path / "logging.ini"
    ring_path = tmp_path / "file.ring"
    ini.write_text(INI.format(name=fresh_logger.name, path=str(ring_path)))
    logging.config.fileConfig(ini, disable_existing_loggers=False)
    by_name = {h.name: h for h in fresh_logger.handlers}
    positional, keywords, file = by_name["positional"], by_name["keywords"], by_name["file"]
    assert isinstance(positional, ringlog.RingHandler) and isinstance(keywords, ringlog.RingHandler)
    assert isinstance(file, ringlog.RingHandler)
    assert positional.ring.capacity == 65536 and positional.level == logging.INFO
    assert keywords.ring.capacity == 8192 and keywords.flush_level == logging.ERROR
    assert file.ring.is_file and file.ring.capacity == 16384

    fresh_logger.debug("context")
    fresh_logger.error("boom")
    assert [line.split(" ", 1)[1] for line in lines_of(positional.ring)] == [f"ERROR {fresh_logger.name}: boom\n"]
    assert lines_of(ringlog.Ring.open(ring_path)) == ["context\n", "boom\n"]  # formatter = plain
    # The target, named in the ini file, got the keywords handler's ring.
    target = keywords.target
    assert isinstance(target, logging.handlers.BufferingHandler)
    assert [r.getMessage().split(" ", 1)[1] for r in target.buffer] == [
        f"DEBUG {fresh_logger.name}: context",
        f"ERROR {fresh_logger.name}: boom",
    ]
    option = by_name["option"]
    assert isinstance(option, ringlog.RingHandler) and option.flush_level == logging.CRITICAL
    unattached = option.target
    assert isinstance(unattached, logging.handlers.BufferingHandler) and unattached.buffer == []
    fresh_logger.critical("fatal")
    assert [r.getMessage() for r in unattached.buffer] == ["context", "boom", "fatal"]
    logging.getLogger(f"{fresh_logger.name}.sink").handlers.clear()


# ---- the default format ------------------------------------------------------------------


STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"


def test_the_default_format_has_time_level_and_logger(fresh_logger: logging.Logger) -> None:
    handler = ringlog.RingHandler(capacity=8192)
    fresh_logger.addHandler(handler)
    fresh_logger.propagate = False
    fresh_logger.setLevel(logging.DEBUG)
    before = datetime.datetime.now(datetime.timezone.utc)
    fresh_logger.warning("disk %d%% full", 91)
    (line,) = lines_of(handler.ring)
    m = re.fullmatch(f"({STAMP}) WARNING {re.escape(fresh_logger.name)}: disk 91% full\n", line)
    assert m, line
    stamp = datetime.datetime.fromisoformat(m.group(1))
    assert abs((stamp - before).total_seconds()) < 5
    assert ringlog.DEFAULT_FORMAT == "%(asctime)s %(levelname)s %(name)s: %(message)s"
    assert isinstance(handler.formatter, ringlog.TextFormatter)


def test_text_formatter_with_a_format_and_a_datefmt() -> None:
    rec = logging.LogRecord("app", logging.INFO, __file__, 1, "hi", None, None)
    assert ringlog.TextFormatter("%(levelname)s|%(message)s").format(rec) == "INFO|hi"
    assert re.fullmatch(r"\d\d:\d\d hi", ringlog.TextFormatter("%(asctime)s %(message)s", "%H:%M").format(rec))
    assert re.fullmatch(f"{STAMP} INFO app: hi", ringlog.TextFormatter().format(rec))


def test_dict_config_formatter_replaces_the_default(fresh_logger: logging.Logger) -> None:
    dict_config(
        fresh_logger.name,
        {"ring": {"class": "ringlog.RingHandler", "capacity": 8192, "formatter": "short"}},
        formatters={"short": {"format": "%(levelname)s %(message)s"}},
    )
    fresh_logger.info("hello")
    handler = fresh_logger.handlers[0]
    assert isinstance(handler, ringlog.RingHandler)
    assert lines_of(handler.ring) == ["INFO hello\n"]


# ---- target and flush_level ------------------------------------------------------------------


@pytest.fixture
def replaying(fresh_logger: logging.Logger) -> tuple[logging.Logger, ringlog.RingHandler, ListHandler]:
    target = ListHandler()
    handler = ringlog.RingHandler(capacity=1 << 16, target=target)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    fresh_logger.addHandler(handler)
    fresh_logger.propagate = False
    fresh_logger.setLevel(logging.DEBUG)
    return fresh_logger, handler, target


def test_an_error_sends_the_ring_to_the_target_once(
    replaying: tuple[logging.Logger, ringlog.RingHandler, ListHandler],
) -> None:
    log, handler, target = replaying
    log.debug("one")
    log.info("two")
    assert target.got == [], "nothing below flush_level is sent"
    log.error("three")
    assert target.lines() == ["DEBUG one", "INFO two", "ERROR three"]
    assert [getattr(r, "ringlog_seq") for r in target.got] == [0, 1, 2]
    assert {r.name for r in target.got} == {"ringlog.replay"}
    assert {r.levelno for r in target.got} == {logging.ERROR}
    log.info("four")
    log.critical("five")
    assert target.lines()[3:] == ["INFO four", "CRITICAL five"], "only what was not sent yet"
    handler.replay()
    log.warning("six")
    handler.replay()
    assert target.lines()[5:] == ["WARNING six"]
    handler.flush()
    handler.close()
    assert len(target.got) == 6, "flush and close send nothing"


def test_flush_level_and_a_target_by_name_in_dict_config(fresh_logger: logging.Logger) -> None:
    """As for a MemoryHandler: dictConfig resolves the target by name (also
    one configured after this handler, and one no logger uses)."""
    dict_config(
        fresh_logger.name,
        {
            "a_ring": {
                "class": "ringlog.RingHandler",
                "capacity": 8192,
                "target": "z_target",  # sorts after: dictConfig defers this handler
                "flush_level": "WARNING",
                "formatter": "msg",
            },
        },
        formatters={"msg": {"format": "%(message)s"}},
    )
    (ring_handler,) = fresh_logger.handlers
    assert isinstance(ring_handler, ringlog.RingHandler)
    assert isinstance(ring_handler, logging.handlers.MemoryHandler)
    assert ring_handler.flush_level == ring_handler.flushLevel == logging.WARNING
    fresh_logger.info("context")
    fresh_logger.warning("warned")
    target = ring_handler.target
    assert isinstance(target, ListHandler)
    assert [r.getMessage() for r in target.got] == ["context", "warned"]


def test_a_missing_target_name_goes_to_handle_error(
    fresh_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    handler = ringlog.RingHandler(capacity=8192, target="no such handler")
    fresh_logger.addHandler(handler)
    fresh_logger.propagate = False
    fresh_logger.error("boom")  # written to the ring; the error reported, not raised
    assert len(lines_of(handler.ring)) == 1
    assert "no logging handler named 'no such handler'" in stderr.getvalue()


def test_a_target_that_logs_causes_no_recursion(fresh_logger: logging.Logger) -> None:
    class Noisy(ListHandler):
        def emit(self, record: logging.LogRecord) -> None:
            super().emit(record)
            fresh_logger.error("target saw %s", record.getMessage())  # back into the ring handler

    target = Noisy()
    handler = ringlog.RingHandler(capacity=1 << 16, target=target)
    handler.setFormatter(logging.Formatter("%(message)s"))
    fresh_logger.addHandler(handler)
    fresh_logger.propagate = False
    fresh_logger.setLevel(logging.DEBUG)
    fresh_logger.info("a")
    fresh_logger.error("b")
    assert [r.getMessage() for r in target.got] == ["a", "b"]
    # What the target logged is in the ring, sent with the next trigger.
    assert lines_of(handler.ring) == ["a\n", "b\n", "target saw a\n", "target saw b\n"]
    fresh_logger.error("c")
    assert [r.getMessage() for r in target.got] == ["a", "b", "target saw a", "target saw b", "c"]


def test_overwritten_records_are_reported_to_the_target(fresh_logger: logging.Logger) -> None:
    target = ListHandler()
    handler = ringlog.RingHandler(capacity=4096, target=target)
    handler.setFormatter(logging.Formatter("%(message)s"))
    fresh_logger.addHandler(handler)
    fresh_logger.propagate = False
    fresh_logger.setLevel(logging.DEBUG)
    for i in range(500):
        fresh_logger.info("line %d", i)
    fresh_logger.error("boom")
    msgs = [r.getMessage() for r in target.got]
    m = re.fullmatch(r"\[ringlog: (\d+) records overwritten before this replay\]", msgs[0])
    assert m, msgs[0]
    first = int(msgs[1].split()[1])
    assert int(m.group(1)) == first
    assert msgs[1:] == [f"line {i}" for i in range(first, 500)] + ["boom"]


def test_many_threads_each_record_sent_at_most_once(fresh_logger: logging.Logger) -> None:
    target = ListHandler()
    handler = ringlog.RingHandler(capacity=1 << 22, target=target)
    handler.setFormatter(logging.Formatter("%(message)s"))
    fresh_logger.addHandler(handler)
    fresh_logger.propagate = False
    fresh_logger.setLevel(logging.DEBUG)

    def work(t: int) -> None:
        for i in range(300):
            (fresh_logger.error if i % 10 == 0 else fresh_logger.info)("t%d i%d", t, i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    handler.replay()
    seqs = [getattr(r, "ringlog_seq") for r in target.got]
    assert seqs == list(range(6 * 300)), "every record once, in seq order"
