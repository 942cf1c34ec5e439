//! Regression tests for races found in review: each one failed before its
//! fix (the race rates in the comments were measured in release builds).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ringbuf_core::{Error, Ring, Start};

fn spin(n: u64) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}

/// `snapshot` read `head`, then `tail`; writers could evict past that head
/// in between, and `head - tail` underflowed (a panic within seconds).
#[test]
fn snapshot_while_writers_lap_the_ring_many_times() {
    let _dog = common::watchdog("snapshot_while_writers_lap", Duration::from_secs(60));
    let ring = Ring::with_capacity_unchecked(64).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3u8)
        .map(|w| {
            let (ring, stop) = (ring.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // A 64-byte ring holds two of these records and three
                    // writers lap it during one copy: the contract lets a
                    // write be refused with Busy there (nothing written).
                    match ring.write(&[w; 16]) {
                        Ok(_) | Err(Error::Busy) => {}
                        Err(e) => panic!("{e:?}"),
                    }
                }
            })
        })
        .collect();
    let t = Instant::now();
    let mut snapshots = 0u64;
    while t.elapsed() < Duration::from_secs(2) || snapshots == 0 {
        let s = ring.snapshot().unwrap();
        assert!(s.len() <= 64);
        // Whole 16-byte records of one writer each.
        assert_eq!(s.len() % 16, 0);
        for rec in s.chunks(16) {
            assert!(rec.iter().all(|&b| b == rec[0] && b < 3), "torn record in snapshot: {rec:?}");
        }
        snapshots += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(snapshots > 0);
}

/// A `Start::Oldest` reader created on an empty ring while the first write
/// was between storing `next_seq` and publishing `head` skipped record 0
/// silently (about 4 rounds in 1000).
#[test]
fn an_oldest_reader_racing_the_first_write_never_skips_it() {
    let _dog = common::watchdog("oldest_racing_first_write", Duration::from_secs(120));
    let rounds: u64 = common::scaled(if cfg!(debug_assertions) { 20_000 } else { 200_000 });
    let slot: Arc<Mutex<Option<Ring>>> = Arc::new(Mutex::new(None));
    let go = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let writer = {
        let (slot, go, done) = (slot.clone(), go.clone(), done.clone());
        thread::spawn(move || {
            for r in 1..=rounds {
                while go.load(Ordering::Acquire) < r {
                    spin(1);
                }
                let ring = slot.lock().unwrap().clone().unwrap();
                spin(r % 64);
                ring.write(b"x").unwrap();
                drop(ring);
                done.fetch_add(1, Ordering::Release);
            }
        })
    };
    for r in 1..=rounds {
        let ring = Ring::with_capacity_unchecked(1024).unwrap();
        *slot.lock().unwrap() = Some(ring.clone());
        go.store(r, Ordering::Release);
        spin((r / 64) % 64);
        let mut rd = ring.reader(Start::Oldest).unwrap();
        while done.load(Ordering::Acquire) < r {
            spin(1);
        }
        match rd.try_next() {
            Ok(rec) => assert_eq!((rec.seq, rec.lost), (0, 0), "round {r}"),
            Err(e) => panic!("round {r}: record 0 is retained but the Oldest reader got {e:?} ({rd:?})"),
        }
        *slot.lock().unwrap() = None;
    }
    writer.join().unwrap();
}

/// Records a reader skips (before its `Start::Seq`) count as read for a
/// flush, also when the reader only polls.
#[test]
fn records_skipped_by_a_polling_reader_do_not_hold_up_flush() {
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Seq(5)).unwrap();
    for _ in 0..3 {
        ring.write(b"before the wanted seq").unwrap();
    }
    assert_eq!(rd.try_next(), Err(Error::Timeout));
    assert!(ring.flush_timeout(Duration::ZERO).is_ok(), "the reader is past every record written");
}
