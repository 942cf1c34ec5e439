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
import os
from typing import Any

from ._ringlog import Busy, Ring, TooLarge

__all__ = ["DEFAULT_CAPACITY", "JsonFormatter", "RingHandler"]

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


class RingHandler(logging.Handler):
    """A logging handler that writes each log record into a ring as one record.

    Where the records go, from plain values (so that
    logging.config.dictConfig and fileConfig can build it):

    - ring: a ringlog.Ring to write to (then no capacity or path);
    - path: a ring file, opened with Ring.open(path, capacity), shared with
      every other process that opens it and kept after a crash. Without a
      capacity, an existing file is opened with whatever capacity it has,
      and a missing one is created with DEFAULT_CAPACITY (1 MiB);
    - neither: a new ring in memory of `capacity` bytes (DEFAULT_CAPACITY
      if None).

    The ring is in `self.ring`. level: the handler's level. Closing the
    handler (logging.shutdown at exit does) leaves the ring open: other
    handlers, processes or readers may still be using it; call
    handler.ring.close() to end the readers' streams.

    Each record is formatted in full (with this handler's formatter; see
    JsonFormatter for one JSON object per record), followed by
    `terminator` ("\\n" by default, so that a byte-stream reader sees
    lines), and written with a single ring.write().

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
        capacity: int | None = None,
        path: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
        level: int | str = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        if ring is not None:
            if capacity is not None or path is not None:
                raise ValueError("RingHandler takes a ring, or a capacity and/or a path, not both")
            self.ring = ring
        elif path is not None:
            self.ring = _open_file(path, capacity)
        else:
            self.ring = Ring(DEFAULT_CAPACITY if capacity is None else capacity)
        #: Records this handler could not write because the ring was Busy.
        self.dropped = 0

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
        """Formats the record and writes it as one ring record."""
        try:
            text = self.format(record) + self.terminator
            try:
                self.ring.write(text)
            except UnicodeEncodeError:
                self._write_bytes(text.encode("utf-8", "backslashreplace"))
            except TooLarge:
                self._write_bytes(text.encode("utf-8", "backslashreplace"))
        except Busy:
            self.dropped += 1  # not atomic across threads: a monitoring count
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001
            self.handleError(record)

    def _write_bytes(self, data: bytes) -> None:
        limit = self.ring.max_record
        if len(data) > limit:
            note = f"... [logging: truncated {{}} of {len(data)} bytes]{self.terminator}"
            cut = len(data) - (limit - len(note.format(len(data)).encode()))
            tail = note.format(cut).encode()
            data = data[: limit - len(tail)] + tail
        self.ring.write(data)


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
