"""`async for rec in reader` never blocks the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import ringlog
from ringlog.aio import AsyncRecords


def test_async_for_reads_everything_and_ends_at_close() -> None:
    ring = ringlog.Ring(1 << 20)
    rd = ring.reader()

    def produce() -> None:
        for i in range(1000):
            ring.write(b"%d" % i)
            if i % 100 == 0:
                time.sleep(0.01)
        ring.close()

    async def consume() -> list[int]:
        return [rec.seq async for rec in rd]

    threading.Thread(target=produce).start()
    seqs = asyncio.run(asyncio.wait_for(consume(), timeout=20))
    assert seqs == list(range(1000))


def test_the_event_loop_keeps_running_while_a_reader_waits() -> None:
    ring = ringlog.Ring(4096)
    rd = ring.reader()

    async def main() -> tuple[int, bytes]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def first() -> bytes:
            async for rec in rd:
                return rec.data
            raise AssertionError("ended without a record")

        tick_task = asyncio.create_task(ticker())
        threading.Timer(0.5, lambda: ring.write(b"late")).start()
        data = await asyncio.wait_for(first(), timeout=10)
        tick_task.cancel()
        return ticks, data

    ticks, data = asyncio.run(main())
    assert data == b"late"
    assert ticks >= 20, f"the loop ticked only {ticks} times in 0.5 s: it was blocked"


def test_cancelling_a_waiting_iteration_loses_no_record() -> None:
    ring = ringlog.Ring(4096)
    it = AsyncRecords(ring.reader(), poll_interval=0.05)

    async def main() -> list[bytes]:
        waiting = asyncio.create_task(it.__anext__())
        await asyncio.sleep(0.1)
        waiting.cancel()
        ring.write(b"after the cancel")
        got = [(await asyncio.wait_for(it.__anext__(), timeout=5)).data]
        ring.write(b"next")
        got.append((await asyncio.wait_for(it.__anext__(), timeout=5)).data)
        return got

    assert asyncio.run(main()) == [b"after the cancel", b"next"]
