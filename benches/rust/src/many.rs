//! Many writers sharing one ring, and the cost of a write that wakes
//! sleeping readers.
//!
//! Writers: for each record size and writer count, three shared rings of
//! 1 MiB with ringlog's framing take turns within every repeat (the order
//! rotates), so that each ratio compares runs made seconds apart:
//!
//! * `floor`: [`FloorRing`], a `fetch_add` and a copy per record, nothing
//!   else: the least work a shared ring can do per record. (Not always the
//!   most records per second: when writers contend, a lock that lets one
//!   thread write a long stretch alone moves fewer cache lines between
//!   cores, and the `mutex` row can come out ahead.)
//! * `mutex`: [`FramedMutexRing`], the `Mutex` ring users would write;
//! * `ringlog`: `Ring::write` on one ring shared by all the writers.
//!
//! Each run makes a ring, writes it once all round (warm), starts the
//! writers together (a barrier), lets them write back to back until a
//! common deadline (see [`run`]), and divides the records written by the
//! time from the first writer's start to the deadline. Every 64th write is
//! timed alone with a pair of cheap clock reads (`rdtsc` on x86_64,
//! calibrated once against `Instant`) into a buffer allocated and touched
//! before the runs ([`Samples`]); the percentiles are those of the timed
//! writes of all threads together, per run. Every value reported is the
//! median over the repeats, with the min and max beside it; a ratio is the
//! median of the ratios of each repeat.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use ringbuf_core::{Reader, Ring, Start};

use crate::measure::{Plan, Row, Spread};
use crate::payload;
use crate::peers::{framed_size, FloorRing, FramedMutexRing};

// ---- every call into ringlog these rows make ----------------------------------

fn ringlog_new(cap: usize) -> Ring {
    Ring::new(cap).expect("Ring::new")
}

/// One write: true when it was taken, false when the ring refused it (any
/// `Err`, such as a writer turned away as busy): counted, never a panic.
#[inline]
fn ringlog_write(ring: &Ring, data: &[u8]) -> bool {
    ring.write(data).is_ok()
}

/// A reader of the records written from now on.
fn ringlog_reader(ring: &Ring) -> Reader {
    ring.reader(Start::Newest).expect("Ring::reader")
}

/// Blocks (spins briefly, then sleeps) until the next record; false at the
/// end of the ring (closed) or on any error.
fn ringlog_next(reader: &mut Reader, buf: &mut [u8]) -> bool {
    reader.next_into(buf, None).is_ok()
}

/// How many times writes so far woke sleeping readers.
fn ringlog_wakeups(ring: &Ring) -> u64 {
    ring.stats().wakeups
}

fn ringlog_close(ring: &Ring) {
    ring.close().expect("Ring::close");
}

// ---- a cheap clock ----------------------------------------------------------------

