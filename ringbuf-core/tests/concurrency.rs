//! Many writers, many readers, every record checked: content (checksum),
//! seq order, gaps equal to `lost`, per-writer order, read + lost = written.

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::{check_record, make_record, scaled, watchdog, Checker, FIXED};
use ringbuf_core::{Error, Reader, Ring, Start};

const WAIT: Duration = Duration::from_secs(20);

/// Writer `w` writes `n` self-checking records of varying size; returns
/// how many the ring refused as Busy (counters go on past a refused one, so
/// per-writer order stays checkable).
fn spawn_writer(ring: &Ring, w: u32, n: u64, max_len: usize, pause_every: u64) -> thread::JoinHandle<u64> {
    let ring = ring.clone();
    thread::spawn(move || {
        let mut busy = 0;
        for c in 0..n {
            let len = FIXED + ((c as usize * 7919 + w as usize * 13) % (max_len - FIXED + 1));
            match ring.write(&make_record(w, c, len)) {
                Ok(_) => {}
                Err(Error::Busy) => busy += 1,
                Err(e) => panic!("writer {w}: {e:?}"),
            }
            if pause_every > 0 && c % pause_every == 0 {
                thread::yield_now();
            }
        }
        busy
    })
}

/// Reads records until the end of the closed ring, checking each.
fn spawn_checker(mut rd: Reader, writers: usize, slow: bool) -> thread::JoinHandle<Checker> {
    thread::spawn(move || {
        let mut check: Option<Checker> = None;
        loop {
            match rd.next_timeout(WAIT) {
                Ok(rec) => {
                    let c = check.get_or_insert_with(|| Checker::new(rec.seq - rec.lost, writers));
                    c.see(rec.seq, rec.lost, &rec.data);
                    if slow && c.tally.read % 64 == 0 {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
                Err(Error::Closed) => break,
                Err(e) => panic!("reader: {e:?}"),
            }
        }
        check.unwrap_or_else(|| Checker::new(0, writers))
    })
}

/// Runs `writers` writers and `readers` checking readers (`slow` of them
/// slow) on a ring of `capacity`. Writes the ring refuses as Busy are
/// allowed only in rings smaller than 64 KiB (too small for their writers,
/// the contract's one case), and counted in `dropped`.
fn run(capacity: usize, writers: u32, per_writer: u64, max_len: usize, readers: usize, slow: usize) -> Vec<Checker> {
    run_on(Ring::new(capacity).unwrap(), writers, per_writer, max_len, readers, slow)
}

/// `run` on a given (empty) ring.
fn run_on(ring: Ring, writers: u32, per_writer: u64, max_len: usize, readers: usize, slow: usize) -> Vec<Checker> {
    let capacity = ring.capacity();
    let checkers: Vec<_> =
        (0..readers).map(|i| spawn_checker(ring.reader(Start::Seq(0)).unwrap(), writers as usize, i < slow)).collect();
    let ws: Vec<_> = (0..writers).map(|w| spawn_writer(&ring, w, per_writer, max_len, 0)).collect();
    let busy: u64 = ws.into_iter().map(|w| w.join().unwrap()).sum();
    let stats = ring.stats();
    assert_eq!(stats.dropped, busy, "every refused write is counted");
    if capacity >= 64 << 10 {
        assert_eq!(busy, 0, "a {capacity}-byte ring refused writes");
    }
    let written = stats.written;
    assert_eq!(written, writers as u64 * per_writer - busy);
    ring.close().unwrap();
    let out: Vec<Checker> = checkers.into_iter().map(|c| c.join().unwrap()).collect();
    for c in &out {
        c.finish(written);
    }
    out
}

#[test]
fn writers_and_readers_agree_on_every_record() {
    let _dog = watchdog("writers_and_readers_agree_on_every_record", Duration::from_secs(120));
    let out = run(1 << 20, 4, scaled(20_000), 300, 3, 0);
    let total: u64 = out.iter().map(|c| c.tally.read).sum();
    assert!(total > 0);
}

/// The check (a): 2, 8 and 32 writer threads with readers, in a
/// ring that laps slow readers and in one that laps everybody (pins and
/// skips happen there: writers preempted mid-record on 2 cores).
#[test]
fn two_eight_and_thirty_two_writers_every_record_checked() {
    let _dog = watchdog("two_eight_and_thirty_two_writers", Duration::from_secs(300));
    for writers in [2u32, 8, 32] {
        let per = scaled(96_000) / writers as u64;
        let out = run(1 << 20, writers, per, 200, 3, 1);
        assert!(out.iter().all(|c| c.tally.read > 0));
        let out = run(16 << 10, writers, per, 200, 2, 1);
        assert!(out.iter().all(|c| c.tally.read > 0));
    }
}

/// The same load on rings in files (one process, so that the thread
/// checkers, TSan included, see the file path: shared futex, reader table,
/// sessions): every record checked, a tiny ring that laps and pins, a large
/// one that does not.
#[test]
fn rings_in_files_under_the_same_load() {
    let _dog = watchdog("rings_in_files_under_the_same_load", Duration::from_secs(300));
    let dir = std::env::temp_dir().join(format!("ringlog-concurrency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (cap, writers)) in [(1usize << 20, 8u32), (1024, 4), (16 << 10, 32)].into_iter().enumerate() {
        let path = dir.join(format!("r{i}.ring"));
        let ring = Ring::open_file(&path, cap).unwrap();
        assert!(ring.is_file());
        let out = run_on(ring, writers, scaled(48_000) / writers as u64, 200, 3, 1);
        assert!(out.iter().all(|c| c.tally.read > 0));
        // Reopened: the same ring, closed, everything retained readable.
        let again = Ring::open_existing(&path).unwrap();
        assert!(again.is_closed());
        let mut rd = again.reader(Start::Oldest).unwrap();
        let mut n = 0;
        for rec in &mut rd {
            check_record(&rec.unwrap().data);
            n += 1;
        }
        assert!(n > 0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_tiny_ring_laps_slow_readers_without_tearing() {
    let _dog = watchdog("a_tiny_ring_laps_slow_readers_without_tearing", Duration::from_secs(120));
    let out = run(1024, 3, scaled(20_000), 200, 3, 2);
    assert!(out[0].tally.lost > 0, "the slow reader must have been lapped: {:?}", out[0].tally);
    for c in &out {
        assert!(c.tally.read > 0);
    }
}

#[test]
fn records_near_max_size_in_a_small_ring() {
    // Records of up to max_record (256 B) in a 1 KiB ring with 4 writers:
    // claims often need records still being written evicted (they are
    // pinned and skipped, or the write is refused as Busy).
    let _dog = watchdog("records_near_max_size_in_a_small_ring", Duration::from_secs(120));
    run(1024, 4, scaled(5_000), 256, 2, 1);
}

#[test]
fn byte_stream_readers_reframe_whole_records_between_losses() {
    let _dog = watchdog("byte_stream_readers", Duration::from_secs(120));
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    let stream = thread::spawn(move || {
        // Records carry their own length at bytes 12..16: re-frame them.
        let (mut whole, mut losses) = (0u64, 0u64);
        let mut pending = Vec::new();
        let mut buf = [0u8; 97]; // odd size: records split across reads
        loop {
            match rd.read_timeout(&mut buf, Some(WAIT)) {
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(Error::Lost { records }) => {
                    assert!(records > 0);
                    losses += 1;
                    pending.clear(); // the stream restarts at a record start
                }
                Err(Error::Closed) => break,
                Err(e) => panic!("{e:?}"),
            }
            while pending.len() >= 16 {
                let len = u32::from_le_bytes(pending[12..16].try_into().unwrap()) as usize;
                if pending.len() < len {
                    break;
                }
                common::check_record(&pending[..len]);
                pending.drain(..len);
                whole += 1;
            }
        }
        assert!(pending.is_empty(), "stream ended inside a record");
        (whole, losses)
    });
    let ws: Vec<_> = (0..2).map(|w| spawn_writer(&ring, w, scaled(20_000), 300, 0)).collect();
    for w in ws {
        w.join().unwrap();
    }
    ring.close().unwrap();
    let (whole, _losses) = stream.join().unwrap();
    assert!(whole > 0);
}

#[test]
fn readers_created_during_writes_start_on_record_boundaries() {
    let _dog = watchdog("readers_created_during_writes", Duration::from_secs(120));
    let ring = Ring::new(8192).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ws: Vec<_> = (0..2).map(|w| spawn_writer(&ring, w, scaled(30_000), 250, 0)).collect();
    let mut checkers = Vec::new();
    let mut i = 0u64;
    while !ws.iter().all(|w| w.is_finished()) && checkers.len() < scaled(60) as usize {
        let start = match i % 3 {
            0 => Start::Oldest,
            1 => Start::Newest,
            _ => Start::Seq(ring.stats().written.saturating_sub(20)),
        };
        checkers.push(spawn_checker(ring.reader(start).unwrap(), 2, false));
        i += 1;
        thread::sleep(Duration::from_millis(2));
    }
    for w in ws {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let written = ring.stats().written;
    ring.close().unwrap();
    for c in checkers {
        c.join().unwrap().finish(written);
    }
}

#[test]
fn close_wakes_every_blocked_reader_promptly() {
    let _dog = watchdog("close_wakes_every_blocked_reader_promptly", WAIT);
    let ring = Ring::new(4096).unwrap();
    ring.write(b"retained").unwrap();
    let barrier = Arc::new(Barrier::new(9));
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let mut rd = ring.reader(Start::Oldest).unwrap();
            let barrier = barrier.clone();
            thread::spawn(move || {
                let first = rd.next_timeout(WAIT).unwrap();
                barrier.wait();
                let end = rd.next(); // blocks with no timeout until close
                (first.data, end, Instant::now())
            })
        })
        .collect();
    barrier.wait();
    thread::sleep(Duration::from_millis(100)); // let them fall asleep
    let closed_at = Instant::now();
    ring.close().unwrap();
    for r in readers {
        let (first, end, woke) = r.join().unwrap();
        assert_eq!(first, b"retained");
        assert!(end.is_none());
        assert!(woke.duration_since(closed_at) < Duration::from_secs(2));
    }
}

#[test]
fn flush_returns_once_reading_threads_catch_up_while_writers_go_on() {
    let _dog = watchdog("flush_concurrent", Duration::from_secs(60));
    let ring = Ring::new(1 << 20).unwrap();
    let readers: Vec<_> = (0..2).map(|_| spawn_checker(ring.reader(Start::Oldest).unwrap(), 1, false)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (ring, stop) = (ring.clone(), stop.clone());
        thread::spawn(move || {
            let mut c = 0;
            while !stop.load(Ordering::Relaxed) {
                ring.write(&make_record(0, c, 64)).unwrap();
                c += 1;
                if c % 100 == 0 {
                    thread::sleep(Duration::from_micros(200));
                }
            }
            c
        })
    };
    for _ in 0..20 {
        let t = Instant::now();
        assert!(ring.flush_timeout(Duration::from_secs(10)).is_ok(), "readers keep up: flush completes");
        assert!(t.elapsed() < Duration::from_secs(10));
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    ring.close().unwrap();
    for r in readers {
        r.join().unwrap().finish(written);
    }
}

#[test]
fn stream_reader_and_record_reader_mixed_on_one_ring() {
    let _dog = watchdog("mixed", WAIT);
    let ring = Ring::new(1 << 16).unwrap();
    let mut a = ring.reader(Start::Oldest).unwrap();
    for i in 0..100u32 {
        ring.write(format!("{i:04}").as_bytes()).unwrap();
    }
    ring.close().unwrap();
    let mut s = String::new();
    a.read_to_string(&mut s).unwrap();
    assert_eq!(s, (0..100).map(|i| format!("{i:04}")).collect::<String>());
}
