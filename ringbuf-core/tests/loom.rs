//! loom models of the ring's protocol: every interleaving (up to the
//! preemption bound) of the real code, with loom's atomics and locks in
//! place of std's (see `src/sync.rs`).
//!
//! Run (what scripts/test does: bound 3, about a minute):
//!     RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 \
//!         cargo test --release -p ringbuf-core --test loom --target-dir target/loom
//! Deeper (bound 4; much longer):
//!     RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=4 \
//!         cargo test --release -p ringbuf-core --test loom --target-dir target/loom
//!
//! The racing sides of the read models run in spawned loom threads: loom's
//! DPOR remembers only the last access to each atomic, and a model whose
//! main thread polled before the other thread started was seen to explore
//! a single interleaving.
//!
//! The rings are 64 bytes: records of 8 payload bytes take 24 bytes, so
//! the ring keeps two of them and a third write evicts.
#![cfg(loom)]

use loom::thread;
use ringbuf_core::{Error, Reader, Record, Ring, Start};

/// The payload of record `seq`: eight copies of its number.
fn payload(seq: u64) -> [u8; 8] {
    [seq as u8 + 1; 8]
}

fn ring() -> Ring {
    Ring::with_capacity_unchecked(64).unwrap()
}

/// Checks a record is whole and the one its seq says.
fn check(rec: &Record) {
    assert_eq!(rec.data, payload(rec.seq), "record {} torn or wrong", rec.seq);
}

