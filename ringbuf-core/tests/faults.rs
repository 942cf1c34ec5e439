//! What a panic inside ringlog does (cargo feature `fault-injection`):
//! the caller sees the panic; the ring is still correct (a write that
//! panicked leaves a dead record that readers count as lost); it is never
//! half-updated and nobody hangs.
//!
//!     cargo test -p ringbuf-core --features fault-injection --test faults
#![cfg(feature = "fault-injection")]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use ringbuf_core::fault::{panic_at, park_at, parked, unpark, Point};
use ringbuf_core::{Error, Ring, Start};

/// The hook is process-wide: these tests take turns.
static TURN: Mutex<()> = Mutex::new(());

#[test]
fn a_panic_in_a_read_leaves_the_record_for_the_next_call() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
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
    let mut rd = ring.reader(Start::Oldest).unwrap();
    ring.write(b"kept").unwrap();
    panic_at(Point::Snapshot);
    assert!(catch_unwind(AssertUnwindSafe(|| ring.snapshot().unwrap())).is_err());
    assert_eq!(ring.snapshot().unwrap(), b"kept");
    panic_at(Point::Flush);
    assert!(catch_unwind(AssertUnwindSafe(|| ring.flush_timeout(Duration::ZERO))).is_err());
    assert!(ring.flush_timeout(Duration::ZERO).is_err());
    rd.try_next().unwrap();
    assert!(ring.flush_timeout(Duration::ZERO).is_ok());
}

#[test]
fn a_panic_between_claim_and_commit_kills_that_record_only_and_nobody_hangs() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let _dog = common::watchdog("dead record", Duration::from_secs(60));
    let ring = Ring::new(1 << 20).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    let mut blocked = ring.reader(Start::Newest).unwrap();
    let waiter = thread::spawn(move || {
        // Blocks with no timeout: the dead record must not hold it up.
        let (mut read, mut lost) = (0u64, 0u64);
        loop {
            match blocked.next_timeout(Duration::from_secs(3600)) {
                Ok(rec) => {
                    read += 1;
                    lost += rec.lost;
                }
                Err(e) => return (read, lost, e),
            }
        }
    });
    let panics = Arc::new(Mutex::new(0u64));
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let (ring, panics) = (ring.clone(), panics.clone());
            thread::spawn(move || {
                let mut ok = 0u64;
                // 10,000 records each, more until the armed point has
                // panicked, at most 14,000: 42,000 records of 24 bytes,
                // all retained.
                for i in 0..14_000 {
                    if i >= 10_000 && *panics.lock().unwrap() > 0 {
                        break;
                    }
                    match catch_unwind(AssertUnwindSafe(|| ring.write(&[7; 8]))) {
                        Ok(Ok(_)) => ok += 1,
                        Ok(Err(e)) => panic!("{e:?}"),
                        Err(_) => *panics.lock().unwrap() += 1,
                    }
                }
                ok
            })
        })
        .collect();
    // Armed while the writers write.
    while ring.stats().written < 3000 {
        thread::yield_now();
    }
    panic_at(Point::WriteBeforeCommit);
    let committed: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(*panics.lock().unwrap(), 1, "the armed point panicked once");
    assert_eq!(ring.stats().written, committed + 1, "the dead record took a seq");
    assert_eq!(ring.write(b"after"), Ok(committed + 1), "the ring goes on");
    ring.close().unwrap();
    // A reader gets every committed record; the dead one is its one loss.
    let (mut read, mut lost) = (0u64, 0u64);
    loop {
        match rd.next_timeout(Duration::from_secs(3600)) {
            Ok(rec) => {
                assert!(rec.data == [7; 8] || rec.data == b"after", "{:?}", rec.data);
                read += 1;
                lost += rec.lost;
            }
            Err(e) => {
                assert_eq!(e, Error::Closed);
                break;
            }
        }
    }
    assert_eq!((read, lost), (committed + 1, 1));
    let (wread, wlost, end) = waiter.join().unwrap();
    assert_eq!(end, Error::Closed);
    assert_eq!(wread + wlost, ring.stats().written, "read + lost = written for the blocked reader too");
    assert!(wlost <= 1);
    assert!(!ring.snapshot().unwrap().is_empty(), "what was committed can still be dumped");
}

