//! The ring in a file against the ring in memory, in the same run: one
//! writer, 2 and 8 writer threads, one reader in another process, and the
//! wake-up latency of a reader in another process (issue 9's targets:
//! writes within 1.1x of memory, cross-process wake-up p50 under 50 us).
//!
//! Runs alternate between the two rings (memory, file, memory, file, ...),
//! so that a noisy period of the shared machine hits both; each row is the
//! median over the runs with its spread, and its ratio to the memory row.

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::measure::{Plan, Row, Spread};
use ringbuf_core::{Ring, Start};

const CAP: usize = 1 << 20;

/// A fresh ring file path in the temp directory.
fn temp_ring(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("ringlog-bench-{}-{tag}.ring", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// CLOCK_MONOTONIC in ns: one clock for every process.
fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Total ns per record of `threads` writers writing `size`-byte records
/// into `ring` for `run`.
fn writers_run(ring: &Ring, threads: usize, size: usize, run: Duration) -> f64 {
    let data = vec![0x5au8; size];
    let start = Arc::new(Barrier::new(threads + 1));
    let total: u64 = thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let (start, data) = (start.clone(), &data);
                s.spawn(move || {
                    start.wait();
                    let t = Instant::now();
                    let mut n = 0u64;
                    while t.elapsed() < run {
                        for _ in 0..64 {
                            let _ = ring.write(black_box(data));
                        }
                        n += 64;
                    }
                    n
                })
            })
            .collect();
        start.wait();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    run.as_nanos() as f64 / total as f64
}

/// Alternating runs of `f(memory ring)` and `f(file ring)`.
fn alternate(plan: Plan, tag: &str, mut f: impl FnMut(&Ring) -> f64) -> (Spread, Spread) {
    let mem = Ring::new(CAP).unwrap();
    let path = temp_ring(tag);
    let file = Ring::open_file(&path, CAP).unwrap();
    // Warm both: every page of the file touched once.
    for r in [&mem, &file] {
        for _ in 0..(2 * CAP / 64) {
            r.write(&[0u8; 48]).unwrap();
        }
    }
    let (mut m, mut fl) = (Vec::new(), Vec::new());
    for _ in 0..plan.repeats {
        m.push(f(&mem));
        fl.push(f(&file));
    }
    drop(file);
    let _ = std::fs::remove_file(&path);
    (Spread::of(&mut m), Spread::of(&mut fl))
}

fn pair_rows(group: &'static str, what: &str, size: usize, threads: usize, mem: Spread, file: Spread) -> [Row; 2] {
    let row = |name: String, s: Spread, baseline: Option<(String, f64)>, target| Row {
        group,
        name,
        size,
        ring: CAP,
        value: s.median,
        unit: "ns/record",
        baseline,
        target,
        threads: Some(threads),
        spread: Some(s),
        ..Default::default()
    };
    [
        row(format!("memory ring, {what}"), mem, None, None),
        row(format!("file ring, {what}"), file, Some(("memory ring".to_owned(), mem.median)), Some(1.1)),
    ]
}

/// The child half of the cross-process rows: `--file-reader PATH MODE`.
/// MODE `drain`: read everything until the ring closes, print "records
/// lost". MODE `latency`: read from the newest record on, each holding the
/// writer's CLOCK_MONOTONIC stamp; print the latencies in ns, one per line.
pub fn child(path: &str, mode: &str) {
    let ring = Ring::open_existing(path).unwrap();
    let mut rd = ring.reader(Start::Newest).unwrap();
    println!("ready");
    let mut buf = vec![0u8; 64 * 1024];
    let (mut n, mut lost) = (0u64, 0u64);
    let mut lat = Vec::new();
    while let Ok(info) = rd.next_into(&mut buf, None) {
        let now = mono_ns();
        n += 1;
        lost += info.lost;
        if mode == "latency" && info.len >= 8 {
            lat.push(now.saturating_sub(u64::from_le_bytes(buf[..8].try_into().unwrap())));
        }
    }
    if mode == "latency" {
        for l in lat {
            println!("{l}");
        }
    } else {
        println!("{n} {lost}");
    }
}

/// Starts `ringlog-bench --file-reader path mode` and waits until its
/// reader exists.
fn spawn_reader(path: &Path, mode: &str) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut c = Command::new(std::env::current_exe().unwrap())
        .args(["--file-reader", path.to_str().unwrap(), mode])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    (c, out)
}

