//! ringlog's Rust benchmarks. Every comparison is a ratio against a
//! baseline measured in the same run (the machines are shared and noisy);
//! every value is a median over repeated runs. Run through `scripts/bench`.
//!
//! ```text
//! ringlog-bench [--quick] [--json FILE] [--only GROUP]
//! ringlog-bench --instructions write|fill|read N    (for callgrind)
//! ringlog-bench --file-reader PATH drain|latency    (the file rows' child)
//! ```

mod file;
mod many;
mod measure;
mod peers;
mod serve;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use measure::{median_of, ns_per_op, Plan, Row};
use ringbuf_core::{Error, Ring, Start};

// ---- counting allocator: allocations per write ---------------------------------

struct Counting;
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; counting touches only
// a const-initialised thread-local and an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            ALLOC_BYTES.fetch_add(l.size() as u64, Ordering::Relaxed);
        }
        // SAFETY: same contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            ALLOC_BYTES.fetch_add(l.size() as u64, Ordering::Relaxed);
        }
        // SAFETY: same contract.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---- scenarios -------------------------------------------------------------------

const SIZES: [usize; 4] = [64, 256, 1024, 16 * 1024];
const RINGS: [usize; 2] = [1 << 20, 64 << 20];

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

fn write_alone(plan: Plan, cap: usize, size: usize) -> f64 {
    let ring = Ring::new(cap).unwrap();
    let data = payload(size);
    ns_per_op(plan, || {
        ring.write(black_box(&data)).unwrap();
    })
}

fn write_through_c_abi(plan: Plan, cap: usize, size: usize) -> f64 {
    use ringlog::{ring_free, ring_new, ring_write};
    let mut r = std::ptr::null_mut();
    // SAFETY: a valid out-pointer.
    assert_eq!(unsafe { ring_new(cap, &mut r) } as u32, 0);
    let data = payload(size);
    let v = ns_per_op(plan, || {
        // SAFETY: a live handle and `size` readable bytes.
        let res = unsafe { ring_write(r, black_box(data.as_ptr()).cast(), size) };
        debug_assert_eq!(res as u32, 0);
    });
    // SAFETY: made above, freed once.
    unsafe { ring_free(r) };
    v
}

