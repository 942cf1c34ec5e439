"""ringlog: the most recent N bytes of a program's logs in a fixed in-memory ring.

Many threads write; many independent readers stream from the ring, each at
its own pace, each blocking until new data arrives. A writer never waits for
a reader (a reader that falls behind is lapped and told exactly how many
records it lost), nor for another writer: each record claims its place and
seq in one atomic step and commits on its own. Only a ring too small for its
writers (so small that others lap it during one copy) refuses a write, with
`Busy`, after at most 50 us; `Ring.stats()` counts those in `dropped`.

    import ringlog

    ring = ringlog.Ring(1 << 20)           # 1 MiB, framing included
    rd = ring.reader()                     # replays what the ring holds, then follows
    ring.write("hello")                    # str (UTF-8) or bytes-like; returns the seq
    rec = rd.next(timeout=1.0)             # Record(seq=0, lost=0, data=b'hello')
    ring.close()                           # readers drain, then reach the end

`Ring.open(path, capacity)` maps a ring that lives in a file instead: the
flight recorder. Every process that opens the file shares the ring (same
seqs, readers woken across processes), and whatever was written is still
there after the writer crashes or is killed:

    ring = ringlog.Ring.open("/run/app/log.ring", 1 << 20)  # created if missing
    ring = ringlog.Ring.open("/run/app/log.ring")           # another process: existing only
    ring.dump(sys.stderr)                  # the retained records to a file or fd

A file that is not a ring is refused with `BadFile` (also a `ValueError`),
untouched; system errors are `OSError` (`FileNotFoundError`, ...).

`RingHandler` puts `logging` records into a ring, one line each (by default
"2025-03-14T09:26:53.589+01:00 INFO app: message", `TextFormatter`);
`JsonFormatter` makes each one a JSON object instead. Like MemoryHandler it
can send what the ring holds to another handler on an ERROR (`target=`,
`flush_level=`). `logging.config.dictConfig` and `fileConfig` build it
from plain values (`capacity`, `path`). `async for rec in reader` reads
without blocking an asyncio event loop.

`install_crash_dump(ring, path)` writes the ring's records to a file when
the process dies of SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT, from a
native signal handler, and then passes the signal on (to faulthandler, if
it is enabled, which still prints its traceback).

Waiting calls (`Reader.next`, iteration, `Ring.flush`) release the GIL and
wake every 50 ms to run signal handlers, so Ctrl-C interrupts them and a
handler that raises ends the wait; signals do not otherwise cut a wait
short. After `os.fork()` (or any fork), rings and readers made before it
raise `Forked` in the child instead of risking a deadlock; make new ones
there. Errors are exceptions derived from `RingError`; a bug caught inside
ringlog is `InternalError`, never a crash.
"""

from ._ringlog import (
    MAX_CAPACITY,
    MAX_CRASH_DUMPS,
    MIN_CAPACITY,
    BadFile,
    Busy,
    Closed,
    Forked,
    InternalError,
    InvalidArgument,
    NoMemory,
    Reader,
    Record,
    Ring,
    RingError,
    TooLarge,
    __version__,
    install_crash_dump,
)
from .handler import DEFAULT_FORMAT, JsonFormatter, RingHandler, TextFormatter

__all__ = [
    "DEFAULT_FORMAT",
    "MAX_CAPACITY",
    "MAX_CRASH_DUMPS",
    "MIN_CAPACITY",
    "BadFile",
    "Busy",
    "Closed",
    "Forked",
    "InternalError",
    "InvalidArgument",
    "JsonFormatter",
    "NoMemory",
    "Reader",
    "Record",
    "Ring",
    "RingError",
    "RingHandler",
    "TextFormatter",
    "TooLarge",
    "__version__",
    "install_crash_dump",
]
