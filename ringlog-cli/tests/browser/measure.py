"""Measures `ringlog serve`'s live page in headless Chromium (run by
`ringlog-cli/tests/browser/run --measure`, or with the .venv's python and
$RINGLOG_BIN set):

1. memory: 100,000 records written at once into a freshly opened page;
   when the last is shown, after a garbage collection: the JS heap, the
   DOM nodes (CDP Performance.getMetrics) and the rows kept.
2. keeping up: records written at increasing rates (each for --seconds),
   by a `ringlog write` process fed through a pipe; the page keeps up at a
   rate when the newest record in its DOM is never more than 1 s behind
   the writer and shows the last record within 1 s after the writer
   stops. Also reported: the page's frames per second and its longest
   frame while it took that rate (counted with requestAnimationFrame).

Prints one line per step and a summary; --json prints the numbers as JSON
too. The ring is 64 MiB, so that the server's reader is never lapped:
what is measured is the page (and the machine: Chromium, the server and
the writer share its cores).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import Procs, new_driver, ringlog_bin, start_serve  # noqa: E402

LAST_SEQ_JS = """
const c = document.getElementById('log').lastElementChild, l = c && c.lastElementChild;
return l ? Number(l.dataset.seq) : -1;
"""

FRAMES_JS = """
const f = {n: 0, worst: 0, last: performance.now(), on: true};
if (window.__frames) window.__frames.on = false;
window.__frames = f;
const tick = (t) => {
  if (!f.on) return;
  f.worst = Math.max(f.worst, t - f.last); f.last = t; f.n++;
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"""


# A typical log line (76 bytes); the seq is the ring's.
LINE = b"2025-06-01T12:00:00.000Z INFO  checkout: order 4711 paid (129.90 EUR) ok\n"


class Writer:
    """A `ringlog write FILE` process; lines go to it through a pipe."""

    def __init__(self, procs: Procs, ring: Path) -> None:
        # The ring made first, with record 0.
        subprocess.run([ringlog_bin(), "write", "--capacity", "64MiB", str(ring), "start"], check=True, timeout=30)
        self.p = procs.start(ringlog_bin(), "write", str(ring), stdin=subprocess.PIPE)
        self.seq = 1  # the next record's seq

    def send(self, n: int) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(LINE * n)
        self.p.stdin.flush()
        self.seq += n


def shown(driver: Any) -> int:
    return int(driver.execute_script(LAST_SEQ_JS))


def wait_shown(driver: Any, seq: int, timeout: float) -> float | None:
    """Seconds until the DOM shows `seq`, or None past `timeout`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if shown(driver) >= seq:
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def step(driver: Any, w: Writer, rate: int, seconds: float) -> dict[str, Any]:
    """Writes at `rate` records/s for `seconds`; how far the page lagged."""
    driver.execute_script(FRAMES_JS)
    start_seq = w.seq
    sent: list[tuple[float, int]] = []  # (time, records sent by then)
    worst_lag = 0.0
    t0 = time.monotonic()
    next_sample = t0
    while True:
        now = time.monotonic()
        el = now - t0
        if el >= seconds:
            break
        due = int(rate * el) - (w.seq - start_seq)
        if due > 0:
            w.send(due)
        sent.append((now, w.seq))
        if now >= next_sample:
            next_sample = now + 0.1
            dom = shown(driver)
            # The lag: how long ago the writer had sent what the DOM shows.
            behind_since = next((t for t, s in sent if s > dom + 1), None)
            if behind_since is not None:
                worst_lag = max(worst_lag, time.monotonic() - behind_since)
            sent = [(t, s) for t, s in sent if s > dom + 1 or t > now - 2]
        time.sleep(0.005)
    last = w.seq - 1
    catch_up = wait_shown(driver, last, 5.0)
    frames = driver.execute_script("const f = window.__frames; f.on = false; return f;")
    el = time.monotonic() - t0
    ok = catch_up is not None and catch_up <= 1.0 and worst_lag <= 1.0
    return {
        "rate": rate,
        "records": last + 1 - start_seq,
        "achieved": round((last + 1 - start_seq) / seconds),
        "worst_lag_s": round(worst_lag, 3),
        "catch_up_s": None if catch_up is None else round(catch_up, 3),
        "fps": round(frames["n"] / el, 1),
        "longest_frame_ms": round(frames["worst"], 1),
        "keeps_up": ok,
    }


def renderer_rss(driver: Any) -> int:
    """Anonymous bytes resident (RssAnon: heaps, not the mapped binary)
    in Chromium's renderer processes (the page's: the only tab), found
    under the driver's process tree in /proc."""
    children: dict[int, list[int]] = {}
    for st in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = st.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(st.parent.name))
    total, todo = 0, [driver.service.process.pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("RssAnon:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def metrics(driver: Any) -> dict[str, float]:
    driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    driver.execute_cdp_cmd("Performance.enable", {})
    m = {x["name"]: x["value"] for x in driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}
    out = {k: m[k] for k in ("JSHeapUsedSize", "JSHeapTotalSize", "Nodes", "LayoutObjects", "Documents") if k in m}
    out["RendererRSS"] = renderer_rss(driver)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="500,1000,2000,5000,10000,20000,50000,100000")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ringlog-measure-"))
    procs = Procs()
    driver = None
    out: dict[str, Any] = {"steps": []}
    try:
        driver = new_driver(str(tmp / "profile"))
        # Memory after N records, in a page opened on a new ring.
        ring2 = tmp / "memory.ring"
        w2 = Writer(procs, ring2)
        _, base2 = start_serve(procs, ring2)
        driver.get(base2 + "/")
        if wait_shown(driver, 0, 10) is None:
            raise SystemExit("the page did not show the first record")
        before = metrics(driver)
        t0 = time.monotonic()
        n = args.records - 1
        while n > 0:  # at once, in pipe-sized pieces
            k = min(n, 10_000)
            w2.send(k)
            n -= k
        took = wait_shown(driver, args.records - 1, 120)
        if took is None:
            raise SystemExit(f"the page did not show record {args.records - 1} within 120 s")
        took = time.monotonic() - t0
        after = metrics(driver)
        state = driver.execute_script("return window.ringlogPage.state()")
        out["memory"] = {"records": args.records, "shown_after_s": round(took, 2), "before": before,
                         "after": after, "rows": state["rows"], "received": state["received"]}
        mb = 1024 * 1024
        print(f"{args.records} records written at once: the last shown after {took:.2f} s; "
              f"{state['rows']} rows kept of {state['received']} received; JS heap "
              f"{before.get('JSHeapUsedSize', 0) / mb:.1f} MiB -> {after.get('JSHeapUsedSize', 0) / mb:.1f} MiB "
              f"(after a GC), DOM nodes {before.get('Nodes', 0):.0f} -> {after.get('Nodes', 0):.0f}, renderer "
              f"process (anonymous resident) {before['RendererRSS'] / mb:.0f} MiB -> {after['RendererRSS'] / mb:.0f} MiB", flush=True)
        ring = tmp / "rate.ring"
        w = Writer(procs, ring)
        _, base = start_serve(procs, ring)
        driver.get(base + "/")
        if wait_shown(driver, 0, 10) is None:
            raise SystemExit("the page did not show the first record")
        best = 0
        for rate in [int(r) for r in args.rates.split(",")]:
            r = step(driver, w, rate, args.seconds)
            out["steps"].append(r)
            print(f"{rate:>7} records/s (written: {r['achieved']}/s): lag at most {r['worst_lag_s']} s, last shown {r['catch_up_s']} s after "
                  f"the writer stopped, {r['fps']} frames/s (longest {r['longest_frame_ms']} ms): "
                  f"{'keeps up' if r['keeps_up'] else 'falls behind'}", flush=True)
            if not r["keeps_up"]:
                break
            best = rate
            time.sleep(0.5)
        out["keeps_up_to"] = best
        smooth = [r["rate"] for r in out["steps"] if r["keeps_up"] and r["fps"] >= 50]
        out["smooth_up_to"] = max(smooth, default=0)
        print(f"keeps up with {best} records/s (lag <= 1 s); at least 50 frames/s up to {out['smooth_up_to']} records/s")
        if args.json:
            print(json.dumps(out, indent=2))
        return 0
    finally:
        if driver is not None:
            driver.quit()
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