/// The writer's ns per record while `readers` threads read everything with
/// blocking `next_into` (they keep up as far as two cores allow).
fn write_with_readers(plan: Plan, cap: usize, size: usize, readers: usize) -> (f64, f64) {
    let data = payload(size);
    let mut lost_share = Vec::new();
    let ns = median_of(plan, || {
        let ring = warm_ring(cap, &data);
        let start = Arc::new(Barrier::new(readers + 1));
        let rs: Vec<_> = (0..readers)
            .map(|_| {
                let mut rd = ring.reader(Start::Newest).unwrap();
                let start = start.clone();
                thread::spawn(move || {
                    let mut buf = vec![0u8; size];
                    start.wait();
                    let (mut read, mut lost) = (0u64, 0u64);
                    loop {
                        match rd.next_into(&mut buf, None) {
                            Ok(info) => {
                                read += 1;
                                lost += info.lost;
                            }
                            Err(Error::Closed) => return (read, lost),
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                })
            })
            .collect();
        start.wait();
        let (n, elapsed) = write_for(&ring, &data, plan.run);
        ring.close().unwrap();
        for r in rs {
            let (read, lost) = r.join().unwrap();
            lost_share.push(lost as f64 / (read + lost).max(1) as f64);
        }
        elapsed.as_nanos() as f64 / n as f64
    });
    (ns, measure::median(&mut lost_share))
}

/// The floor of the "readers keeping up" rows: one writer of a
/// [`peers::FloorRing`] alone and with `readers` [`peers::FloorReader`]s
/// that, having caught up, look again after 2^10 pauses and then every 2^11
/// (as ringlog's readers, which sleep after that): (ns per record alone,
/// ns per record with the readers, share of records the readers lost).
fn floor_with_readers(plan: Plan, cap: usize, size: usize, readers: usize) -> (f64, f64, f64) {
    let data = payload(size);
    let ring = peers::FloorRing::new(cap);
    for _ in 0..=(cap / data.len().max(1)) {
        ring.write(&data);
    }
    let alone = median_of(plan, || {
        let (n, elapsed) = floor_write_for(&ring, &data, plan.run);
        elapsed.as_nanos() as f64 / n as f64
    });
    let mut lost_share = Vec::new();
    let with = median_of(plan, || {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let start = Barrier::new(readers + 1);
        thread::scope(|s| {
            let rs: Vec<_> = (0..readers)
                .map(|_| {
                    let mut rd = peers::FloorReader::new(&ring);
                    let (stop, start) = (&stop, &start);
                    s.spawn(move || {
                        let mut buf = vec![0u8; size];
                        start.wait();
                        let (mut read, mut lost, mut round) = (0u64, 0u64, 10);
                        while !stop.load(Ordering::Relaxed) {
                            match rd.try_next(&mut buf) {
                                Some(l) => {
                                    read += 1;
                                    lost += l;
                                    round = 10;
                                }
                                None => {
                                    for _ in 0..1u32 << round {
                                        std::hint::spin_loop();
                                    }
                                    round = 11;
                                }
                            }
                        }
                        (read, lost)
                    })
                })
                .collect();
            start.wait();
            let (n, elapsed) = floor_write_for(&ring, &data, plan.run);
            stop.store(true, Ordering::Relaxed);
            for r in rs {
                let (read, lost) = r.join().unwrap();
                lost_share.push(lost as f64 / (read + lost).max(1) as f64);
            }
            elapsed.as_nanos() as f64 / n as f64
        })
    });
    (alone, with, measure::median(&mut lost_share))
}

/// `write_for` on the floor ring.
fn floor_write_for(ring: &peers::FloorRing, data: &[u8], d: Duration) -> (u64, Duration) {
    let t = Instant::now();
    let mut n = 0u64;
    loop {
        for _ in 0..64 {
            ring.write(black_box(data));
        }
        n += 64;
        let e = t.elapsed();
        if e >= d {
            return (n, e);
        }
    }
}

/// A ring whose memory has been written once all round. A new ring's
/// pages are mapped lazily (it is allocated zeroed, through calloc), so its
/// first lap pays a page fault per 4 KiB; the baseline rows run long enough
/// to lap many times, so the rows that make a ring per run start warm too.
fn warm_ring(cap: usize, data: &[u8]) -> Ring {
    let ring = Ring::new(cap).unwrap();
    for _ in 0..=(cap / data.len().max(1)) {
        ring.write(data).unwrap();
    }
    ring
}

/// Writes `data` in batches until `d` has passed; (records, time).
fn write_for(ring: &Ring, data: &[u8], d: Duration) -> (u64, Duration) {
    let t = Instant::now();
    let mut n = 0u64;
    loop {
        for _ in 0..64 {
            ring.write(data).unwrap();
        }
        n += 64;
        let e = t.elapsed();
        if e >= d {
            return (n, e);
        }
    }
}

/// tokio's broadcast channel (many receivers, lag reported), `readers`
/// receivers blocking in `blocking_recv`; the sender's ns per message.
fn broadcast_with_readers(plan: Plan, cap: usize, size: usize, readers: usize) -> f64 {
    use tokio::sync::broadcast;
    let data = payload(size);
    let slots = (cap / (size + 16)).next_power_of_two().max(2);
    median_of(plan, || {
        let (tx, _) = broadcast::channel::<Vec<u8>>(slots);
        let start = Arc::new(Barrier::new(readers + 1));
        let rs: Vec<_> = (0..readers)
            .map(|_| {
                let mut rx = tx.subscribe();
                let start = start.clone();
                thread::spawn(move || {
                    start.wait();
                    loop {
                        match rx.blocking_recv() {
                            Ok(v) => {
                                black_box(v);
                            }
                            Err(broadcast::error::RecvError::Lagged(_)) => {}
                            Err(broadcast::error::RecvError::Closed) => return,
                        }
                    }
                })
            })
            .collect();
        start.wait();
        let t = Instant::now();
        let mut n = 0u64;
        let elapsed = loop {
            for _ in 0..64 {
                let _ = tx.send(data.clone());
            }
            n += 64;
            let e = t.elapsed();
            if e >= plan.run {
                break e;
            }
        };
        drop(tx);
        for r in rs {
            r.join().unwrap();
        }
        elapsed.as_nanos() as f64 / n as f64
    })
}

/// A reader draining a full ring: GB/s of payload.
fn drain(plan: Plan, cap: usize, size: usize) -> f64 {
    let ring = Ring::new(cap).unwrap();
    let data = payload(size);
    for _ in 0..(2 * cap / size) {
        ring.write(&data).unwrap();
    }
    let mut buf = vec![0u8; size];
    median_of(plan, || {
        let mut rd = ring.reader(Start::Oldest).unwrap();
        let t = Instant::now();
        let mut bytes = 0usize;
        while let Ok(info) = rd.next_into(&mut buf, Some(Duration::ZERO)) {
            bytes += info.len;
        }
        black_box(&buf);
        bytes as f64 / t.elapsed().as_nanos() as f64 // bytes per ns = GB/s
    })
}

/// Latency from a write to a reader parked in `next`: (p50, p99) in us.
fn wake_latency(samples: usize) -> (f64, f64) {
    let ring = Ring::new(1 << 20).unwrap();
    let base = Instant::now();
    let mut rd = ring.reader(Start::Newest).unwrap();
    let r = thread::spawn(move || {
        let mut lat = Vec::with_capacity(samples);
        let mut buf = [0u8; 8];
        while let Ok(info) = rd.next_into(&mut buf, None) {
            let sent = u64::from_le_bytes(buf[..info.len].try_into().unwrap());
            lat.push((base.elapsed().as_nanos() as u64 - sent) as f64 / 1000.0);
        }
        lat
    });
    for _ in 0..samples {
        thread::sleep(Duration::from_micros(500)); // the reader parks meanwhile
        ring.write(&(base.elapsed().as_nanos() as u64).to_le_bytes()).unwrap();
    }
    ring.close().unwrap();
    let mut lat = r.join().unwrap();
    let p = |q: f64, v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[((v.len() - 1) as f64 * q) as usize]
    };
    (p(0.5, &mut lat), p(0.99, &mut lat))
}

/// Bytes allocated by `f` on this thread.
fn bytes_allocated<T>(f: impl FnOnce() -> T) -> (T, u64) {
    ALLOC_BYTES.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    let v = f();
    COUNTING.with(|c| c.set(false));
    (v, ALLOC_BYTES.load(Ordering::Relaxed))
}

/// Memory: (bytes a ring of `cap` allocates, bytes per reader, bytes
/// allocated by a million writes with a reader reading them).
fn memory(cap: usize) -> (u64, u64, u64) {
    let (ring, ring_bytes) = bytes_allocated(|| Ring::new(cap).unwrap());
    let (mut readers, reader_bytes) =
        bytes_allocated(|| (0..10).map(|_| ring.reader(Start::Oldest).unwrap()).collect::<Vec<_>>());
    let data = payload(64);
    let mut buf = [0u8; 64];
    let ((), write_bytes) = bytes_allocated(|| {
        for _ in 0..1_000_000 {
            ring.write(&data).unwrap();
            let _ = readers[0].next_into(&mut buf, Some(Duration::ZERO));
        }
    });
    readers.clear();
    (ring_bytes, reader_bytes / 10, write_bytes)
}

fn allocations_per_write(n: u64) -> f64 {
    let ring = Ring::new(1 << 20).unwrap();
    let data = payload(64);
    ALLOCS.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    for _ in 0..n {
        ring.write(&data).unwrap();
    }
    COUNTING.with(|c| c.set(false));
    ALLOCS.load(Ordering::Relaxed) as f64 / n as f64
}

// ---- callgrind mode -------------------------------------------------------------

/// `--instructions OP N`: does OP N times and nothing else, so that the
/// difference of two callgrind counts (N and 2N) is the cost of N ops.
fn instructions(op: &str, n: u64) {
    let ring = Ring::new(1 << 20).unwrap();
    let data = payload(64);
    let mut rd = ring.reader(Start::Oldest).unwrap();
    let mut buf = [0u8; 64];
    match op {
        "write" => {
            for _ in 0..n {
                ring.write(black_box(&data)).unwrap();
            }
        }
        // Writes and reads one record at a time: minus "write" = a read.
        "writeread" => {
            for _ in 0..n {
                ring.write(black_box(&data)).unwrap();
                rd.next_into(&mut buf, Some(Duration::ZERO)).unwrap();
            }
        }
        _ => panic!("unknown op {op}"),
    }
    black_box(&buf);
}

// ---- the run --------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--instructions") {
        instructions(&args[i + 1], args[i + 2].parse().unwrap());
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--file-reader") {
        file::child(&args[i + 1], &args[i + 2]);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let plan = if quick { Plan::quick() } else { Plan::full() };
    let json = args.iter().position(|a| a == "--json").map(|i| args[i + 1].clone());
    // `--only GROUP`: just the rows of groups containing GROUP (profiling).
    let only = args.iter().position(|a| a == "--only").map(|i| args[i + 1].clone());
    let on = |group: &str| only.as_ref().is_none_or(|o| group.contains(o.as_str()));
    let (sizes, rings): (&[usize], &[usize]) = if quick { (&[64, 1024], &RINGS[..1]) } else { (&SIZES, &RINGS) };

    let mut rows: Vec<Row> = Vec::new();
    let mut push = |row: Row| {
        if row.metric.is_none() {
            print_row(&row); // rows with a metric print a summary of their own
        }
        rows.push(row);
    };
    for &cap in rings {
        for &size in sizes {
            let mut m = peers::Memcpy::new(cap, size);
            let memcpy = ns_per_op(plan, || m.copy());
            let alone = write_alone(plan, cap, size);
            let target = match size {
                64 => Some(8.0),
                1024 => Some(2.0),
                16384 => Some(1.2),
                _ => None,
            };
            let row = |group, name: &str, value, baseline: Option<(&str, f64)>, target| Row {
                group,
                name: name.to_owned(),
                size,
                ring: cap,
                value,
                unit: "ns/record",
                baseline: baseline.map(|(n, v)| (n.to_owned(), v)),
                target,
                ..Default::default()
            };
            let data = payload(size);
            if on("one writer") {
                push(row("one writer", "memcpy (the limit)", memcpy, None, None));
                push(row("one writer", "ringlog Ring::write", alone, Some(("memcpy", memcpy)), target));
                let mutex = peers::MutexRing::new(cap);
                push(row(
                    "one writer",
                    "Mutex<VecDeque<u8>> ring",
                    ns_per_op(plan, || mutex.write(black_box(&data))),
                    Some(("memcpy", memcpy)),
                    None,
                ));
                let mut byte_ring = peers::ByteRing::new(cap);
                push(row(
                    "one writer",
                    "ringbuf HeapRb<u8> push_slice_overwrite (no framing)",
                    ns_per_op(plan, || byte_ring.write(&data)),
                    Some(("memcpy", memcpy)),
                    None,
                ));
            }
            if on("C ABI") {
                push(row(
                    "C ABI",
                    "ring_write (extern \"C\", in process)",
                    write_through_c_abi(plan, cap, size),
                    Some(("Ring::write", alone)),
                    Some(1.15),
                ));
            }
            for (readers, tgt) in [(1usize, 1.5), (4, 2.5)].into_iter().filter(|_| on("readers")) {
                let (ns, lost) = write_with_readers(plan.threaded(), cap, size, readers);
                push(row(
                    "readers keeping up",
                    &format!("ringlog, {readers} reader(s) (they lost {:.1}%)", lost * 100.0),
                    ns,
                    Some(("one writer, no reader", alone)),
                    Some(tgt),
                ));
                let (floor_alone, floor_with, floor_lost) = floor_with_readers(plan.threaded(), cap, size, readers);
                push(row(
                    "readers keeping up",
                    &format!("floor ring, {readers} floor reader(s) (they lost {:.1}%)", floor_lost * 100.0),
                    floor_with,
                    Some(("floor ring, no reader", floor_alone)),
                    None,
                ));
                push(row(
                    "readers keeping up",
                    &format!("tokio broadcast, {readers} receiver(s)"),
                    broadcast_with_readers(plan.threaded(), cap, size, readers),
                    Some(("ringlog, no reader", alone)),
                    None,
                ));
            }
            if on("draining") {
                push(Row {
                    group: "draining",
                    name: "a reader draining a full ring".into(),
                    size,
                    ring: cap,
                    value: drain(plan, cap, size),
                    unit: "GB/s",
                    baseline: None,
                    target: None,
                    ..Default::default()
                });
            }
        }
    }
    if on("many writers") {
        for row in many::writers(plan.threaded(), &[64, 1024], &[1, 2, 4, 8, 32]) {
            push(row);
        }
    }
    if on("wake cost") {
        let (repeats, samples) = if quick { (3, 12) } else { (5, 40) };
        for row in many::wake_cost(repeats, samples) {
            push(row);
        }
    }
    if on("serve") {
        for row in serve::rows(plan, quick) {
            push(row);
        }
    }
    let (p50, p99) = wake_latency(if quick { 300 } else { 2000 });
    if on("file ring") {
        for row in file::rows(plan, quick, (p50, p99)) {
            push(row);
        }
    }
    if only.is_some() {
        return;
    }
    for (name, v, target) in [("wake-up latency p50", p50, Some(50.0)), ("wake-up latency p99", p99, None)] {
        push(Row {
            group: "latency",
            name: name.into(),
            size: 8,
            ring: 1 << 20,
            value: v,
            unit: "us",
            baseline: target.map(|t| ("target".to_owned(), t)),
            target: target.map(|_| 1.0),
            ..Default::default()
        });
    }
    for cap in [1usize << 20, 64 << 20] {
        let (ring_bytes, reader_bytes, write_bytes) = memory(cap);
        for (name, v) in [
            ("memory: bytes allocated by Ring::new (capacity + header + bookkeeping)", ring_bytes),
            ("memory: bytes allocated per reader", reader_bytes),
            ("memory: bytes allocated by 1,000,000 writes and reads", write_bytes),
        ] {
            push(Row {
                group: "allocations",
                name: name.into(),
                size: 64,
                ring: cap,
                value: v as f64,
                unit: "bytes",
                baseline: None,
                target: None,
                ..Default::default()
            });
        }
    }
    push(Row {
        group: "allocations",
        name: "allocations per write (64 B)".into(),
        size: 64,
        ring: 1 << 20,
        value: allocations_per_write(1_000_000),
        unit: "allocs",
        baseline: None,
        target: None,
        ..Default::default()
    });
    if let Some(path) = json {
        let text: String = rows.iter().map(|r| r.json() + "\n").collect();
        std::fs::write(&path, text).unwrap();
    }
}

fn print_row(r: &Row) {
    let ring = if r.ring >= 1 << 20 { format!("{}MiB", r.ring >> 20) } else { format!("{}B", r.ring) };
    let ratio = match (&r.baseline, r.ratio()) {
        (Some((b, _)), Some(x)) => format!("{x:6.2}x {b}"),
        _ => String::new(),
    };
    let target = r.target.map_or(String::new(), |t| {
        let ok = r.ratio().is_some_and(|x| x <= t);
        format!("  (target <= {t:.2}x: {})", if ok { "met" } else { "NOT met" })
    });
    println!(
        "{:20} {:6} {:>6} {:58} {:10.2} {:10} {}{}",
        r.group, ring, r.size, r.name, r.value, r.unit, ratio, target
    );
}
