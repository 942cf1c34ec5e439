"""Soak ringlog through Python: writer and reader threads for a bounded time,
every record checked (whole, in order, gaps equal to the lost reported, read
+ lost = written for every reader), totals printed.

    python scripts/soak.py [--seconds 60]   (scripts/soak runs it)
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python" / "tests"))
from checks import StreamCheck, checking_reader, make_record  # noqa: E402

import ringlog  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--writers", type=int, default=3)
    p.add_argument("--readers", type=int, default=3)
    args = p.parse_args()

    ring = ringlog.Ring(1 << 18)
    stop = threading.Event()
    errors: list[BaseException] = []
    checks = [StreamCheck() for _ in range(args.readers)]
    written = [0] * args.writers

    def write(w: int) -> None:
        try:
            c = 0
            while not stop.is_set():
                ring.write(make_record(w, c, 24 + (c * 7919 + w) % 400))
                c += 1
            written[w] = c
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    rts = [
        threading.Thread(target=checking_reader, args=(ring.reader(seq=0), checks[i], i == args.readers - 1, errors))
        for i in range(args.readers)
    ]
    wts = [threading.Thread(target=write, args=(w,)) for w in range(args.writers)]
    for t in rts + wts:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in wts:
        t.join(timeout=60)
    ring.close()
    for t in rts:
        t.join(timeout=120)
    total = sum(written)
    assert total == ring.written, (total, ring.written)
    for c in checks:
        c.finish(total)
    if errors:
        print(f"python soak: FAILED: {errors[0]!r}")
        return 1
    read_ = sum(c.read for c in checks)
    lost = sum(c.lost for c in checks)
    print(
        f"   Python soak: {args.seconds:g} s, {args.writers} writers x {args.readers} readers: "
        f"written {total}, read {read_}, lost {lost}, errors 0"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
