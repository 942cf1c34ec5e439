"""Reading a ring from asyncio without blocking the event loop.

`async for rec in reader` (Reader.__aiter__) returns an AsyncRecords. While
records are there, it takes them without leaving the event loop (a
non-blocking poll). When the reader has caught up, it waits in a worker
thread, in slices of `poll_interval` seconds, so that no thread outlives
the iteration by more than one slice and the interpreter can always exit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

from ._ringlog import Closed, Reader, Record

__all__ = ["AsyncRecords"]

# Waiting readers park here, not in the event loop's default executor,
# so that many idle async readers do not starve the application's own work.
_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="ringlog-aio")


class AsyncRecords:
    """Async iterator over a reader's records; ends at the end of a closed ring.

    Cancel-safe: if the task awaiting a record is cancelled, a record that
    arrives meanwhile is kept and returned by the next iteration.
    """

    def __init__(self, reader: Reader, *, poll_interval: float = 0.1) -> None:
        self._reader = reader
        self._poll = poll_interval
        self._pending: asyncio.Future[Record | None] | None = None

    def __aiter__(self) -> AsyncRecords:
        return self

    async def __anext__(self) -> Record:
        while True:
            if self._pending is None:
                try:
                    rec = self._reader.next(timeout=0)
                except Closed:
                    raise StopAsyncIteration from None
                if rec is not None:
                    return rec
                loop = asyncio.get_running_loop()
                self._pending = loop.run_in_executor(_EXECUTOR, self._reader.next, self._poll)
            try:
                rec = await asyncio.shield(self._pending)
            except Closed:
                self._pending = None
                raise StopAsyncIteration from None
            self._pending = None
            if rec is not None:
                return rec
