"""`logging` integration: RingHandler and JsonFormatter.

RingHandler follows what good log handlers do (Go's slog handler guide is
the model): each log record is formatted whole and written as exactly one
ring record, so lines from different threads never interleave; it takes no
lock of its own around the write (the ring is thread-safe); bad input is
logged as well as it can be instead of being dropped; and a failure never
escapes into the application (it goes to `handleError`, like the standard
handlers).
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import logging.handlers
import os
import threading
import time
from collections.abc import Mapping
from typing import Any, Literal

from ._ringlog import Busy, Closed, Ring, TooLarge

__all__ = ["DEFAULT_CAPACITY", "DEFAULT_FORMAT", "JsonFormatter", "RingHandler", "TextFormatter"]

#: The capacity of a ring RingHandler makes itself when given none: 1 MiB.
DEFAULT_CAPACITY = 1 << 20

# Attributes every LogRecord has; anything else on a record came from
# `extra=` (or a filter) and is a field of its own.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime", "taskName"}
)


def safe_repr(value: object) -> str:
    """repr(value), or a description of why it has none: never raises."""
    try:
        return repr(value)
    except Exception as exc:  # noqa: BLE001 - any failure of user code
        return f"<unrepresentable {type(value).__name__}: {type(exc).__name__}: {exc}>"


def safe_str(value: object) -> str:
    """str(value), falling back to safe_repr: never raises."""
    try:
        return str(value)
    except Exception:  # noqa: BLE001
        return safe_repr(value)


def safe_message(record: logging.LogRecord) -> str:
    """record.getMessage(), or as much of it as can be had: never raises.

    A message whose `%` arguments do not match, or an argument whose str or
    repr raises, gives the template and the arguments side by side with
    what went wrong, so that nothing is lost.
    """
    try:
        return record.getMessage()
    except Exception as exc:  # noqa: BLE001
        args = record.args
        if isinstance(args, tuple):
            shown = "(" + ", ".join(safe_repr(a) for a in args) + ("," if len(args) == 1 else "") + ")"
        else:
            shown = safe_repr(args)
        return f"{safe_str(record.msg)} % {shown} [logging: message could not be formatted: {type(exc).__name__}: {exc}]"


#: RingHandler's default format: local time (ISO 8601, milliseconds, UTC
#: offset), level, logger name, message.
DEFAULT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """RingHandler's default formatter: a logging.Formatter whose format
    defaults to DEFAULT_FORMAT and whose %(asctime)s, when no datefmt is
    given, is ISO 8601 local time with milliseconds and the UTC offset:

        2025-03-14T09:26:53.589+01:00 WARNING app.db: slow query (2.3 s)

    Any other format works as with logging.Formatter:
    TextFormatter("%(levelname)s %(message)s").
    """

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: Literal["%", "{", "$"] = "%",
        validate: bool = True,
        *,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(DEFAULT_FORMAT if fmt is None else fmt, datefmt, style, validate, defaults=defaults)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        if datefmt:
            return super().formatTime(record, datefmt)
        t = time.localtime(record.created)
        off = t.tm_gmtoff // 60
        sign = "-" if off < 0 else "+"
        off = abs(off)
        return (
            f"{time.strftime('%Y-%m-%dT%H:%M:%S', t)}.{int(record.msecs):03d}{sign}{off // 60:02d}:{off % 60:02d}"
        )


def _level(value: int | str, what: str) -> int:
    """A level given as an int or a name ("ERROR")."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"RingHandler(): {what} must be a level (int or name), not {type(value).__name__}")
    if isinstance(value, int):
        return value
    levels = logging.getLevelNamesMapping()
    if value.upper() not in levels:
        raise ValueError(f"RingHandler(): unknown level {what}={value!r}")
    return levels[value.upper()]