/// Writer ns per record with one reader draining the ring: in another
/// process (file ring) and in a thread (memory ring), alternating runs.
/// Returns (memory, file, lost fraction memory, lost fraction file).
fn with_reader(plan: Plan, size: usize) -> (Spread, Spread, f64, f64) {
    let (mut m, mut f, mut lm, mut lf) = (Vec::new(), Vec::new(), 0.0, 0.0);
    for _ in 0..plan.repeats {
        // Memory ring, reader thread.
        let ring = Ring::new(CAP).unwrap();
        let mut rd = ring.reader(Start::Newest).unwrap();
        let reader = thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let (mut n, mut lost) = (0u64, 0u64);
            while let Ok(i) = rd.next_into(&mut buf, None) {
                n += 1;
                lost += i.lost;
            }
            (n, lost)
        });
        let ns = writers_run(&ring, 1, size, plan.run);
        ring.close().unwrap();
        let (n, lost) = reader.join().unwrap();
        m.push(ns);
        lm += lost as f64 / (n + lost).max(1) as f64;
        // File ring, reader process.
        let path = temp_ring("reader");
        let ring = Ring::open_file(&path, CAP).unwrap();
        let (mut child, mut out) = spawn_reader(&path, "drain");
        let ns = writers_run(&ring, 1, size, plan.run);
        ring.close().unwrap();
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        child.wait().unwrap();
        let v: Vec<f64> = line.split_whitespace().map(|x| x.parse().unwrap()).collect();
        f.push(ns);
        lf += v[1] / (v[0] + v[1]).max(1.0);
        drop(ring);
        let _ = std::fs::remove_file(&path);
    }
    let k = plan.repeats as f64;
    (Spread::of(&mut m), Spread::of(&mut f), lm / k, lf / k)
}

/// Wake-up latency (us) of a reader in another process: p50 and p99 over
/// `samples` writes, each after the reader went to sleep.
fn cross_process_latency(samples: usize) -> (f64, f64) {
    let path = temp_ring("latency");
    let ring = Ring::open_file(&path, CAP).unwrap();
    let (mut child, out) = spawn_reader(&path, "latency");
    for _ in 0..samples {
        thread::sleep(Duration::from_micros(500)); // the reader sleeps meanwhile
        ring.write(&mono_ns().to_le_bytes()).unwrap();
    }
    ring.close().unwrap();
    let mut lat: Vec<f64> = out.lines().map(|l| l.unwrap().parse::<f64>().unwrap() / 1000.0).collect();
    child.wait().unwrap();
    drop(ring);
    let _ = std::fs::remove_file(&path);
    lat.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize];
    (p(0.5), p(0.99))
}

/// Every row of the file-ring group; `in_process` is the in-process
/// wake-up latency (p50, p99) measured in the same run.
pub fn rows(plan: Plan, quick: bool, in_process: (f64, f64)) -> Vec<Row> {
    let mut rows = Vec::new();
    let sizes: &[usize] = if quick { &[64] } else { &[64, 1024] };
    for &size in sizes {
        let data = vec![0x11u8; size];
        let (mem, file) = alternate(plan, "one", |r| {
            let t = Instant::now();
            let mut n = 0u64;
            while t.elapsed() < plan.run {
                for _ in 0..256 {
                    r.write(black_box(&data)).unwrap();
                }
                n += 256;
            }
            t.elapsed().as_nanos() as f64 / n as f64
        });
        rows.extend(pair_rows("file ring", "one writer", size, 1, mem, file));
        for threads in [2usize, 8] {
            let tp = plan.threaded();
            let (mem, file) = alternate(tp, "many", |r| writers_run(r, threads, size, tp.run));
            rows.extend(pair_rows("file ring", &format!("{threads} writers"), size, threads, mem, file));
        }
        let (mem, file, lm, lf) = with_reader(plan.threaded(), size);
        let [mut a, mut b] = pair_rows("file ring", "one writer, one reader draining", size, 1, mem, file);
        a.name = format!("memory ring, one writer, a reader thread (lost {:.1}%)", lm * 100.0);
        b.name = format!("file ring, one writer, a reader in another process (lost {:.1}%)", lf * 100.0);
        rows.extend([a, b]);
    }
    let (p50, p99) = cross_process_latency(if quick { 300 } else { 2000 });
    for (name, v, base, target) in [
        ("wake-up latency p50, reader in another process", p50, in_process.0, Some(50.0)),
        ("wake-up latency p99, reader in another process", p99, in_process.1, None),
    ] {
        rows.push(Row {
            group: "file ring",
            name: name.into(),
            size: 8,
            ring: CAP,
            value: v,
            unit: "us",
            baseline: Some(match target {
                Some(t) => ("target".to_owned(), t),
                None => ("in-process p99".to_owned(), base),
            }),
            target: target.map(|_| 1.0),
            ..Default::default()
        });
    }
    rows
}
