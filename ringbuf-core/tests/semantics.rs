//! The contract, line by line, on one thread (plus a helper thread where a
//! line is about waking).

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use ringbuf_core::{image, Error, Ring, Start};

const WAIT: Duration = Duration::from_secs(10);

/// 1 KiB ring, 100-byte records: each takes 16 + 104 = 120 bytes, so the
/// ring keeps 8 of them.
fn ring_with_20_records() -> Ring {
    let ring = Ring::new(1024).unwrap();
    for i in 0..20u8 {
        assert_eq!(ring.write(&[i; 100]).unwrap(), i as u64);
    }
    ring
}

#[test]
fn seqs_start_at_zero_and_count_up() {
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    for i in 0..10u64 {
        assert_eq!(ring.write(format!("line {i}").as_bytes()).unwrap(), i);
    }
    for i in 0..10u64 {
        let rec = rd.try_next().unwrap();
        assert_eq!((rec.seq, rec.lost), (i, 0));
        assert_eq!(rec.data, format!("line {i}").into_bytes());
    }
    assert_eq!(rd.try_next(), Err(Error::Timeout));
}

#[test]
fn empty_records_are_records() {
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    assert_eq!(ring.write(b"").unwrap(), 0);
    assert_eq!(ring.write(b"x").unwrap(), 1);
    let rec = rd.try_next().unwrap();
    assert_eq!((rec.seq, rec.data.len()), (0, 0));
    assert_eq!(rd.try_next().unwrap().data, b"x");
}

#[test]
fn capacity_is_checked_rounded_and_max_record_is_a_quarter() {
    assert!(matches!(Ring::new(1023), Err(Error::InvalidArgument(_))));
    assert!(matches!(Ring::new(0), Err(Error::InvalidArgument(_))));
    assert!(matches!(Ring::new((1usize << 40) + 1), Err(Error::InvalidArgument(_))));
    let ring = Ring::new(1024).unwrap();
    assert_eq!((ring.capacity(), ring.max_record()), (1024, 256));
    let ring = Ring::new(1_000_000).unwrap();
    assert_eq!((ring.capacity(), ring.max_record()), (1 << 20, 1 << 18));
}

