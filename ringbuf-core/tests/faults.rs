//! What a panic inside ringlog does (cargo feature `fault-injection`):
//! the caller sees the panic; the ring is still correct, or refuses further
//! calls (`Error::Poisoned`); it is never half-updated and nobody hangs.
//!
//!     cargo test -p ringbuf-core --features fault-injection --test faults
#![cfg(feature = "fault-injection")]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use ringbuf_core::fault::{panic_at, Point};
use ringbuf_core::{Error, Ring, Start};

/// The hook is process-wide: these tests take turns.
static TURN: Mutex<()> = Mutex::new(());

#[test]
fn a_panic_in_a_read_leaves_the_record_for_the_next_call() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest);
    ring.write(b"zero").unwrap();
    panic_at(Point::ReaderBeforeDeliver);
    assert!(catch_unwind(AssertUnwindSafe(|| rd.try_next())).is_err());
    let rec = rd.try_next().unwrap();
    assert_eq!((rec.seq, rec.lost, &rec.data[..]), (0, 0, &b"zero"[..]));
}

#[test]
fn panics_in_snapshot_and_flush_change_nothing() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest);
    ring.write(b"kept").unwrap();
    panic_at(Point::Snapshot);
    assert!(catch_unwind(AssertUnwindSafe(|| ring.snapshot())).is_err());
    assert_eq!(ring.snapshot(), b"kept");
    panic_at(Point::Flush);
    assert!(catch_unwind(AssertUnwindSafe(|| ring.flush_timeout(Duration::ZERO))).is_err());
    assert!(!ring.flush_timeout(Duration::ZERO));
    rd.try_next().unwrap();
    assert!(ring.flush_timeout(Duration::ZERO));
}

#[test]
fn a_panic_between_reserve_and_commit_poisons_the_ring_and_nobody_hangs() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let _dog = common::watchdog("poison", Duration::from_secs(30));
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest);
    let mut blocked = ring.reader(Start::Newest);
    let waiter = thread::spawn(move || {
        // Blocks with no timeout; must wake when the ring is poisoned.
        let mut n = 0u64;
        loop {
            match blocked.next_timeout(Duration::from_secs(3600)) {
                Ok(_) => n += 1,
                Err(e) => return (n, e),
            }
        }
    });
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let (ring, outcomes) = (ring.clone(), outcomes.clone());
            thread::spawn(move || {
                let mut ok = 0u64;
                let end = loop {
                    match catch_unwind(AssertUnwindSafe(|| ring.write(&[7; 8]))) {
                        Ok(Ok(_)) => ok += 1,
                        Ok(Err(e)) => break format!("{e:?}"),
                        Err(_) => break "panic".to_owned(),
                    }
                };
                outcomes.lock().unwrap().push((ok, end));
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(20));
    panic_at(Point::WriteBeforeCommit);
    for w in writers {
        w.join().unwrap();
    }
    let outcomes = outcomes.lock().unwrap().clone();
    let ends: Vec<&str> = outcomes.iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(ends.iter().filter(|e| **e == "panic").count(), 1, "{ends:?}");
    assert_eq!(ends.iter().filter(|e| **e == "Poisoned").count(), 2, "{ends:?}");
    assert!(ring.is_poisoned() && ring.is_closed());
    assert_eq!(ring.write(b"late"), Err(Error::Poisoned));
    // Readers get every committed record, then the end.
    let committed: u64 = outcomes.iter().map(|(ok, _)| ok).sum();
    let mut accounted = 0;
    loop {
        match rd.next_timeout(Duration::from_secs(3600)) {
            Ok(rec) => {
                assert_eq!(rec.data, [7; 8]);
                accounted += 1 + rec.lost;
            }
            Err(e) => {
                assert_eq!(e, Error::Poisoned);
                break;
            }
        }
    }
    assert_eq!(accounted, committed);
    let (_, end) = waiter.join().unwrap();
    assert_eq!(end, Error::Poisoned);
    assert!(!ring.snapshot().is_empty(), "what was committed can still be dumped");
    // Other rings are unaffected.
    let other = Ring::new(4096).unwrap();
    assert_eq!(other.write(b"fine"), Ok(0));
}
