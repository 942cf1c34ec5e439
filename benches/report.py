"""Turns the benchmark rows (JSON lines from the Rust, C++ and Python
benchmark processes and the callgrind counts) into docs/PERFORMANCE.md and
a plot, docs/performance.png. Run by scripts/bench.

    python benches/report.py OUT_DIR ROWS.jsonl... [--command "scripts/bench"]
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def load(paths: list[str]) -> list[Row]:
    rows: list[Row] = []
    for p in paths:
        for line in Path(p).read_text().splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def ratio(r: Row) -> float | None:
    b = r.get("baseline_value")
    return r["value"] / b if b and r.get("value") is not None else None


def fmt_size(n: int) -> str:
    if n == 0:
        return ""
    return f"{n // 1024} KiB" if n >= 1024 else f"{n} B"


def fmt_ring(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else (f"{n} B" if n else "")


def verdict(r: Row) -> str:
    t = r.get("target")
    x = ratio(r)
    if t is None or x is None:
        return ""
    return f"{'met' if x <= t else '**not met**'} (<= {t:.2f}x)"


def machine() -> str:
    try:
        model = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        name = next((ln.split(":", 1)[1].strip() for ln in model.splitlines() if ln.startswith("Model name")), "?")
        cpus = next((ln.split(":", 1)[1].strip() for ln in model.splitlines() if ln.startswith("CPU(s)")), "?")
    except OSError:
        name, cpus = "?", "?"
    return f"{name}, {cpus} CPUs, {platform.system()} {platform.release()}"


def table(rows: list[Row]) -> list[str]:
    out = ["| lang | ring | size | what | value | unit | vs | ratio | target |", "|---|---|---:|---|---:|---|---|---:|---|"]
    for r in rows:
        x = ratio(r)
        out.append(
            f"| {r['lang']} | {fmt_ring(r.get('ring', 0))} | {fmt_size(r.get('size', 0))} | {r['name']} | "
            f"{'n/a' if r.get('value') is None else format(r['value'], '.2f')} | {r['unit']} | {r.get('baseline') or ''} | {'' if x is None else f'{x:.2f}x'} | "
            f"{verdict(r)} |"
        )
    return out


# ---- many writers, wake cost: rows carrying threads/readers, impl, metric, min/max --------


def fmt_ns(v: float) -> str:
    if v < 1e3:
        return f"{v:.0f} ns"
    return f"{v / 1e3:.1f} us" if v < 1e6 else f"{v / 1e6:.1f} ms"


def with_spread(r: Row | None) -> str:
    """The median, then the min-max over the runs in parentheses (records/s
    in millions, times each in ns, us or ms as fits)."""
    if r is None or r.get("value") is None:
        return "" if r is None else "n/a"
    unit = r["unit"]
    vals = [r["value"]]
    if r.get("runs") and r.get("min") is not None and r.get("max") is not None and r["min"] != r["max"]:
        vals += [r["min"], r["max"]]
    if unit == "ns":
        f = [fmt_ns(v) for v in vals]
    elif unit in ("records/s", "writes/s"):
        big = max(vals) >= 1e5
        f = [f"{v / 1e6:.2f}" if big else f"{v:,.0f}" for v in vals]
        f[0] += " M" if big else ""
    elif unit == "x":
        f = [f"{v:,.2f}" if v >= 0.1 else f"{v:.3f}" if v >= 0.001 else f"{v:.1e}" for v in vals]
        f[0] += "x"
    elif unit == "%":
        f = [f"{v:.0f}" for v in vals]
        f[0] += "%"
    else:
        f = [f"{v:.2f}" for v in vals]
        f[0] += f" {unit}"
    return f[0] + (f" ({f[1]}-{f[2]})" if len(f) == 3 else "")


def index(rows: list[Row], key: str) -> dict[tuple[Any, ...], Row]:
    """The rows by (lang, size, key count, impl, metric)."""
    return {(r["lang"], r.get("size"), r.get(key), r.get("impl"), r.get("metric")): r for r in rows}


def many_writers(rows: list[Row]) -> list[str]:
    out = [
        "Writers sharing one 1 MiB ring, all started together (a barrier) on a warm ring (written once all round),",
        "each writing back to back until a common deadline; records per second of all writers together.",
        "*floor* is a ring written in the benchmark itself: per record one relaxed `fetch_add` on the shared",
        "position, a copy of the payload, a release store of the header's first word (same framing as ringlog,",
        "no eviction, no readers): the least work per record, though not always the most records per second",
        "(with writers contending, a lock that lets one thread write a long stretch alone moves fewer cache lines",
        "between cores). *mutex* is a `std::sync::Mutex` around a byte ring with the same framing that evicts",
        "whole records (what users would write). In C++, spdlog's `ringbuffer_sink_mt::log` (no formatting)",
        "against `ring_write` through libringlog. The implementations take turns within every repeat. Each",
        "cell is the median over the repeats with the min-max over them in parentheses; a ratio (vs floor, vs",
        "mutex, vs spdlog) is the median of the ratios of each repeat. Latencies: every 64th write is timed",
        "alone (rdtsc pair); percentiles of the timed writes of all threads in a run, medians over the runs;",
        "*max* is the largest timed write. Failed writes: writes the ring refused (an `Err`), per second.",
        "The machine has 2 cores: from 3 writers on, threads wait for a core, and a writer holding a lock or a",
        "reservation may be preempted; how far apart the host places the 2 virtual CPUs changes what a shared",
        "cache line costs from run to run, hence the wide ranges with 2 or more writers.",
        "",
    ]
    timer = next((r for r in rows if r.get("metric") == "timer"), None)
    if timer is not None:
        out += [f"Every latency sample includes the timer itself: {timer['value']:.0f} ns for an empty timed pair.", ""]
    ix = index(rows, "threads")
    mt = [r for r in rows if r.get("threads") is not None]
    runs = max((r.get("runs") or 0 for r in mt), default=0)
    for lang in sorted({r["lang"] for r in mt}, reverse=True):
        for size in sorted({r["size"] for r in mt if r["lang"] == lang}):
            ths = sorted({r["threads"] for r in mt if r["lang"] == lang and r["size"] == size})
            imps = list(dict.fromkeys(r["impl"] for r in mt if r["lang"] == lang and r["size"] == size))
            runs = max((r.get("runs") or 0 for r in mt if r["lang"] == lang and r["size"] == size), default=runs)
            out += [f"### {lang}: {fmt_size(size)} records, 1 MiB ring ({runs} runs a cell)", ""]
            if lang == "rust":
                out += [
                    "| writers | impl | records/s | vs floor | vs mutex | p50 | p99 | p99.9 | max "
                    "| p99.9 vs mutex | failed writes/s |",
                    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
                ]
                for t in ths:
                    for imp in imps:
                        def g(metric: str, imp: str = imp, t: int = t) -> str:
                            return with_spread(ix.get((lang, size, t, imp, metric)))

                        out.append(
                            f"| {t} | {imp} | {g('throughput')} | {g('throughput vs floor')} | "
                            f"{g('throughput vs mutex')} | {g('p50')} | {g('p99')} | {g('p99.9')} | {g('max')} | "
                            f"{g('p99.9 vs mutex')} | {g('failed')} |"
                        )
            else:
                names = {r["impl"]: r["name"] for r in mt if r["lang"] == lang}
                out += [
                    "| writers | " + " | ".join(f"{names[i]}: records/s" for i in imps) + " | ringlog vs spdlog "
                    "| ringlog failed writes/s |",
                    "|---:|" + "---:|" * (len(imps) + 2),
                ]
                for t in ths:
                    cells = [with_spread(ix.get((lang, size, t, i, "throughput"))) for i in imps]
                    out.append(
                        f"| {t} | " + " | ".join(cells) + " | "
                        f"{with_spread(ix.get((lang, size, t, 'ringlog', 'throughput vs spdlog')))} | "
                        f"{with_spread(ix.get((lang, size, t, 'ringlog', 'failed')))} |"
                    )
            out.append("")
    return out


def wake_cost(rows: list[Row]) -> list[str]:
    ix = index(rows, "readers")
    counts = sorted({r["readers"] for r in rows if r.get("readers") is not None and r.get("impl") == "ringlog"})
    runs = max((r.get("runs") or 0 for r in rows), default=0)
    out = [
        "The time one `ring.write` of 64 B takes when it wakes N readers asleep in a blocking read on an",
        "otherwise idle 1 MiB ring (left alone for 20 ms before each write, far longer than a reader spins;",
        "*woke* is the share of the timed writes that counted a wake-up in `Ring::stats().wakeups`), against a",
        "write with no reader timed the same way, and against the floor: one `FUTEX_WAKE` system call waking one",
        "thread asleep in `FUTEX_WAIT`, timed the same way. *writer's CPU* is the writing thread's CPU time over",
        "the write (`CLOCK_THREAD_CPUTIME_ID`, two clock reads included: see the row with no reader);",
        "*preempted* the share of writes during which the scheduler took the writer's core (an involuntary",
        "context switch): on 2 cores, the readers a write wakes compete with the writer for a core, and a",
        "preempted write's wall time includes their turn. Medians over "
        f"{runs} runs (min-max over the runs in parentheses); each ratio is the median of each run's ratio.",
        "",
        "| readers | p50 | p99 | p50 vs no reader | p50 vs futex floor | writer's CPU p50 | preempted | woke |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    floor = ("rust", 0, 1, "floor")
    if ix.get(floor + ("p50",)) is not None:
        out.append(
            f"| floor: FUTEX_WAKE of 1 | {with_spread(ix.get(floor + ('p50',)))} | {with_spread(ix.get(floor + ('p99',)))} "
            "| | | | | |"
        )
    for n in counts:
        def g(metric: str, n: int = n) -> str:
            return with_spread(ix.get(("rust", 64, n, "ringlog", metric)))

        cpu = g("writer's CPU p50")
        out.append(
            f"| {n} | {g('p50')} | {g('p99')} | {g('p50 vs no reader')} | {g('p50 vs futex floor')} | "
            f"{cpu} | {g('preempted')} | {g('woke')} |"
        )
    out.append("")
    return out


def issue_targets(rows: list[Row]) -> list[str]:
    """The targets of the write protocol (issue 8), from the many-writers and
    wake-cost rows: throughput at least 0.8x the floor's and at least the
    mutex ring's with 2 or more writers, p99.9 no worse than the mutex
    ring's, one writer of 64 B within 1.3x of the floor (0.77x its
    throughput), a write waking 64 sleeping readers under 10 us (p50)."""
    mw = index([r for r in rows if r.get("group") == "many writers"], "threads")
    wk = index([r for r in rows if r.get("group") == "wake cost"], "readers")
    out: list[str] = []

    def line(what: str, r: Row | None, ok: Any, want: str) -> None:
        if r is None or r.get("value") is None:
            return
        out.append(f"| {what} | {with_spread(r)} | {want} | {'met' if ok(r['value']) else '**not met**'} |")

    for size in (64, 1024):
        for t in (1, 2, 4, 8, 32):
            k = ("rust", size, t, "ringlog")
            if t == 1:
                if size == 64:
                    line(f"{fmt_size(size)}, 1 writer: throughput vs floor", mw.get(k + ("throughput vs floor",)),
                         lambda v: v >= 1 / 1.3, ">= 0.77x (time within 1.3x)")
                continue
            line(f"{fmt_size(size)}, {t} writers: throughput vs floor", mw.get(k + ("throughput vs floor",)),
                 lambda v: v >= 0.8, ">= 0.80x")
            line(f"{fmt_size(size)}, {t} writers: throughput vs mutex", mw.get(k + ("throughput vs mutex",)),
                 lambda v: v >= 1.0, ">= 1.00x")
            line(f"{fmt_size(size)}, {t} writers: p99.9 vs mutex", mw.get(k + ("p99.9 vs mutex",)),
                 lambda v: v <= 1.0, "<= 1.00x")
    line("a write waking 64 sleeping readers: p50", wk.get(("rust", 64, 64, "ringlog", "p50")),
         lambda v: v < 10_000, "< 10 us")
    if not out:
        return []
    return [
        "## Targets of the write protocol (many writers, wake-ups)",
        "",
        "Medians with the min-max over the runs; ratios are the median of each run's ratio (tables below).",
        "",
        "| what | measured | target | |",
        "|---|---:|---:|---|",
        *out,
        "",
    ]


# Groups with a table of their own (their rows carry metric, impl, min, max).
SPECIAL = {"many writers": many_writers, "wake cost": wake_cost}


def plot(rows: list[Row], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    series = {
        ("rust", "memcpy (the limit)"): "memcpy (the limit)",
        ("rust", "ringlog Ring::write"): "ringlog Ring::write",
        ("c++", "ringlog ring_write (libringlog.so)"): "ringlog ring_write (C, .so)",
        ("rust", "Mutex<VecDeque<u8>> ring"): "Mutex<VecDeque<u8>>",
        ("rust", "ringbuf HeapRb<u8> push_slice_overwrite (no framing)"): "ringbuf crate (no framing)",
        ("rust", "tokio broadcast, 1 receiver(s)"): "tokio broadcast (1 receiver)",
        ("c++", "spdlog ringbuffer_sink_mt::log"): "spdlog ringbuffer_sink",
    }
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    for (lang, name), label in series.items():
        pts = sorted(
            (r["size"], r["value"])
            for r in rows
            if r["lang"] == lang and r["name"] == name and r.get("ring") == 1 << 20 and r["unit"] == "ns/record"
        )
        if not pts:
            continue
        xs = [p[0] for p in pts]
        style = "k--" if "memcpy" in label else ("-o" if "ringlog" in label else ":s")
        ax1.plot(xs, [p[1] for p in pts], style, label=label)
        ax2.plot(xs, [p[0] / p[1] for p in pts], style, label=label)
    for ax, ylabel in ((ax1, "ns per record (lower is better)"), (ax2, "GB/s of payload (higher is better)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("record size (bytes)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    ax1.set_title("One writer, 1 MiB ring")
    ax2.set_title("One writer, 1 MiB ring")
    ax2.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("out_dir")
    p.add_argument("rows", nargs="+")
    p.add_argument("--command", default="scripts/bench")
    args = p.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = load(args.rows)
    have_plot = plot(rows, out / "performance.png")

    lines = [
        "# ringlog performance",
        "",
        f"Generated by `{args.command}` on {datetime.date.today().isoformat()}; machine: {machine()}.",
        "Every value is a median over repeated runs; every ratio compares two values measured in the same run",
        "(the machine is shared and noisy: compare ratios, not absolute times, across runs).",
        "Instruction counts come from callgrind and repeat exactly for the same binary.",
        "",
    ]
    targets = [r for r in rows if r.get("target") is not None and ratio(r) is not None]
    if targets:
        lines += ["## Targets", "", "| lang | ring | size | what | vs | ratio | target |", "|---|---|---:|---|---|---:|---|"]
        for r in targets:
            lines.append(
                f"| {r['lang']} | {fmt_ring(r.get('ring', 0))} | {fmt_size(r.get('size', 0))} | {r['name']} | "
                f"{r.get('baseline')} | {ratio(r):.2f}x | {verdict(r)} |"
            )
        lines.append("")
    lines += issue_targets(rows)
    if have_plot:
        lines += ["## Plot", "", "![ns per record and GB/s against record size](performance.png)", ""]
    analysis = Path(__file__).with_name("analysis.md")
    if analysis.exists():
        lines += [analysis.read_text().strip(), ""]
    groups: dict[str, list[Row]] = collections.defaultdict(list)
    for r in rows:
        groups[r["group"]].append(r)
    for g, rs in groups.items():
        special = SPECIAL.get(g)
        lines += [f"## {g}", ""] + (special(rs) if special else table(rs) + [""])
    (out / "PERFORMANCE.md").write_text("\n".join(lines))
    print(f"wrote {out / 'PERFORMANCE.md'}" + (f" and {out / 'performance.png'}" if have_plot else " (no plot: matplotlib missing)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