#[test]
fn impossible_allocation_is_no_memory_not_an_abort() {
    // 1 TiB is a valid request that no machine running these tests can
    // back (the allocator refuses it instead of aborting).
    match Ring::new(1 << 40) {
        Err(Error::NoMemory) => {}
        Ok(r) => {
            // Lazily-committed memory may succeed on huge machines: the ring
            // must then simply work.
            r.write(b"still works").unwrap();
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[test]
fn too_large_is_refused_and_changes_nothing() {
    let ring = Ring::new(1024).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    let err = ring.write(&[0; 257]).unwrap_err();
    assert_eq!(err, Error::TooLarge { len: 257, max: 256 });
    assert_eq!(ring.stats().written, 0);
    assert_eq!(rd.try_next(), Err(Error::Timeout));
    assert!(ring.snapshot().unwrap().is_empty());
    assert_eq!(ring.write(&[1; 256]).unwrap(), 0);
    assert_eq!(rd.try_next().unwrap().data.len(), 256);
    // Argument errors come before state errors.
    ring.close().unwrap();
    assert!(matches!(ring.write(&[0; 257]), Err(Error::TooLarge { .. })));
    assert_eq!(ring.write(b"x"), Err(Error::Closed));
}

#[test]
fn the_ring_keeps_the_newest_records_that_fit() {
    let ring = ring_with_20_records();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    let seqs: Vec<u64> = std::iter::from_fn(|| rd.try_next().ok()).map(|r| r.seq).collect();
    assert_eq!(seqs, (12..20).collect::<Vec<_>>());
    let expected: Vec<u8> = (12..20u8).flat_map(|i| [i; 100]).collect();
    assert_eq!(ring.snapshot().unwrap(), expected);
}

#[test]
fn oldest_replays_then_follows() {
    let ring = ring_with_20_records();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    for seq in 12..20 {
        let rec = rd.try_next().unwrap();
        assert_eq!((rec.seq, rec.lost), (seq, 0), "lost counts from the reader's start");
    }
    assert_eq!(rd.try_next(), Err(Error::Timeout));
    ring.write(b"new").unwrap();
    assert_eq!(rd.try_next().unwrap().seq, 20);
}

#[test]
fn newest_sees_only_later_records() {
    let ring = ring_with_20_records();
    let mut rd = ring.reader(Start::Newest).unwrap();
    assert_eq!(rd.try_next(), Err(Error::Timeout));
    ring.write(b"after").unwrap();
    let rec = rd.try_next().unwrap();
    assert_eq!((rec.seq, rec.lost, &rec.data[..]), (20, 0, &b"after"[..]));
}

#[test]
fn seq_start_in_the_past_reports_the_gap() {
    let ring = ring_with_20_records();
    let mut rd = ring.reader(Start::Seq(3)).unwrap();
    let rec = rd.try_next().unwrap();
    assert_eq!((rec.seq, rec.lost), (12, 9), "records 3..12 were evicted");
    let mut rd = ring.reader(Start::Seq(14)).unwrap();
    let rec = rd.try_next().unwrap();
    assert_eq!((rec.seq, rec.lost), (14, 0), "record 14 is retained");
    assert_eq!(rec.data, [14; 100]);
}

#[test]
fn seq_start_in_the_future_waits_for_it() {
    let ring = ring_with_20_records();
    let mut rd = ring.reader(Start::Seq(25)).unwrap();
    assert_eq!(rd.try_next(), Err(Error::Timeout));
    for i in 20..25u8 {
        ring.write(&[i]).unwrap();
        assert_eq!(rd.try_next(), Err(Error::Timeout), "seq {i} comes before the start");
    }
    ring.write(b"twenty-five").unwrap();
    let rec = rd.try_next().unwrap();
    assert_eq!((rec.seq, rec.lost, &rec.data[..]), (25, 0, &b"twenty-five"[..]));
}

#[test]
fn a_lapped_reader_is_told_exactly_what_it_lost() {
    let ring = Ring::new(1024).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    for i in 0..3u8 {
        ring.write(&[i; 100]).unwrap();
    }
    assert_eq!(rd.try_next().unwrap().seq, 0);
    for i in 3..20u8 {
        ring.write(&[i; 100]).unwrap();
    }
    // Read 0; 1..=11 were evicted; 12..=19 retained.
    let rec = rd.try_next().unwrap();
    assert_eq!((rec.seq, rec.lost), (12, 11));
    assert_eq!(rec.data, [12; 100]);
    let mut read = 2;
    while let Ok(rec) = rd.try_next() {
        assert_eq!(rec.lost, 0);
        read += 1;
    }
    assert_eq!(read + 11, 20, "read + lost = written");
    assert_eq!(rd.lost_total(), 11);
}

#[test]
fn buf_small_reports_the_size_and_keeps_the_record_and_its_loss() {
    let ring = ring_with_20_records();
    let mut rd = ring.reader(Start::Seq(0)).unwrap();
    let mut small = [0u8; 10];
    for _ in 0..2 {
        assert_eq!(
            rd.next_into(&mut small, Some(Duration::ZERO)),
            Err(Error::BufSmall { len: 100, seq: 12, lost: 12 })
        );
    }
    assert_eq!(rd.next_into(&mut [], Some(Duration::ZERO)), Err(Error::BufSmall { len: 100, seq: 12, lost: 12 }));
    let mut buf = [0u8; 100];
    let info = rd.next_into(&mut buf, Some(Duration::ZERO)).unwrap();
    assert_eq!((info.len, info.seq, info.lost), (100, 12, 12));
    assert_eq!(buf, [12; 100]);
    let info = rd.next_into(&mut buf, Some(Duration::ZERO)).unwrap();
    assert_eq!((info.seq, info.lost), (13, 0));
}

#[test]
fn byte_stream_puts_records_back_to_back() {
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    for r in [&b"abc"[..], b"", b"defg", b"", b"h"] {
        ring.write(r).unwrap();
    }
    assert_eq!(rd.read_timeout(&mut [], None), Ok(0), "room for 0 bytes: OK with 0");
    let mut got = Vec::new();
    let mut buf = [0u8; 2];
    loop {
        match rd.read_timeout(&mut buf, Some(Duration::ZERO)) {
            Ok(n) => {
                assert!(n > 0 && n <= 2);
                got.extend_from_slice(&buf[..n]);
            }
            Err(Error::Timeout) => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(got, b"abcdefgh");
    ring.close().unwrap();
    let mut all = Vec::new();
    ring.reader(Start::Oldest).unwrap().read_to_end(&mut all).unwrap();
    assert_eq!(all, b"abcdefgh", "io::Read reaches EOF at the end of a closed ring");
}

#[test]
fn byte_stream_reports_loss_once_then_goes_on_from_a_record_start() {
    let ring = Ring::new(1024).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    ring.write(&[0; 100]).unwrap();
    let mut buf = [0u8; 30];
    assert_eq!(rd.read_timeout(&mut buf, Some(Duration::ZERO)), Ok(30), "part of record 0");
    for i in 1..20u8 {
        ring.write(&[i; 100]).unwrap();
    }
    // The rest of record 0 and records 1..=11 are gone: 12 records.
    assert_eq!(rd.read_timeout(&mut buf, Some(Duration::ZERO)), Err(Error::Lost { records: 12 }));
    let mut rest = Vec::new();
    while let Ok(n) = rd.read_timeout(&mut buf, Some(Duration::ZERO)) {
        rest.extend_from_slice(&buf[..n]);
    }
    let expected: Vec<u8> = (12..20u8).flat_map(|i| [i; 100]).collect();
    assert_eq!(rest, expected, "the stream resumes at the start of the oldest record");
    assert_eq!(rd.lost_total(), 12);
}

#[test]
fn flush_waits_for_readers_that_exist() {
    let ring = Ring::new(4096).unwrap();
    assert!(ring.flush_timeout(Duration::ZERO).is_ok(), "no readers: flushed at once");
    let mut rd = ring.reader(Start::Oldest).unwrap();
    assert!(ring.flush_timeout(Duration::ZERO).is_ok(), "nothing written yet");
    ring.write(b"one").unwrap();
    let t = Instant::now();
    assert_eq!(ring.flush_timeout(Duration::from_millis(50)), Err(Error::Timeout), "idle reader: timeout");
    assert!(t.elapsed() >= Duration::from_millis(50));
    rd.try_next().unwrap();
    assert!(ring.flush_timeout(Duration::ZERO).is_ok(), "the reader caught up");
    ring.write(b"two").unwrap();
    assert!(ring.flush_timeout(Duration::ZERO).is_err());
    drop(rd);
    assert!(ring.flush_timeout(Duration::ZERO).is_ok(), "a dropped reader holds nothing up");
}

#[test]
fn flush_completes_when_the_idle_reader_is_lapped_past_the_flush_point() {
    let _dog = common::watchdog("flush_lapped", WAIT);
    let ring = Ring::new(1024).unwrap();
    let _idle = ring.reader(Start::Oldest).unwrap();
    ring.write(&[1; 100]).unwrap();
    assert!(ring.flush_timeout(Duration::ZERO).is_err());
    let flusher = {
        let ring = ring.clone();
        std::thread::spawn(move || ring.flush_timeout(Duration::from_secs(5)).is_ok())
    };
    // Writers go on while the flush waits; once they have evicted every
    // record written before the flush, it completes.
    while !flusher.is_finished() {
        ring.write(&[2; 100]).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(flusher.join().unwrap(), "lapped past the flush point: flushed");
}

#[test]
fn close_is_idempotent_and_readers_drain_then_end() {
    let ring = ring_with_20_records();
    let mut before = ring.reader(Start::Oldest).unwrap();
    assert!(!ring.is_closed());
    ring.close().unwrap();
    ring.close().unwrap();
    assert!(ring.is_closed());
    assert_eq!(ring.write(b"late"), Err(Error::Closed));
    assert_eq!((&mut before).count(), 8, "drains what is retained");
    assert_eq!(before.try_next(), Err(Error::Closed));
    assert_eq!(before.next_timeout(WAIT), Err(Error::Closed));
    let mut after = ring.reader(Start::Oldest).unwrap();
    assert_eq!((&mut after).map(|r| r.unwrap().seq).collect::<Vec<_>>(), (12..20).collect::<Vec<_>>());
    assert_eq!(after.try_next(), Err(Error::Closed));
    assert_eq!(ring.reader(Start::Newest).unwrap().try_next(), Err(Error::Closed));
    assert!(ring.flush_timeout(Duration::ZERO).is_ok(), "flush still works: all readers are done");
}

#[test]
fn close_wakes_a_blocked_reader() {
    let _dog = common::watchdog("close_wakes_a_blocked_reader", WAIT);
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    ring.write(b"only").unwrap();
    let t = std::thread::spawn(move || (&mut rd).map(|r| r.unwrap().data).collect::<Vec<_>>());
    std::thread::sleep(Duration::from_millis(50));
    ring.close().unwrap();
    assert_eq!(t.join().unwrap(), vec![b"only".to_vec()]);
}

#[test]
fn dropping_the_last_handle_closes_but_readers_keep_the_memory() {
    let ring = Ring::new(4096).unwrap();
    let second = ring.clone();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    ring.write(b"a").unwrap();
    drop(ring);
    second.write(b"b").unwrap();
    assert!(!second.is_closed(), "one handle is still alive");
    drop(second);
    assert_eq!((&mut rd).map(|r| r.unwrap().data).collect::<Vec<_>>(), vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(rd.try_next(), Err(Error::Closed));
}

#[test]
fn every_write_macro_call_is_one_record() {
    let ring = Ring::new(1 << 16).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    let user = "ann";
    let ok = true;
    writeln!(&ring, "user={user} action={} ok={ok}", 42).unwrap();
    write!(&ring, "plain").unwrap();
    let long = "y".repeat(5000);
    writeln!(&ring, "{long}-{}", 7).unwrap();
    (&ring).write_all(b"bytes").unwrap();
    let got: Vec<Vec<u8>> = std::iter::from_fn(|| rd.try_next().ok()).map(|r| r.data).collect();
    assert_eq!(got.len(), 4);
    assert_eq!(got[0], b"user=ann action=42 ok=true\n");
    assert_eq!(got[1], b"plain");
    assert_eq!(got[2], format!("{long}-7\n").into_bytes());
    assert_eq!(got[3], b"bytes");
}

#[test]
fn region_image_holds_the_retained_records() {
    let ring = ring_with_20_records();
    let dump = image::parse(&ring.region_image()).unwrap();
    assert_eq!(dump.capacity, 1024);
    assert!(!dump.closed && !dump.damaged);
    assert_eq!(dump.next_seq, 20);
    let seqs: Vec<u64> = dump.records.iter().map(|r| r.0).collect();
    assert_eq!(seqs, (12..20).collect::<Vec<_>>());
    assert!(dump.records.iter().all(|(seq, data)| data == &vec![*seq as u8; 100]));
    ring.close().unwrap();
    assert!(image::parse(&ring.region_image()).unwrap().closed);
}

#[test]
fn damaged_images_are_refused_or_cut_at_the_damage() {
    let ring = ring_with_20_records();
    let good = ring.region_image();
    assert!(image::parse(&good[..100]).is_err());
    let mut bad = good.clone();
    bad[0] ^= 1;
    assert_eq!(image::parse(&bad), Err(image::ImageError::Magic));
    // Damage the header of the third retained record (seq 14): the dump
    // keeps 12 and 13 and says it stopped. Its payload is a hundred 14s;
    // its length word is the 8 bytes before them.
    let payload = good.windows(100).position(|w| w.iter().all(|&b| b == 14)).expect("record 14 is in the image");
    let mut bad = good.clone();
    bad[payload - 8] ^= 0xff;
    let dump = image::parse(&bad).unwrap();
    assert!(dump.damaged);
    assert_eq!(dump.records.iter().map(|r| r.0).collect::<Vec<_>>(), vec![12, 13]);
}

#[test]
fn writers_make_no_wakeup_when_nobody_sleeps() {
    let _dog = common::watchdog("writers_make_no_wakeup_when_nobody_sleeps", WAIT);
    let ring = Ring::new(1 << 16).unwrap();
    let mut polling = ring.reader(Start::Oldest).unwrap();
    for i in 0..1000u32 {
        ring.write(&i.to_le_bytes()).unwrap();
        if i % 10 == 0 {
            while polling.try_next().is_ok() {}
        }
    }
    assert_eq!(ring.stats().wakeups, 0, "no reader slept, so no write woke anyone");

    let mut blocked = ring.reader(Start::Newest).unwrap();
    let t = std::thread::spawn(move || blocked.next_timeout(WAIT).map(|r| r.data));
    // Once the reader sleeps (its spin is over), write once.
    let t0 = Instant::now();
    while ring.sleeping_readers() == 0 {
        assert!(t0.elapsed() < WAIT, "the reader never went to sleep");
        std::thread::sleep(Duration::from_millis(1));
    }
    ring.write(b"wake up").unwrap();
    assert_eq!(t.join().unwrap().unwrap(), b"wake up");
    assert!(ring.stats().wakeups >= 1);
}

#[test]
fn next_timeout_waits_about_the_time_asked() {
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Newest).unwrap();
    let t = Instant::now();
    assert_eq!(rd.next_timeout(Duration::from_millis(80)), Err(Error::Timeout));
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(80), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn handles_are_send_and_sync_and_readers_can_move() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Ring>();
    send::<ringbuf_core::Reader>();
}

#[test]
fn a_flush_waited_on_in_slices_keeps_its_point_and_readers() {
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    ring.write(b"before").unwrap();
    let flush = ring.start_flush().unwrap();
    assert_eq!(flush.wait_timeout(Duration::from_millis(10)), Err(Error::Timeout));
    // Written after the flush began, and a reader created after it: the
    // flush waits for neither.
    ring.write(b"after").unwrap();
    let _late = ring.reader(Start::Oldest).unwrap();
    assert_eq!(rd.try_next().unwrap().data, b"before");
    assert!(flush.wait_timeout(Duration::ZERO).is_ok());
    assert!(ring.flush_timeout(Duration::ZERO).is_err(), "a new flush includes both");
}

#[test]
fn writev_writes_its_parts_as_one_record() {
    let ring = Ring::new(1024).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    assert_eq!(ring.writev(&[b"user=", b"", b"ann", b" ok"]), Ok(0));
    assert_eq!(ring.writev(&[]), Ok(1));
    let big = [7u8; 200];
    assert_eq!(ring.writev(&[&big, &big]), Err(Error::TooLarge { len: 400, max: 256 }));
    assert_eq!(rd.try_next().unwrap().data, b"user=ann ok");
    assert_eq!(rd.try_next().unwrap().data, b"");
    assert_eq!(rd.try_next(), Err(Error::Timeout), "the refused writev wrote nothing");
}

#[test]
fn snapshot_into_a_buffer_and_to_a_file_descriptor() {
    let ring = ring_with_20_records();
    let all = ring.snapshot().unwrap();
    assert_eq!(all.len(), 800);
    let mut small = [0u8; 100];
    assert_eq!(ring.snapshot_into(&mut small), Err(Error::BufSmall { len: 800, seq: 0, lost: 0 }));
    let mut buf = [0u8; 1024];
    assert_eq!(ring.snapshot_into(&mut buf), Ok(800));
    assert_eq!(&buf[..800], &all[..]);
    let path = std::env::temp_dir().join(format!("ringlog-dump-{}.bin", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    ring.dump_fd(std::os::fd::AsRawFd::as_raw_fd(&file)).unwrap();
    drop(file);
    let dumped = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(dumped, all);
    assert_eq!(ring.dump_fd(-1), Err(Error::Io(libc::EBADF)));
}

#[test]
fn stats_count_what_the_ring_holds() {
    let ring = ring_with_20_records();
    let _rd = ring.reader(Start::Newest).unwrap();
    let s = ring.stats();
    assert_eq!((s.written, s.oldest_seq, s.bytes_used), (20, 12, 8 * 120));
    assert_eq!((s.dropped, s.readers, s.capacity, s.max_record, s.closed), (0, 1, 1024, 256, false));
    ring.close().unwrap();
    assert!(ring.stats().closed);
}

/// The contract's one case where a write cannot claim room: a ring so
/// small that what it must evict is still being written. Three records of
/// the largest size stalled mid-write (claimed, not committed) fill a
/// 1 KiB ring; a fourth cannot be placed around them: Busy, counted,
/// nothing written. Once they commit, writes go on.
#[test]
fn a_ring_full_of_records_still_being_written_refuses_a_write() {
    let ring = Ring::new(1024).unwrap();
    let big = [1u8; 256];
    let stalled: Vec<_> = (0..3).map(|_| ring.begin_write(&big).unwrap()).collect();
    let t = Instant::now();
    assert_eq!(ring.write(&big), Err(Error::Busy));
    assert!(t.elapsed() < Duration::from_secs(1), "a bounded wait");
    assert_eq!(ring.stats().dropped, 1);
    assert_eq!(ring.stats().written, 3, "the refused write took no seq");
    for s in stalled {
        assert!(s.intact());
        s.commit();
    }
    assert_eq!(ring.pins_in_use(), 0);
    assert_eq!(ring.write(&big), Ok(3));
}

#[test]
fn wait_ready_waits_without_reading_and_keeps_the_loss() {
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    assert_eq!(rd.wait_ready(Some(Duration::from_millis(20))), Err(Error::Timeout));

    let writer = {
        let ring = ring.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            ring.write(b"late").unwrap();
        })
    };
    let t0 = Instant::now();
    assert_eq!(rd.wait_ready(Some(Duration::from_secs(10))), Ok(()));
    assert!(t0.elapsed() < Duration::from_secs(5));
    writer.join().unwrap();
    // Waiting again, or many times, reads nothing.
    assert_eq!(rd.wait_ready(None), Ok(()));
    let rec = rd.try_next().unwrap();
    assert_eq!((rec.seq, rec.lost, &rec.data[..]), (0, 0, &b"late"[..]));

    // Lapped while ready: the loss found by wait_ready is reported by the read.
    for i in 0..200u32 {
        ring.write(&i.to_le_bytes()).unwrap();
    }
    assert_eq!(rd.wait_ready(Some(Duration::ZERO)), Ok(()));
    let rec = rd.try_next().unwrap();
    assert!(rec.lost > 0);
    let (mut read, mut lost) = (1, rec.lost);
    while let Ok(r) = rd.try_next() {
        read += 1;
        lost += r.lost;
    }
    assert_eq!(read + lost, 200, "records read + lost = written since seq 1");
    assert_eq!(rd.lost_total(), lost);

    ring.close().unwrap();
    assert_eq!(rd.wait_ready(None), Err(Error::Closed));
}