/// The check (c): a writer stopped in the middle of its record
/// (parked at the fault point, as a debugger or a long preemption would
/// stop it) holds up no other writer. In a ring that does not lap, readers
/// wait at the stalled record and go on, nothing lost, once it commits.
#[test]
fn a_stalled_writer_holds_up_readers_at_its_record_but_no_writer() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let _dog = common::watchdog("stalled writer", Duration::from_secs(60));
    let ring = Ring::new(1 << 20).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    ring.write(b"before").unwrap(); // seq 0
    park_at(Point::WriteBeforeCommit);
    let stalled = {
        let ring = ring.clone();
        thread::spawn(move || ring.write(b"stalled")) // seq 1, parks before its commit
    };
    while parked() == 0 {
        thread::sleep(Duration::from_millis(1));
    }
    // Other writers go on, none waits.
    let writers: Vec<_> = (0..3u8)
        .map(|w| {
            let ring = ring.clone();
            thread::spawn(move || (0..1000).map(|_| ring.write(&[w; 16]).unwrap()).count())
        })
        .collect();
    let others: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(others, 3000);
    // The reader gets seq 0, then waits at the stalled seq 1.
    assert_eq!(rd.try_next().unwrap().seq, 0);
    assert_eq!(rd.next_timeout(Duration::from_millis(50)), Err(Error::Timeout));
    unpark();
    assert_eq!(stalled.join().unwrap(), Ok(1));
    let rec = rd.next_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!((rec.seq, rec.lost, &rec.data[..]), (1, 0, &b"stalled"[..]));
    for seq in 2..3002 {
        let rec = rd.try_next().unwrap();
        assert_eq!((rec.seq, rec.lost), (seq, 0));
    }
    assert_eq!(ring.pins_in_use(), 0);
}

/// A stalled writer in a ring the others lap many times over: they pin its
/// record and write around it (no write refused, none waits), readers are
/// lapped past it (read + lost = written), and its late commit releases
/// the pin; nobody ever wrote over its bytes.
#[test]
fn a_ring_lapping_a_stalled_writer_writes_around_it() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let _dog = common::watchdog("lapped stalled writer", Duration::from_secs(60));
    let ring = Ring::new(16 << 10).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    park_at(Point::WriteBeforeCommit);
    let stalled = {
        let ring = ring.clone();
        thread::spawn(move || ring.write(&[0xAB; 200])) // seq 0
    };
    while parked() == 0 {
        thread::sleep(Duration::from_millis(1));
    }
    let writers: Vec<_> = (1..=3u8)
        .map(|w| {
            let ring = ring.clone();
            thread::spawn(move || {
                for i in 0..20_000u32 {
                    let mut rec = [w; 64];
                    rec[..4].copy_from_slice(&i.to_le_bytes());
                    ring.write(&rec).unwrap(); // 1.2 MiB through a 16 KiB ring
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(ring.pins_in_use(), 1, "the stalled record is pinned");
    assert_eq!(ring.stats().dropped, 0);
    // The reader was lapped past the stalled record.
    let rec = rd.try_next().unwrap();
    assert!(rec.seq > 0 && rec.lost == rec.seq, "{rec:?}");
    unpark();
    assert_eq!(stalled.join().unwrap(), Ok(0));
    assert_eq!(ring.pins_in_use(), 0, "its commit released the pin");
    // Every retained record is whole.
    let snap = ring.snapshot().unwrap();
    assert_eq!(snap.len() % 64, 0);
    for r in snap.chunks(64) {
        assert!(r[4..].iter().all(|&b| b == r[4]) && (1..=3).contains(&r[4]), "torn record in snapshot");
    }
    ring.write(b"after").unwrap();
}

/// A dead record at the end of the ring (its write panicked, nothing was
/// written after it) does not hold up a flush: the reader has passed it
/// (its loss is reported with the next record).
#[test]
fn a_dead_last_record_does_not_hold_up_flush() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let _dog = common::watchdog("dead last record", Duration::from_secs(30));
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    ring.write(b"a").unwrap();
    assert_eq!(rd.try_next().unwrap().data, b"a");
    panic_at(Point::WriteBeforeCommit);
    assert!(catch_unwind(AssertUnwindSafe(|| ring.write(b"dead"))).is_err());
    assert_eq!(rd.try_next(), Err(Error::Timeout), "nothing to read: the loss comes with the next record");
    assert_eq!(rd.lost_total(), 1, "but it is counted already");
    assert_eq!(ring.flush_timeout(Duration::from_secs(5)), Ok(()), "the reader is past the dead record");
    let mut stream = ring.reader(Start::Oldest).unwrap();
    ring.write(b"b").unwrap();
    let rec = rd.try_next().unwrap();
    assert_eq!((rec.seq, rec.lost, &rec.data[..]), (2, 1, &b"b"[..]));
    assert_eq!(rd.lost_total(), 1);
    // Dead at the very end of a closed ring: lost_total says so, and the
    // byte stream reports the loss before the end.
    panic_at(Point::WriteBeforeCommit);
    assert!(catch_unwind(AssertUnwindSafe(|| ring.write(b"dead too"))).is_err());
    ring.close().unwrap();
    assert!(rd.next().is_none());
    assert_eq!(rd.lost_total(), 2, "read 2 + lost 2 = written 4");
    let mut buf = [0u8; 16];
    assert_eq!(stream.read_timeout(&mut buf, Some(Duration::ZERO)), Ok(1)); // "a"
    assert_eq!(stream.read_timeout(&mut buf, Some(Duration::ZERO)), Err(Error::Lost { records: 1 }));
    assert_eq!(stream.read_timeout(&mut buf, Some(Duration::ZERO)), Ok(1)); // "b"
    assert_eq!(stream.read_timeout(&mut buf, Some(Duration::ZERO)), Err(Error::Lost { records: 1 }));
    assert_eq!(stream.read_timeout(&mut buf, Some(Duration::ZERO)), Err(Error::Closed));
}