mod clock {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    /// A timestamp in ticks: the time-stamp counter on x86_64 (a constant
    /// rate on CPUs with `constant_tsc`; on the 2-core VM of scripts/bench
    /// it moves in steps of about 10 ns, and an empty timed pair reads as
    /// one step), else nanoseconds of `Instant`. A sample whose thread moved
    /// to another core between its two reads may be off by the cores'
    /// offset (clamped at zero). The compiler fences keep the compiler from
    /// moving the timed code across a read; the CPU may still overlap a few
    /// instructions with it.
    #[inline(always)]
    pub fn ticks() -> u64 {
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        let t = read();
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        t
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn read() -> u64 {
        // SAFETY: rdtsc exists on every x86_64 CPU and has no preconditions.
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn read() -> u64 {
        static BASE: OnceLock<Instant> = OnceLock::new();
        BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }

    /// Nanoseconds per tick, measured once against `Instant` over 50 ms.
    pub fn ns_per_tick() -> f64 {
        static NS: OnceLock<f64> = OnceLock::new();
        *NS.get_or_init(|| {
            let (t0, i0) = (ticks(), Instant::now());
            std::thread::sleep(Duration::from_millis(50));
            let (t1, i1) = (ticks(), Instant::now());
            (i1 - i0).as_nanos() as f64 / t1.wrapping_sub(t0).max(1) as f64
        })
    }
}

// ---- the shared rings ---------------------------------------------------------------

/// A ring all the writers write to; `write` is false when a write was refused.
trait Shared: Send + Sync + 'static {
    fn write(&self, data: &[u8]) -> bool;
}

impl Shared for FloorRing {
    #[inline]
    fn write(&self, data: &[u8]) -> bool {
        FloorRing::write(self, data);
        true
    }
}

impl Shared for FramedMutexRing {
    #[inline]
    fn write(&self, data: &[u8]) -> bool {
        FramedMutexRing::write(self, data);
        true
    }
}

struct Ringlog(Ring);

impl Shared for Ringlog {
    #[inline]
    fn write(&self, data: &[u8]) -> bool {
        ringlog_write(&self.0, data)
    }
}

/// A ring of `cap` bytes written once all round with records of `data`.
fn warm<T: Shared>(ring: T, cap: usize, data: &[u8]) -> Arc<T> {
    for _ in 0..=cap / framed_size(data.len()) {
        ring.write(data);
    }
    Arc::new(ring)
}

// ---- one run -----------------------------------------------------------------------

/// Every this many writes, one is timed.
const SAMPLE_EVERY: usize = 64;
/// Writes between two looks at the stop flag.
const BATCH: usize = 16;

/// What one run measured.
struct Run {
    /// Writes taken and refused per second, all threads together.
    ok_per_s: f64,
    failed_per_s: f64,
    /// Latency of the timed writes that were taken: p50, p99, p99.9, max, ns.
    lat: [f64; 4],
    /// Timed writes not kept because a thread's buffer was full.
    dropped: u64,
}

/// The latency samples of the writers of a run: one buffer, allocated and
/// touched once, handed out in chunks (a `fetch_add` per 1024 samples), so
/// that a thread that gets more of the CPU keeps more samples and the total
/// is bounded by what the CPUs can write.
struct Samples {
    slots: Box<[AtomicU32]>,
    next: AtomicUsize,
}

/// An unused slot.
const EMPTY: u32 = u32::MAX;
/// Slots a thread claims at a time.
const CHUNK: usize = 1024;

impl Samples {
    /// Room for every 64th write of `cpus` CPUs writing one record per 2 ns
    /// for `run` (far more than any ring here manages).
    fn new(cpus: usize, run: Duration) -> Samples {
        let len = (cpus * run.as_nanos() as usize / 2 / SAMPLE_EVERY).max(CHUNK);
        Samples { slots: (0..len).map(|_| AtomicU32::new(EMPTY)).collect(), next: AtomicUsize::new(0) }
    }

    /// The next chunk of slots for one thread; `None` when all are taken.
    fn claim(&self) -> Option<std::ops::Range<usize>> {
        let start = self.next.fetch_add(CHUNK, Ordering::Relaxed);
        (start + CHUNK <= self.slots.len()).then_some(start..start + CHUNK)
    }

    #[inline]
    fn put(&self, i: usize, ticks: u64) {
        self.slots[i].store(ticks.min(EMPTY as u64 - 1) as u32, Ordering::Relaxed);
    }

