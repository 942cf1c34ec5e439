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
//! The rings are 64 bytes (a 128-byte data area): records of 8 payload
//! bytes take 24 bytes, so the ring keeps two of them and a third write
//! evicts; the tail moves once a claim would end past 112.
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
        let mut rd = ring.reader(Start::Oldest).unwrap();
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
        let mut rd = ring.reader(Start::Seq(0)).unwrap();
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
        let mut rd = ring.reader(Start::Oldest).unwrap();
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
        let mut rd = ring.reader(Start::Oldest).unwrap();
        let r = thread::spawn(move || {
            // Blocks with no timeout; a lost wake-up is a loom deadlock.
            let recs: Vec<Record> = (&mut rd).map(|r| r.unwrap()).collect();
            recs.iter().for_each(check);
            recs.len()
        });
        ring.write(&payload(0)).unwrap();
        ring.close().unwrap();
        assert_eq!(r.join().unwrap(), 1);
    });
}

#[test]
fn a_blocked_reader_wakes_for_a_write() {
    loom::model(|| {
        let ring = ring();
        let mut rd = ring.reader(Start::Newest).unwrap();
        let r = thread::spawn(move || {
            let rec = rd.next().expect("a record, not the end").unwrap();
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
        let mut rd = ring.reader(Start::Oldest).unwrap();
        ring.write(&payload(0)).unwrap();
        let r = thread::spawn(move || {
            let rec = rd.next().unwrap().unwrap();
            check(&rec);
            rd // keep the reader alive past the flush
        });
        ring.flush().unwrap(); // no timeout: a lost wake-up is a loom deadlock
        drop(r.join().unwrap());
    });
}

#[test]
fn flush_racing_a_reader_drop_returns() {
    loom::model(|| {
        let ring = ring();
        let rd = ring.reader(Start::Oldest).unwrap();
        ring.write(&payload(0)).unwrap();
        let r = thread::spawn(move || drop(rd));
        ring.flush().unwrap();
        r.join().unwrap();
    });
}

#[test]
fn flush_completes_when_a_writer_laps_the_idle_reader() {
    loom::model(|| {
        let ring = ring();
        let _idle = ring.reader(Start::Oldest).unwrap();
        ring.write(&payload(0)).unwrap();
        let flush = ring.start_flush().unwrap(); // the point: after record 0
        let f = thread::spawn(move || flush.wait().unwrap()); // no timeout
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
            thread::spawn(move || (ring.reader(Start::Oldest).unwrap(), ring.reader(Start::Newest).unwrap()))
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

/// Commit order is not claim order: a record claimed later and committed
/// first waits, for readers, behind the one claimed before it (readers
/// return records in seq order), and nobody waits for anybody else.
#[test]
fn records_commit_out_of_order_and_readers_stop_at_the_first_pending_one() {
    loom::model(|| {
        let ring = ring();
        let mut rd = ring.reader(Start::Oldest).unwrap();
        let first = payload(0);
        let pending = ring.begin_write(&first).unwrap(); // seq 0, not committed
        let w = {
            let ring = ring.clone();
            thread::spawn(move || ring.write(&payload(1)).unwrap())
        };
        assert_eq!(w.join().unwrap(), 1, "the second writer committed without waiting");
        assert_eq!(rd.try_next(), Err(Error::Timeout), "seq 0 is pending: the reader stops there");
        let r = thread::spawn(move || {
            let a = rd.next().unwrap().unwrap(); // blocks until seq 0 commits
            let b = rd.next().unwrap().unwrap();
            (a, b)
        });
        assert_eq!(pending.commit(), 0);
        let (a, b) = r.join().unwrap();
        check(&a);
        check(&b);
        assert_eq!((a.seq, a.lost, b.seq, b.lost), (0, 0, 1, 0));
    });
}

/// A writer stopped in the middle of its record while another laps the
/// ring: the other pins the stalled record and never writes over it (the
/// 64-byte ring has no room around it, so its fourth write is refused);
/// a reader blocked at the stalled record is woken and lapped past it; the
/// stalled writer then commits, racing the pinning, and no pin outlives it.
#[test]
fn a_stalled_writer_is_pinned_never_overwritten_and_its_commit_releases_the_pin() {
    loom::model(|| {
        let ring = ring();
        let mine = [100u8; 8];
        let stalled = ring.begin_write(&mine).unwrap(); // seq 0
        let mut rd = ring.reader(Start::Oldest).unwrap();
        let r = thread::spawn(move || {
            let rec = rd.next().unwrap().unwrap(); // blocks at seq 0
            (rec, rd)
        });
        let w = {
            let ring = ring.clone();
            thread::spawn(move || {
                let mut done = Vec::new();
                for tag in 1..=4u64 {
                    match ring.write(&payload(tag)) {
                        Ok(seq) => done.push((seq, tag)),
                        Err(Error::Busy) => {}
                        Err(e) => panic!("{e:?}"),
                    }
                }
                done
            })
        };
        let done = w.join().unwrap();
        assert!(stalled.intact(), "nobody wrote over the stalled record");
        let (rec, rd) = r.join().unwrap();
        // The stalled record cannot have come through: the reader was
        // lapped past it.
        assert!(rec.seq >= 1 && rec.lost >= 1, "lapped past the stalled record: {rec:?}");
        let tag = done.iter().find(|(s, _)| *s == rec.seq).map(|(_, t)| *t).expect("a record of the other writer");
        assert_eq!(rec.data, payload(tag));
        let c = thread::spawn(move || stalled.commit());
        let more = ring.write(&payload(9));
        c.join().unwrap();
        assert!(matches!(more, Ok(_) | Err(Error::Busy)));
        assert_eq!(ring.pins_in_use(), 0, "the commit released the pin");
        // Whatever the reader gets now is whole and accounted for.
        ring.close().unwrap();
        let mut last = rec.seq;
        for r in rd {
            let r = r.unwrap();
            assert_eq!(r.seq, last + 1 + r.lost);
            last = r.seq;
        }
    });
}

/// The Dekker pair of pinning: a writer evicting the stalled record pins
/// it while its writer commits. Either the pinner sees the commit (and
/// releases its pin at once) or the committer sees the pin (and releases
/// it): no pin outlives the commit, and nobody writes over the record
/// before it is committed.
#[test]
fn a_pin_racing_the_stalled_writers_commit_never_leaks() {
    loom::model(|| {
        let ring = ring();
        let stalled = ring.begin_write(&[100u8; 8]).unwrap(); // seq 0
        for tag in 1..=3 {
            ring.write(&payload(tag)).unwrap(); // seqs 1..3: the ring is full
        }
        let c = thread::spawn(move || {
            assert!(stalled.intact());
            stalled.commit()
        });
        let more = ring.write(&payload(4)); // evicts seq 0: pins it unless committed
        assert_eq!(c.join().unwrap(), 0);
        assert!(matches!(more, Ok(4) | Err(Error::Busy)), "{more:?}");
        assert_eq!(ring.pins_in_use(), 0, "no pin outlives the commit");
        let mut rd = ring.reader(Start::Oldest).unwrap();
        while let Ok(rec) = rd.try_next() {
            assert!(rec.seq >= 1, "seq 0 was evicted");
            assert_eq!(rec.data, payload(rec.seq), "record {} whole", rec.seq);
        }
    });
}

/// Two writers evict at once past a stalled record: one pins it and moves
/// the tail, the other's tail CAS fails and it drops its own pin; nothing
/// is written over the stalled record, no pin is left once it commits.
#[test]
fn two_evictors_and_a_stalled_record() {
    loom::model(|| {
        let ring = ring();
        let stalled = ring.begin_write(&[100u8; 8]).unwrap(); // seq 0
        for tag in 1..=2 {
            ring.write(&payload(tag)).unwrap();
        }
        let ws: Vec<_> = [3u64, 4]
            .into_iter()
            .map(|tag| {
                let ring = ring.clone();
                thread::spawn(move || ring.write(&payload(tag)).map(|seq| (seq, tag)))
            })
            .collect();
        let done: Vec<_> = ws.into_iter().map(|w| w.join().unwrap()).collect();
        assert!(stalled.intact(), "nobody wrote over the stalled record");
        assert!(ring.pins_in_use() <= 1, "at most the one pin of seq 0");
        stalled.commit();
        assert_eq!(ring.pins_in_use(), 0);
        let mut rd = ring.reader(Start::Oldest).unwrap();
        while let Ok(rec) = rd.try_next() {
            let expect = match rec.seq {
                1 | 2 => payload(rec.seq),
                s => match done.iter().find(|d| matches!(d, Ok((seq, _)) if *seq == s)) {
                    Some(Ok((_, tag))) => payload(*tag),
                    _ => panic!("record {s} was not written: {done:?}"),
                },
            };
            assert_eq!(rec.data, expect, "record {} whole", rec.seq);
        }
    });
}