/// Drains a reader without waiting; returns what it read.
fn drain(rd: &mut Reader) -> Vec<Record> {
    let mut out = Vec::new();
    loop {
        match rd.try_next() {
            Ok(rec) => {
                check(&rec);
                out.push(rec);
            }
            Err(Error::Timeout | Error::Closed) => return out,
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// Seqs consecutive with gaps equal to `lost`; returns read + lost.
fn accounted(recs: &[Record], start: u64) -> u64 {
    let mut next = start;
    for r in recs {
        assert_eq!(r.seq, next + r.lost, "seq {} after {} with lost {}", r.seq, next, r.lost);
        next = r.seq + 1;
    }
    next - start
}

#[test]
fn a_write_racing_a_read_never_shows_a_torn_record() {
    loom::model(|| {
        let ring = ring();
        let mut rd = ring.reader(Start::Oldest);
        let w = {
            let ring = ring.clone();
            thread::spawn(move || {
                ring.write(&payload(0)).unwrap();
                ring.write(&payload(1)).unwrap();
            })
        };
        let r = thread::spawn(move || {
            let got = drain(&mut rd);
            (rd, got)
        });
        w.join().unwrap();
        let (mut rd, mut got) = r.join().unwrap();
        got.extend(drain(&mut rd));
        assert_eq!(got.iter().map(|r| (r.seq, r.lost)).collect::<Vec<_>>(), vec![(0, 0), (1, 0)]);
    });
}

#[test]
fn a_writer_lapping_a_reader_gives_an_exact_lost_count() {
    loom::model(|| {
        let ring = ring();
        let mut rd = ring.reader(Start::Seq(0));
        let w = {
            let ring = ring.clone();
            thread::spawn(move || {
                for seq in 0..4 {
                    ring.write(&payload(seq)).unwrap();
                }
            })
        };
        let r = thread::spawn(move || {
            let got = drain(&mut rd);
            (rd, got)
        });
        w.join().unwrap();
        let (mut rd, mut got) = r.join().unwrap();
        got.extend(drain(&mut rd));
        assert_eq!(accounted(&got, 0), 4, "read + lost = written: {got:?}");
        assert_eq!(got.last().map(|r| r.seq), Some(3));
    });
}

#[test]
fn two_writers_commit_whole_records_in_one_order() {
    loom::model(|| {
        let ring = ring();
        let mut rd = ring.reader(Start::Oldest);
        let ws: Vec<_> = [10u64, 20]
            .into_iter()
            .map(|tag| {
                let ring = ring.clone();
                thread::spawn(move || {
                    let seq = ring.write(&[tag as u8; 8]).unwrap();
                    (tag, seq)
                })
            })
            .collect();
        let early = rd.try_next().ok();
        let done: Vec<(u64, u64)> = ws.into_iter().map(|w| w.join().unwrap()).collect();
        let mut got: Vec<Record> = early.into_iter().collect();
        while let Ok(rec) = rd.try_next() {
            got.push(rec);
        }
        assert_eq!(got.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![0, 1]);
        for (tag, seq) in done {
            assert_eq!(got[seq as usize].data, [tag as u8; 8], "the record with seq {seq} is writer {tag}'s, whole");
        }
    });
}

#[test]
fn close_racing_a_blocked_reader_wakes_it() {
    loom::model(|| {
        let ring = ring();
        let mut rd = ring.reader(Start::Oldest);
        let r = thread::spawn(move || {
            // Blocks with no timeout; a lost wake-up is a loom deadlock.
            let recs: Vec<Record> = (&mut rd).collect();
            recs.iter().for_each(check);
            recs.len()
        });
        ring.write(&payload(0)).unwrap();
        ring.close();
        assert_eq!(r.join().unwrap(), 1);
    });
}

#[test]
fn a_blocked_reader_wakes_for_a_write() {
    loom::model(|| {
        let ring = ring();
        let mut rd = ring.reader(Start::Newest);
        let r = thread::spawn(move || {
            let rec = rd.next().expect("a record, not the end");
            check(&rec);
            rec.seq
        });
        ring.write(&payload(0)).unwrap();
        assert_eq!(r.join().unwrap(), 0);
    });
}

#[test]
fn flush_racing_a_read_returns() {
    loom::model(|| {
        let ring = ring();
        let mut rd = ring.reader(Start::Oldest);
        ring.write(&payload(0)).unwrap();
        let r = thread::spawn(move || {
            let rec = rd.next().unwrap();
            check(&rec);
            rd // keep the reader alive past the flush
        });
        ring.flush(); // no timeout: a lost wake-up is a loom deadlock
        drop(r.join().unwrap());
    });
}

#[test]
fn flush_racing_a_reader_drop_returns() {
    loom::model(|| {
        let ring = ring();
        let rd = ring.reader(Start::Oldest);
        ring.write(&payload(0)).unwrap();
        let r = thread::spawn(move || drop(rd));
        ring.flush();
        r.join().unwrap();
    });
}

#[test]
fn flush_completes_when_a_writer_laps_the_idle_reader() {
    loom::model(|| {
        let ring = ring();
        let _idle = ring.reader(Start::Oldest);
        ring.write(&payload(0)).unwrap();
        let flush = ring.start_flush(); // the point: after record 0
        let f = thread::spawn(move || flush.wait()); // no timeout
                                                     // Records 1 and 2 evict record 0: the idle reader is lapped past
                                                     // the flush point, which must wake the flush.
        ring.write(&payload(1)).unwrap();
        ring.write(&payload(2)).unwrap();
        f.join().unwrap();
    });
}

#[test]
fn readers_created_during_writes_start_on_record_boundaries() {
    loom::model(|| {
        let ring = ring();
        let w = {
            let ring = ring.clone();
            thread::spawn(move || {
                ring.write(&payload(0)).unwrap();
                ring.write(&payload(1)).unwrap();
            })
        };
        let r = {
            let ring = ring.clone();
            thread::spawn(move || (ring.reader(Start::Oldest), ring.reader(Start::Newest)))
        };
        w.join().unwrap();
        let (mut oldest, mut newest) = r.join().unwrap();
        // Both records fit: an Oldest reader sees both, whenever it began.
        let o = drain(&mut oldest);
        assert_eq!(o.iter().map(|r| (r.seq, r.lost)).collect::<Vec<_>>(), vec![(0, 0), (1, 0)]);
        // A Newest reader sees a suffix, contiguous, nothing lost.
        let n = drain(&mut newest);
        let seqs: Vec<u64> = n.iter().map(|r| r.seq).collect();
        assert!(seqs.is_empty() || seqs == vec![1] || seqs == vec![0, 1], "{seqs:?}");
        assert!(n.iter().all(|r| r.lost == 0));
    });
}