class RingHandler(logging.handlers.MemoryHandler):
    """A logging handler that writes each log record into a ring as one record.

    Where the records go, from plain values (so that
    logging.config.dictConfig and fileConfig can build it, as they build
    logging.handlers.MemoryHandler):

    - ring: a ringlog.Ring to write to (then no capacity or path); anything
      else is a TypeError;
    - path: a ring file, opened with Ring.open(path, capacity), shared with
      every other process that opens it and kept after a crash. Without a
      capacity, an existing file is opened with whatever capacity it has,
      and a missing one is created with DEFAULT_CAPACITY (1 MiB);
    - neither: a new ring in memory of `capacity` bytes (DEFAULT_CAPACITY
      if None; an int, or a str of digits).

    The ring is in `self.ring`. level: the handler's level. Closing the
    handler (logging.shutdown at exit does) leaves the ring open: other
    handlers, processes or readers may still be using it; call
    handler.ring.close() to end the readers' streams.

        # dictConfig
        "handlers": {"ring": {"class": "ringlog.RingHandler", "capacity": 1048576}}
        "handlers": {"ring": {"class": "ringlog.RingHandler", "path": "app.ring"}}
        # fileConfig
        [handler_ring]
        class = ringlog.RingHandler
        args = (None, 1048576)          # or: kwargs = {"path": "app.ring"}
        target = console                # optional, as for a MemoryHandler

    Each record is formatted in full, followed by `terminator` ("\\n" by
    default, so that a byte-stream reader sees lines), and written with a
    single ring.write(). The default formatter is TextFormatter:
    DEFAULT_FORMAT, "%(asctime)s %(levelname)s %(name)s: %(message)s" with
    ISO 8601 local time; setFormatter() (or dictConfig's "formatter") sets
    another, as usual (JsonFormatter: one JSON object per record).

    It is a logging.handlers.MemoryHandler whose memory is the ring, so
    that, like one, it can pass what it holds to another handler when
    something goes wrong, and dictConfig and fileConfig resolve its
    `target` by name as they do a MemoryHandler's ("target": "console" in
    dictConfig, `target = console` in a fileConfig handler section). With
    `target` (a logging.Handler, or the name of one: given as a keyword
    argument from fileConfig's `kwargs`, it is looked up when first needed,
    and must belong to some logger, as logging keeps handlers by name only
    while something else refers to them), each
    record at or above `flush_level` (default ERROR; an int or a level
    name) sends the target the ring's records written since the last such
    send (or since the handler was made), up to and including the one that
    triggered it: each ring record at most once, also when several threads
    trigger at once. They go as logging.LogRecords whose message is the
    formatted line (the terminator stripped), logger name "ringlog.replay",
    level `flush_level`, and the attribute `ringlog_seq`: give the target
    no formatter, or "%(message)s", to get the lines as they are in the
    ring. Records other writers put in the same ring are sent too, and a
    gap (records overwritten before they could be sent) as one line
    "[ringlog: N records overwritten before this replay]". Whatever the
    target logs while it handles them goes into the ring without
    triggering another send (no recursion). replay() sends them now;
    setTarget() changes the target. The target is never closed by this
    handler, and flush() and close() send nothing (a MemoryHandler flushes
    on close; a ring keeps its records). `flushLevel` is `flush_level`,
    `capacity` the ring's capacity in bytes; `buffer` stays empty.

    Robust to bad input: a message whose `%` arguments do not match, an
    argument whose repr raises, a string that is not valid Unicode, or a
    message longer than the ring's max_record are all still logged, the
    last truncated with a note of how much was cut. A write the ring refuses
    as Busy (a ring too small for its writers) is counted in `dropped` and
    the application goes on, like a write lapped away. Other failures of the
    write itself (a closed ring) go to handleError, as with the standard
    handlers.
    """

    terminator = "\n"

    def __init__(
        self,
        ring: Ring | None = None,
        capacity: int | str | None = None,
        path: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
        level: int | str = logging.NOTSET,
        *,
        target: logging.Handler | str | None = None,
        flush_level: int | str = logging.ERROR,
    ) -> None:
        if ring is not None and not isinstance(ring, Ring):
            hint = f" (for a new ring of that size: capacity={ring!r})" if isinstance(ring, int) else ""
            raise TypeError(f"RingHandler(): ring must be a ringlog.Ring, not {type(ring).__name__}{hint}")
        if isinstance(capacity, str):
            if not capacity.strip().isdigit():
                raise ValueError(f"RingHandler(): capacity must be a number of bytes, got {capacity!r}")
            capacity = int(capacity)
        if target is not None and not isinstance(target, (logging.Handler, str)):
            raise TypeError(
                f"RingHandler(): target must be a logging.Handler or a handler's name, not {type(target).__name__}"
            )
        flush_level = _level(flush_level, "flush_level")
        # MemoryHandler's __init__ would make a list buffer: only Handler's.
        logging.Handler.__init__(self, level)
        if ring is not None:
            if capacity is not None or path is not None:
                raise ValueError("RingHandler takes a ring, or a capacity and/or a path, not both")
            self.ring = ring
        elif path is not None:
            self.ring = _open_file(path, capacity)
        else:
            self.ring = Ring(DEFAULT_CAPACITY if capacity is None else capacity)
        self.formatter = TextFormatter()
        #: Records this handler could not write because the ring was Busy.
        self.dropped = 0
        # MemoryHandler's attributes.
        self.capacity = self.ring.capacity
        self.buffer: list[logging.LogRecord] = []
        self.flushOnClose = False
        #: Records at or above this level trigger replay() (with a target).
        self.flushLevel = flush_level
        #: The handler replay() sends the ring's records to.
        self.target: logging.Handler | None = target if isinstance(target, logging.Handler) else None
        # A target given by name, until it is looked up.
        self._target_name = target if isinstance(target, str) else None
        # Replay state, under _state (a lock never held while calling out):
        # the next seq to send, the end asked for, and which thread sends.
        self._state = threading.Lock()
        self._sent_to = self.ring.written
        self._wanted_to = self._sent_to
        self._replayer: int | None = None

    def handle(self, record: logging.LogRecord) -> logging.LogRecord | bool:  # type: ignore[override]
        """Filters, then emits, without taking the handler lock.

        logging.Handler.handle holds self.lock around emit(); the ring is
        thread-safe and each record is one write, so that lock would only
        make threads queue behind each other's formatting.
        """
        rv = self.filter(record)
        if isinstance(rv, logging.LogRecord):
            record = rv
        if rv:
            self.emit(record)
        return rv

    def format(self, record: logging.LogRecord) -> str:
        """The formatter's text for the record, however broken the record is."""
        try:
            return super().format(record)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001
            pass
        # Format a copy whose message is already resolved safely.
        fixed = copy.copy(record)
        fixed.msg = safe_message(record)
        fixed.args = None
        try:
            return super().format(fixed)
        except RecursionError:
            raise
        except Exception as exc:  # noqa: BLE001 - the formatter itself is broken
            return f"{record.levelname} {record.name}: {fixed.msg} [logging: formatter failed: {safe_repr(exc)}]"

    def emit(self, record: logging.LogRecord) -> None:
        """Formats the record and writes it as one ring record; with a
        target, a record at or above flush_level then triggers replay()."""
        seq = None
        try:
            text = self.format(record) + self.terminator
            try:
                seq = self.ring.write(text)
            except UnicodeEncodeError:
                seq = self._write_bytes(text.encode("utf-8", "backslashreplace"))
            except TooLarge:
                seq = self._write_bytes(text.encode("utf-8", "backslashreplace"))
        except Busy:
            self.dropped += 1  # not atomic across threads: a monitoring count
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001
            self.handleError(record)
        if self.shouldFlush(record):
            try:
                self._replay(None if seq is None else seq + 1)
            except RecursionError:
                raise
            except Exception:  # noqa: BLE001
                self.handleError(record)

    def _write_bytes(self, data: bytes) -> int:
        limit = self.ring.max_record
        if len(data) > limit:
            note = f"... [logging: truncated {{}} of {len(data)} bytes]{self.terminator}"
            cut = len(data) - (limit - len(note.format(len(data)).encode()))
            tail = note.format(cut).encode()
            data = data[: limit - len(tail)] + tail
        return self.ring.write(data)

    @property
    def flush_level(self) -> int:
        """Records at or above this level trigger replay() (with a target)."""
        return self.flushLevel

    @flush_level.setter
    def flush_level(self, level: int | str) -> None:
        self.flushLevel = _level(level, "flush_level")

    def shouldFlush(self, record: logging.LogRecord) -> bool:  # noqa: N802 - MemoryHandler's name
        """True when the record triggers a replay(): there is a target and
        the record is at or above flush_level."""
        return (self.target is not None or self._target_name is not None) and record.levelno >= self.flushLevel

    def setTarget(self, target: logging.Handler | None) -> None:  # noqa: N802 - MemoryHandler's name
        """The handler replay() sends the ring's records to (None: none)."""
        with self._state:
            self._target_name = None
            self.target = target

    def flush(self) -> None:
        """Nothing: the ring keeps its records (see replay())."""

    def close(self) -> None:
        """Closes the handler; the ring stays open, the target untouched."""
        logging.Handler.close(self)

    def replay(self) -> None:
        """Sends the target every ring record written since the last send
        (or since the handler was made), now; nothing without a target."""
        if self.target is not None or self._target_name is not None:
            self._replay(None)

    def _replay(self, end: int | None) -> None:
        """Sends the target the records before seq `end` (None: all
        written now) not sent yet. One thread sends at a time; a thread
        that finds another sending leaves its records to that one; the
        sending thread's own logging (the target's) triggers nothing."""
        me = threading.get_ident()
        with self._state:
            if self._replayer == me:
                return  # the target logged: no recursion
            self._wanted_to = max(self._wanted_to, self.ring.written if end is None else end)
            if self._replayer is not None:
                return  # the thread sending now sends these too
            self._replayer = me
        done = -1
        try:
            while True:
                with self._state:
                    want = self._wanted_to
                    if want == done:
                        self._replayer = None
                        return
                self._send(want)
                done = want
        except BaseException:
            with self._state:
                self._replayer = None
            raise

    def _send(self, end: int) -> None:
        target = self._resolve_target()
        if target is None or end <= self._sent_to:
            return
        rd = self.ring.reader(seq=self._sent_to)
        while True:
            try:
                rec = rd.next(timeout=0)
            except Closed:
                return
            if rec is None or rec.seq >= end:
                return  # done, or a record still being written: sent next time
            if rec.lost:
                target.handle(self._replayed(f"[ringlog: {rec.lost} records overwritten before this replay]", rec.seq))
            text = rec.data.decode("utf-8", "backslashreplace")
            if self.terminator and text.endswith(self.terminator):
                text = text[: -len(self.terminator)]
            self._sent_to = rec.seq + 1
            target.handle(self._replayed(text, rec.seq))

    def _replayed(self, text: str, seq: int) -> logging.LogRecord:
        rec = logging.LogRecord("ringlog.replay", self.flushLevel, __file__, 0, text, None, None)
        rec.ringlog_seq = seq
        return rec

    def _resolve_target(self) -> logging.Handler | None:
        """The target handler; a name is looked up (once found, kept)."""
        name = self._target_name
        if name is not None:
            found = _handler_named(name)
            if found is None:
                raise ValueError(f"RingHandler: no logging handler named {name!r} (target)")
            with self._state:
                if self._target_name == name:
                    self.target, self._target_name = found, None
        return self.target


