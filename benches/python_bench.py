"""Python benchmarks for ringlog: each row a median over repeated runs, each
comparison a ratio against a baseline measured in the same run.

    python benches/python_bench.py [--quick] [--json FILE]

Rows: ring.write of 64 B and 1 KiB against collections.deque(maxlen).append
of the same bytes; logger.info through RingHandler (plain and JSON) against
logging.StreamHandler to io.StringIO and logging.handlers.MemoryHandler.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import logging
import logging.handlers
import statistics
import sys
import time
from collections.abc import Callable

import ringlog


def per_op_ns(fn: Callable[[int], None], n: int, repeats: int) -> float:
    """Median over `repeats` runs of fn(n), in ns per operation."""
    fn(min(n, 1000))  # warm up
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn(n)
        runs.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(runs)


def ring_write(size: int) -> Callable[[int], None]:
    ring = ringlog.Ring(1 << 20)
    data = b"x" * size
    write = ring.write

    def run(n: int) -> None:
        for _ in range(n):
            write(data)

    return run


def deque_append(size: int) -> Callable[[int], None]:
    dq: collections.deque[bytes] = collections.deque(maxlen=(1 << 20) // size)
    data = b"x" * size
    append = dq.append

    def run(n: int) -> None:
        for _ in range(n):
            append(data)

    return run


def logger_with(handler: logging.Handler) -> Callable[[int], None]:
    log = logging.getLogger(f"bench.{id(handler)}")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)

    def run(n: int) -> None:
        for i in range(n):
            log.info("request %d served in %d ms for user %s", i, 12, "ann")

    return run


def ring_handler(json: bool) -> logging.Handler:
    h = ringlog.RingHandler(ringlog.Ring(1 << 20))
    h.setFormatter(ringlog.JsonFormatter() if json else logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    return h


def stream_handler() -> logging.Handler:
    h = logging.StreamHandler(io.StringIO())
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    # StringIO grows without bound; empty it now and then like a ring would.
    class Rolling(logging.StreamHandler):  # type: ignore[type-arg]
        def emit(self, record: logging.LogRecord) -> None:
            super().emit(record)
            s = self.stream
            if s.tell() > 1 << 20:
                s.seek(0)
                s.truncate()

    r = Rolling(io.StringIO())
    r.setFormatter(h.formatter)
    return r


def memory_handler() -> logging.Handler:
    return logging.handlers.MemoryHandler(capacity=10_000, flushLevel=logging.CRITICAL + 1, target=None)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", help="also write the rows to this file, one JSON object a line")
    args = p.parse_args()
    n, repeats = (20_000, 5) if args.quick else (200_000, 9)
    ln = n // 10

    # (name, size, ns, baseline name, baseline ns, target ratio)
    rows: list[tuple[str, int, float, str, float, float | None]] = []
    for size in (64, 1024):
        base = per_op_ns(deque_append(size), n, repeats)
        mine = per_op_ns(ring_write(size), n, repeats)
        rows.append((f"ring.write({size} B)", size, mine, f"deque.append({size} B)", base, 2.5 if size == 64 else None))
    stream = per_op_ns(logger_with(stream_handler()), ln, repeats)
    memory = per_op_ns(logger_with(memory_handler()), ln, repeats)
    plain = per_op_ns(logger_with(ring_handler(json=False)), ln, repeats)
    js = per_op_ns(logger_with(ring_handler(json=True)), ln, repeats)
    rows.append(("logger.info via RingHandler", 0, plain, "StreamHandler(StringIO)", stream, 1.0))
    rows.append(("logger.info via RingHandler", 0, plain, "MemoryHandler", memory, None))
    rows.append(("logger.info via RingHandler + JsonFormatter", 0, js, "StreamHandler(StringIO)", stream, None))

    print(f"# python {sys.version.split()[0]}, ringlog {ringlog.__version__}; median of {repeats} runs")
    for name, _, mine, bname, base, target in rows:
        met = "" if target is None else f"  (target <= {target:.2f}x: {'met' if mine / base <= target else 'NOT met'})"
        print(f"{name:45s} {mine:8.0f} ns   {bname:25s} {base:8.0f} ns   ratio {mine / base:5.2f}x{met}")
    if args.json:
        with open(args.json, "w") as f:
            for name, size, mine, bname, base, target in rows:
                row = {"lang": "python", "group": "Python", "name": name, "size": size, "ring": 1 << 20,
                       "value": mine, "unit": "ns/op", "baseline": bname, "baseline_value": base, "target": target}
                f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
