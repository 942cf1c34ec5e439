//! Helpers shared by the integration tests: self-checking records and a
//! watchdog that turns a hang into a failure.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Aborts the test process if the guard is still alive after `limit`: a
/// hang fails loudly instead of stalling CI.
pub struct Watchdog {
    done: Arc<AtomicBool>,
}

pub fn watchdog(name: &'static str, limit: Duration) -> Watchdog {
    // Slow checkers (Miri, sanitizers) stretch every limit by this factor.
    let factor = std::env::var("RINGLOG_WATCHDOG_FACTOR").ok().and_then(|f| f.parse::<u32>().ok()).unwrap_or(1);
    let limit = limit * factor.max(1);
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < limit {
            if flag.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("watchdog: test {name} still running after {limit:?}: aborting");
        std::process::abort();
    });
    Watchdog { done }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// FNV-1a, enough to tell a torn or mixed record from a whole one.
pub fn checksum(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Bytes of the fixed part of a test record.
pub const FIXED: usize = 20;

/// A self-checking record: writer id, per-writer counter, total length,
/// filler derived from (writer, counter), and a checksum of all before it.
pub fn make_record(writer: u32, counter: u64, len: usize) -> Vec<u8> {
    assert!(len >= FIXED);
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&writer.to_le_bytes());
    v.extend_from_slice(&counter.to_le_bytes());
    v.extend_from_slice(&(len as u32).to_le_bytes());
    let seed = (writer as u64) << 32 ^ counter;
    for i in 0..len - FIXED {
        v.push((seed.wrapping_mul(31).wrapping_add(i as u64) % 251) as u8);
    }
    let sum = checksum(&v);
    v.extend_from_slice(&sum.to_le_bytes());
    v
}

/// Checks a record made by `make_record`; returns (writer, counter).
pub fn check_record(data: &[u8]) -> (u32, u64) {
    assert!(data.len() >= FIXED, "record of {} bytes is too short", data.len());
    let len = u32::from_le_bytes(data[12..16].try_into().unwrap()) as usize;
    assert_eq!(len, data.len(), "length field does not match the record");
    let (body, sum) = data.split_at(len - 4);
    assert_eq!(checksum(body), u32::from_le_bytes(sum.try_into().unwrap()), "checksum mismatch: torn record");
    let writer = u32::from_le_bytes(data[0..4].try_into().unwrap());
    let counter = u64::from_le_bytes(data[4..12].try_into().unwrap());
    assert_eq!(&make_record(writer, counter, len)[..], data, "filler mismatch");
    (writer, counter)
}

/// What a checking reader saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub read: u64,
    pub lost: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
}

/// Per-record checks of a reader's stream: seqs strictly increase, each gap
/// equals the lost reported, each writer's counters strictly increase.
pub struct Checker {
    pub tally: Tally,
    last_counter: Vec<Option<u64>>,
    start_seq: u64,
}

impl Checker {
    /// A checker for a reader that starts at `start_seq`, with `writers`
    /// writers.
    pub fn new(start_seq: u64, writers: usize) -> Checker {
        Checker { tally: Tally::default(), last_counter: vec![None; writers], start_seq }
    }

    pub fn see(&mut self, seq: u64, lost: u64, data: &[u8]) {
        let expected = self.tally.last_seq.map_or(self.start_seq, |s| s + 1);
        assert_eq!(seq, expected + lost, "seq {seq} after {:?} with lost {lost}", self.tally.last_seq);
        let (w, c) = check_record(data);
        let last = &mut self.last_counter[w as usize];
        if let Some(prev) = *last {
            assert!(c > prev, "writer {w}: counter {c} after {prev}");
        }
        *last = Some(c);
        self.tally.first_seq.get_or_insert(seq);
        self.tally.last_seq = Some(seq);
        self.tally.read += 1;
        self.tally.lost += lost;
    }

    /// read + lost must cover every record from the start to `written`,
    /// with the losses the reader's `lost_total` counts (also those no
    /// record came after: dead records at the end of a closed ring).
    pub fn finish_with_total(&self, written: u64, lost_total: u64) {
        assert!(lost_total >= self.tally.lost, "lost_total {lost_total} < reported {}", self.tally.lost);
        assert_eq!(
            self.tally.read + lost_total,
            written - self.start_seq,
            "read {} + lost_total {} != written {} since seq {}",
            self.tally.read,
            lost_total,
            written,
            self.start_seq
        );
    }

    /// read + lost must cover every record from the start to `written`.
    pub fn finish(&self, written: u64) {
        assert_eq!(
            self.tally.read + self.tally.lost,
            written - self.start_seq,
            "read {} + lost {} != written {} since seq {}",
            self.tally.read,
            self.tally.lost,
            written,
            self.start_seq
        );
    }
}

/// `n` divided by RINGLOG_TEST_DIV (default 1): slow checkers (sanitizers,
/// Miri) run the same tests with less work.
pub fn scaled(n: u64) -> u64 {
    let div = std::env::var("RINGLOG_TEST_DIV").ok().and_then(|d| d.parse::<u64>().ok()).unwrap_or(1).max(1);
    (n / div).max(1)
}