    /// Moves the samples of a run (its threads joined) into `out` and
    /// empties the buffer for the next run.
    fn take(&self, out: &mut Vec<u32>) {
        let used = self.next.swap(0, Ordering::Relaxed).min(self.slots.len());
        for s in &self.slots[..used] {
            let v = s.swap(EMPTY, Ordering::Relaxed);
            if v != EMPTY {
                out.push(v);
            }
        }
    }
}

/// `threads` threads write `size`-byte records to `ring` for `run`, timing
/// every 64th write into `samples`.
///
/// The run ends by the writers' own clock: the first writer past the barrier
/// sets the deadline, the first timed write to end after it raises the stop
/// flag, and every writer reads the flag every 16 writes. (The main thread
/// cannot time the run: with 32 writers on 2 cores it gets a core back tens
/// of milliseconds late.) Records are counted from the first writer's start
/// to the deadline; a writer may add up to 16 (more when it was preempted
/// just before the flag went up: at most 64) after the deadline.
fn run<T: Shared>(ring: Arc<T>, size: usize, threads: usize, run: Duration, samples: &Arc<Samples>) -> Run {
    let start = Arc::new(Barrier::new(threads + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Arc::new(AtomicU64::new(0));
    let run_ticks = (run.as_nanos() as f64 / clock::ns_per_tick()) as u64;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (ring, start, stop, deadline, samples) =
                (ring.clone(), start.clone(), stop.clone(), deadline.clone(), samples.clone());
            thread::spawn(move || {
                let data = payload(size);
                let (mut ok, mut failed, mut dropped) = (0u64, 0u64, 0u64);
                let (mut slots, mut full) = (0..0, false);
                start.wait();
                let began = clock::ticks();
                let _ = deadline.compare_exchange(0, began + run_ticks, Ordering::Relaxed, Ordering::Relaxed);
                let end = deadline.load(Ordering::Relaxed);
                let mut batch = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..BATCH - 1 {
                        if ring.write(black_box(&data)) {
                            ok += 1;
                        } else {
                            failed += 1;
                        }
                    }
                    batch += 1;
                    if batch % (SAMPLE_EVERY / BATCH) as u32 != 0 {
                        if ring.write(black_box(&data)) {
                            ok += 1;
                        } else {
                            failed += 1;
                        }
                        continue;
                    }
                    let t0 = clock::ticks();
                    let taken = ring.write(black_box(&data));
                    let t1 = clock::ticks();
                    if taken {
                        ok += 1;
                        if slots.is_empty() && !full {
                            slots = samples.claim().unwrap_or(0..0);
                            full = slots.is_empty();
                        }
                        match slots.next() {
                            Some(i) => samples.put(i, t1.saturating_sub(t0)),
                            None => dropped += 1,
                        }
                    } else {
                        failed += 1;
                    }
                    if t1 >= end {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                (began, end, ok, failed, dropped)
            })
        })
        .collect();
    start.wait();
    let (mut ok, mut failed, mut dropped) = (0u64, 0u64, 0u64);
    let (mut first, mut end) = (u64::MAX, 0);
    for h in handles {
        let (b, e, o, f, d) = h.join().expect("writer thread");
        first = first.min(b);
        end = end.max(e);
        ok += o;
        failed += f;
        dropped += d;
    }
    let mut lat = Vec::new();
    samples.take(&mut lat);
    let secs = end.saturating_sub(first) as f64 * clock::ns_per_tick() / 1e9;
    Run { ok_per_s: ok as f64 / secs, failed_per_s: failed as f64 / secs, lat: percentiles(&mut lat), dropped }
}

/// p50, p99, p99.9 and max of `ticks`, in ns (nearest rank); NaN for none.
fn percentiles(ticks: &mut [u32]) -> [f64; 4] {
    if ticks.is_empty() {
        return [f64::NAN; 4];
    }
    let ns = clock::ns_per_tick();
    let n = ticks.len();
    let mut out = [0.0; 4];
    for (o, q) in out.iter_mut().zip([0.5, 0.99, 0.999]) {
        let k = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
        *o = *ticks.select_nth_unstable(k).1 as f64 * ns;
    }
    out[3] = *ticks.iter().max().unwrap() as f64 * ns;
    out
}

/// The cost of the clock itself: median ns of an empty timed pair, which
/// every latency sample includes.
fn timer_overhead() -> f64 {
    let mut v: Vec<u32> = (0..100_000)
        .map(|_| {
            let t0 = clock::ticks();
            let t1 = clock::ticks();
            t1.saturating_sub(t0) as u32
        })
        .collect();
    percentiles(&mut v)[0]
}

// ---- the rows ----------------------------------------------------------------------

const RING: usize = 1 << 20;
const IMPLS: [(&str, &str); 3] = [
    ("floor", "floor: fetch_add + copy (no eviction)"),
    ("mutex", "Mutex ring, same framing, evicts records"),
    ("ringlog", "ringlog Ring::write"),
];

/// The "many writers" rows: for 64 B and 1 KiB records, 1, 2, 4, 8 and 32
/// writers; `plan` is the threaded plan (its run length and repeats).
pub fn writers(plan: Plan, sizes: &[usize], threads: &[usize]) -> Vec<Row> {
    let mut rows = Vec::new();
    let cpus = thread::available_parallelism().map_or(2, |n| n.get());
    let samples = Arc::new(Samples::new(cpus, plan.run));
    let overhead = timer_overhead();
    rows.push(Row {
        group: "many writers",
        name: "timer: an empty timed pair (part of every latency sample)".into(),
        value: overhead,
        unit: "ns",
        metric: Some("timer"),
        ..Default::default()
    });
    println!("many writers: latency samples include the timer, {overhead:.1} ns (rdtsc pair on x86_64)");
    for &size in sizes {
        for &n in threads {
            let mut runs: [Vec<Run>; 3] = Default::default();
            for rep in 0..plan.repeats {
                for k in 0..3 {
                    let which = (rep + k) % 3;
                    let data = payload(size);
                    let r = match which {
                        0 => run(warm(FloorRing::new(RING), RING, &data), size, n, plan.run, &samples),
                        1 => run(warm(FramedMutexRing::new(RING), RING, &data), size, n, plan.run, &samples),
                        _ => run(warm(Ringlog(ringlog_new(RING)), RING, &data), size, n, plan.run, &samples),
                    };
                    runs[which].push(r);
                }
            }
            rows.extend(rows_of(size, n, &runs));
        }
    }
    rows
}

/// The rows of one (size, threads) cell, printing a line per implementation.
fn rows_of(size: usize, threads: usize, runs: &[Vec<Run>; 3]) -> Vec<Row> {
    let mut rows = Vec::new();
    let spread = |f: &dyn Fn(&Run) -> f64, which: usize| Spread::of(&mut runs[which].iter().map(f).collect::<Vec<_>>());
    // Ratio of implementation `a` to `b`, repeat by repeat.
    let ratio = |f: &dyn Fn(&Run) -> f64, a: usize, b: usize| {
        Spread::of(&mut runs[a].iter().zip(&runs[b]).map(|(x, y)| f(x) / f(y)).collect::<Vec<_>>())
    };
    let tput = |r: &Run| r.ok_per_s;
    let p999 = |r: &Run| r.lat[2];
    for (which, (imp, name)) in IMPLS.iter().enumerate() {
        let row = |metric, unit, s: Spread| Row {
            group: "many writers",
            name: (*name).into(),
            size,
            ring: RING,
            value: s.median,
            unit,
            threads: Some(threads),
            imp: Some(imp),
            metric: Some(metric),
            spread: Some(s),
            ..Default::default()
        };
        let t = spread(&tput, which);
        rows.push(row("throughput", "records/s", t));
        let mut line = format!(
            "many writers  {size:>5} B  {threads:>2} thr  {imp:8} {:8.2} M/s [{:.2}-{:.2}]",
            t.median / 1e6,
            t.min / 1e6,
            t.max / 1e6
        );
        let lat: Vec<Spread> = (0..4).map(|i| spread(&|r: &Run| r.lat[i], which)).collect();
        for (metric, s) in ["p50", "p99", "p99.9", "max"].into_iter().zip(&lat) {
            rows.push(row(metric, "ns", *s));
        }
        if which != 0 {
            let x = ratio(&tput, which, 0);
            rows.push(row("throughput vs floor", "x", x));
            line += &format!("  {:5.2}x floor", x.median);
        }
        if which == 2 {
            let x = ratio(&tput, 2, 1);
            rows.push(row("throughput vs mutex", "x", x));
            let l = ratio(&p999, 2, 1);
            rows.push(row("p99.9 vs mutex", "x", l));
            let f = spread(&|r: &Run| r.failed_per_s, which);
            rows.push(row("failed", "writes/s", f));
            line += &format!("  {:5.2}x mutex  p99.9 {:5.2}x mutex  failed {:.0}/s", x.median, l.median, f.median);
        }
        line += &format!(
            "  p50/p99/p99.9/max {:.0}/{:.0}/{:.0}/{:.0} ns",
            lat[0].median, lat[1].median, lat[2].median, lat[3].median
        );
        let dropped: u64 = runs[which].iter().map(|r| r.dropped).sum();
        if dropped > 0 {
            line += &format!("  ({dropped} timed writes not kept: buffers full)");
        }
        println!("{line}");
    }
    rows
}

// ---- wake cost ---------------------------------------------------------------------

/// How long the readers are left alone before each timed write: far longer
/// than a reader spins (about 90 us) before it sleeps.
const PARK: Duration = Duration::from_millis(20);

/// What the calling thread has used of the CPU (ns) and how often the
/// scheduler took the CPU from it (involuntary context switches): a timed
/// write that was preempted shows wall time the write did not spend.
#[cfg(target_os = "linux")]
fn thread_cpu() -> (f64, i64) {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: rusage is plain integers: all zeros is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: plain out-parameters, valid for the calls.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        libc::getrusage(libc::RUSAGE_THREAD, &mut ru);
    }
    (ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64, ru.ru_nivcsw)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu() -> (f64, i64) {
    (f64::NAN, 0)
}

/// The timed writes of one `wake_run`.
#[derive(Default)]
struct WakeRun {
    /// Wall time of each write (ns).
    lat: Vec<f64>,
    /// CPU time of the writing thread over each write (ns; includes one
    /// clock read, as the row with no reader shows).
    cpu: Vec<f64>,
    /// Writes that woke someone, and writes during which the writer was
    /// preempted.
    woke: usize,
    preempted: usize,
}

/// One `ring.write` of 64 B waking `readers` readers asleep in a blocking
/// read on an otherwise idle ring, `samples` times.
fn wake_run(readers: usize, samples: usize) -> WakeRun {
    let ring = ringlog_new(RING);
    let got = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(Barrier::new(readers + 1));
    let threads: Vec<_> = (0..readers)
        .map(|_| {
            let mut rd = ringlog_reader(&ring);
            let (got, ready) = (got.clone(), ready.clone());
            thread::spawn(move || {
                let mut buf = [0u8; 64];
                ready.wait();
                while ringlog_next(&mut rd, &mut buf) {
                    got.fetch_add(1, Ordering::Release);
                }
            })
        })
        .collect();
    ready.wait();
    let data = payload(64);
    let ns = clock::ns_per_tick();
    let mut run = WakeRun { lat: Vec::with_capacity(samples), cpu: Vec::with_capacity(samples), ..Default::default() };
    let mut written = 0u64;
    for _ in 0..samples {
        thread::sleep(PARK);
        let w = ringlog_wakeups(&ring);
        let (c0, s0) = thread_cpu();
        let t0 = clock::ticks();
        let taken = ringlog_write(&ring, black_box(&data));
        let t1 = clock::ticks();
        let (c1, s1) = thread_cpu();
        if !taken {
            continue;
        }
        written += 1;
        run.lat.push(t1.saturating_sub(t0) as f64 * ns);
        run.cpu.push(c1 - c0);
        run.preempted += usize::from(s1 > s0);
        run.woke += usize::from(ringlog_wakeups(&ring) > w);
        // Every reader has the record before the readers are left to sleep again.
        let until = Instant::now() + Duration::from_secs(2);
        while got.load(Ordering::Acquire) < readers as u64 * written && Instant::now() < until {
            thread::sleep(Duration::from_micros(50));
        }
    }
    ringlog_close(&ring);
    for t in threads {
        t.join().expect("reader thread");
    }
    run
}

/// The floor under any wake-up on this machine: one `FUTEX_WAKE` syscall
/// waking one thread asleep in `FUTEX_WAIT` on a word, timed the same way as
/// `wake_run` times a write, `samples` times (ns of each wake).
#[cfg(target_os = "linux")]
fn futex_floor_run(samples: usize) -> Vec<f64> {
    fn futex(word: &AtomicU32, op: libc::c_int, val: u32) {
        // SAFETY: `word` is a live, aligned u32 for the whole call; no timeout.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                op | libc::FUTEX_PRIVATE_FLAG,
                val,
                std::ptr::null::<libc::timespec>(),
            );
        }
    }
    let word = Arc::new(AtomicU32::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let woken = Arc::new(AtomicU64::new(0));
    let sleeper = {
        let (word, done, woken) = (word.clone(), done.clone(), woken.clone());
        thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                let seen = word.load(Ordering::Acquire);
                futex(&word, libc::FUTEX_WAIT, seen);
                woken.fetch_add(1, Ordering::Release);
            }
        })
    };
    let ns = clock::ns_per_tick();
    let mut lat = Vec::with_capacity(samples);
    for i in 0..samples {
        thread::sleep(PARK);
        word.fetch_add(1, Ordering::Release);
        let t0 = clock::ticks();
        futex(&word, libc::FUTEX_WAKE, 1);
        let t1 = clock::ticks();
        lat.push(t1.saturating_sub(t0) as f64 * ns);
        let until = Instant::now() + Duration::from_secs(2);
        while woken.load(Ordering::Acquire) <= i as u64 && Instant::now() < until {
            thread::sleep(Duration::from_micros(50));
        }
    }
    done.store(true, Ordering::Release);
    word.fetch_add(1, Ordering::Release);
    futex(&word, libc::FUTEX_WAKE, 1);
    sleeper.join().expect("futex sleeper");
    lat
}