def _handler_named(name: str) -> logging.Handler | None:
    """The handler dictConfig or fileConfig configured under `name`."""
    by_name = getattr(logging, "getHandlerByName", None)  # Python 3.12+
    if by_name is not None:
        found: logging.Handler | None = by_name(name)
        return found
    handlers: Mapping[str, logging.Handler] = getattr(logging, "_handlers", {})
    return handlers.get(name)


def _open_file(path: str | bytes | os.PathLike[str] | os.PathLike[bytes], capacity: int | None) -> Ring:
    """Ring.open(path, capacity); without a capacity: the existing file as
    it is, or a new one of DEFAULT_CAPACITY."""
    if capacity is not None:
        return Ring.open(path, capacity)
    try:
        return Ring.open(path)
    except FileNotFoundError:
        # The file is missing (or its directory is: then this raises again).
        # Another process creating it meanwhile is fine: the core opens theirs.
        return Ring.open(path, DEFAULT_CAPACITY)


class JsonFormatter(logging.Formatter):
    """Formats each log record as one JSON object on one line.

    Keys: "time" (ISO 8601, UTC, milliseconds), "level", "logger",
    "message", "exc" (the formatted exception, when there is one), "stack"
    (when stack_info was asked for), and every field given with `extra=`.
    An extra field named like one of these keys is written as "extra.<name>".
    Values JSON cannot hold (objects, NaN, circular structures, dicts with
    non-string keys) are written as their repr instead of failing; the
    output is always valid JSON.
    """

    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": safe_message(record),
        }
        if record.exc_info:
            try:
                obj["exc"] = self.formatException(record.exc_info)
            except Exception as exc:  # noqa: BLE001
                obj["exc"] = f"[logging: exception could not be formatted: {safe_repr(exc)}]"
        elif record.exc_text:
            obj["exc"] = record.exc_text
        if record.stack_info:
            obj["stack"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key in _STANDARD_ATTRS or key.startswith("_"):
                continue
            obj[f"extra.{key}" if key in obj else key] = value
        return _dumps(obj)


def _dumps(obj: dict[str, Any]) -> str:
    try:
        return json.dumps(obj, **_JSON)
    except Exception:  # noqa: BLE001 - NaN, cycles, odd keys: go field by field
        return json.dumps({k: _jsonable(v) for k, v in obj.items()}, **_JSON)


# Strict JSON (no NaN), UTF-8 text, one line; objects JSON cannot hold
# become their repr.
_JSON: dict[str, Any] = {"ensure_ascii": False, "allow_nan": False, "default": safe_repr, "separators": (",", ":")}


def _jsonable(value: object) -> object:
    """The value itself if JSON can hold it, else its repr."""
    try:
        json.dumps(value, **_JSON)
        return value
    except Exception:  # noqa: BLE001
        return safe_repr(value)