#[cfg(not(target_os = "linux"))]
fn futex_floor_run(_samples: usize) -> Vec<f64> {
    Vec::new()
}

/// The "wake cost" rows: p50 and p99 of a write waking 1, 8 and 64
/// sleeping readers and of one with no reader, each repeat measuring every
/// reader count in turn, and the floor: a bare futex wake of one thread.
pub fn wake_cost(repeats: usize, samples: usize) -> Vec<Row> {
    const READERS: [usize; 4] = [0, 1, 8, 64];
    let pct = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(((q * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1)) - 1).copied().unwrap_or(f64::NAN)
    };
    // [reader count][repeat] = (p50, p99, share that woke, cpu p50, share preempted)
    type Repeat = (f64, f64, f64, f64, f64);
    let mut per: Vec<Vec<Repeat>> = vec![Vec::new(); READERS.len()];
    let mut floor: Vec<(f64, f64)> = Vec::new();
    for _ in 0..repeats {
        let mut lat = futex_floor_run(samples);
        if !lat.is_empty() {
            floor.push((pct(&mut lat, 0.5), pct(&mut lat, 0.99)));
        }
        for (i, &n) in READERS.iter().enumerate() {
            let mut r = wake_run(n, samples);
            let k = r.lat.len().max(1) as f64;
            let (woke, preempted) = (r.woke as f64 / k, r.preempted as f64 / k);
            per[i].push((pct(&mut r.lat, 0.5), pct(&mut r.lat, 0.99), woke, pct(&mut r.cpu, 0.5), preempted));
        }
    }
    let mut rows = Vec::new();
    if !floor.is_empty() {
        let p50 = Spread::of(&mut floor.iter().map(|x| x.0).collect::<Vec<_>>());
        let p99 = Spread::of(&mut floor.iter().map(|x| x.1).collect::<Vec<_>>());
        println!(
            "wake cost  floor: FUTEX_WAKE of 1 sleeping thread  p50 {:8.0} ns [{:.0}-{:.0}]  p99 {:8.0} ns [{:.0}-{:.0}]",
            p50.median, p50.min, p50.max, p99.median, p99.min, p99.max
        );
        for (metric, s) in [("p50", p50), ("p99", p99)] {
            rows.push(Row {
                group: "wake cost",
                name: "futex wake of 1 sleeping thread (floor)".to_owned(),
                size: 0,
                ring: 0,
                value: s.median,
                unit: "ns",
                readers: Some(1),
                imp: Some("floor"),
                metric: Some(metric),
                spread: Some(s),
                ..Default::default()
            });
        }
    }
    for (i, &n) in READERS.iter().enumerate() {
        let name = if n == 0 {
            "ring.write, no reader".to_owned()
        } else {
            format!("ring.write waking {n} sleeping reader(s)")
        };
        let row = |metric, unit, s: Spread| Row {
            group: "wake cost",
            name: name.clone(),
            size: 64,
            ring: RING,
            value: s.median,
            unit,
            readers: Some(n),
            imp: Some("ringlog"),
            metric: Some(metric),
            spread: Some(s),
            ..Default::default()
        };
        let p50 = Spread::of(&mut per[i].iter().map(|x| x.0).collect::<Vec<_>>());
        let p99 = Spread::of(&mut per[i].iter().map(|x| x.1).collect::<Vec<_>>());
        let vs = Spread::of(&mut per[i].iter().zip(&per[0]).map(|(x, b)| x.0 / b.0).collect::<Vec<_>>());
        let woke = Spread::of(&mut per[i].iter().map(|x| x.2 * 100.0).collect::<Vec<_>>());
        let cpu = Spread::of(&mut per[i].iter().map(|x| x.3).collect::<Vec<_>>());
        let preempted = Spread::of(&mut per[i].iter().map(|x| x.4 * 100.0).collect::<Vec<_>>());
        println!(
            "wake cost  {n:>2} readers  p50 {:8.0} ns [{:.0}-{:.0}]  p99 {:8.0} ns [{:.0}-{:.0}]  p50 {:6.2}x no reader  \
             woke readers in {:.0}% of writes  writer's CPU p50 {:.0} ns [{:.0}-{:.0}]  preempted in {:.0}% [{:.0}-{:.0}]",
            p50.median,
            p50.min,
            p50.max,
            p99.median,
            p99.min,
            p99.max,
            vs.median,
            woke.median,
            cpu.median,
            cpu.min,
            cpu.max,
            preempted.median,
            preempted.min,
            preempted.max
        );
        rows.push(row("p50", "ns", p50));
        rows.push(row("p99", "ns", p99));
        if n > 0 {
            rows.push(row("p50 vs no reader", "x", vs));
        }
        if n == 1 && !floor.is_empty() {
            let vf = Spread::of(&mut per[i].iter().zip(&floor).map(|(x, f)| x.0 / f.0).collect::<Vec<_>>());
            println!("wake cost   1 reader  p50 {:5.2}x the futex floor [{:.2}-{:.2}]", vf.median, vf.min, vf.max);
            rows.push(row("p50 vs futex floor", "x", vf));
        }
        rows.push(row("woke", "%", woke));
        rows.push(row("writer's CPU p50", "ns", cpu));
        rows.push(row("preempted", "%", preempted));
    }
    rows
}
