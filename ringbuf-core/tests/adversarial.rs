//! Adversarial review tests: each test states the contract it checks and
//! the interleaving that (in review) looked like it breaks it. Every test is
//! bounded in time (a watchdog aborts a hang).
//!
//!     cargo test -p ringbuf-core --test adversarial
//!     cargo test -p ringbuf-core --test adversarial --release
//!     cargo test -p ringbuf-core --test adversarial --features fault-injection
//!
//! loom models (at the end, `models`; about a minute):
//!
//!     RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release \
//!         -p ringbuf-core --test adversarial --target-dir target/loom

#[cfg(not(loom))]
mod common;

#[cfg(not(loom))]
mod plain {
    use super::common;
    use std::cell::Cell;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::mpsc;
    use std::thread;
    use std::time::{Duration, Instant};

    use ringbuf_core::{Error, Ring, Start};

    /// A 1 KiB ring: capacity 1024, data area 1088 (slack 64). Records of 8
    /// bytes take 24-byte frames, so record k spans [24k, 24k + 24) until the
    /// first lap, and the ring retains 42 of them.
    fn kib_ring() -> Ring {
        Ring::new(1024).unwrap()
    }

    // ---------------------------------------------------------------------------
    // Wake-ups tied to the commit while the claim is what changes the condition.
    // ---------------------------------------------------------------------------

    /// A flush waits until its point is evicted (the readers behind it were
    /// lapped). Eviction is decided by the *claim* (retention = claim - cap),
    /// but the wake-up for a sleeping flush is only sent by `after_commit`. A
    /// writer whose claim evicts the flush point and then stalls (preempted,
    /// stopped in a debugger, killed in a shared ring) leaves the flush asleep
    /// although `flushed()` is already true: the flush waits for a writer of a
    /// record written *after* it began.
    #[test]
    fn flush_is_woken_when_a_claim_evicts_its_point_even_if_that_writer_stalls() {
        let _dog = common::watchdog("flush_claim_wake", Duration::from_secs(30));
        let ring = kib_ring();
        let _idle = ring.reader(Start::Oldest).unwrap(); // never reads
        ring.write(&[0u8; 8]).unwrap(); // seq 0 at [0, 24)
        let flush = ring.start_flush().unwrap(); // point: seq 1
        for i in 1..42u8 {
            ring.write(&[i; 8]).unwrap(); // claim ends at 1008: seq 0 still retained
        }
        assert_eq!(ring.stats().oldest_seq, 0);
        let (tx, rx) = mpsc::channel();
        let f = thread::spawn(move || {
            let t = Instant::now();
            let r = flush.wait_timeout(Duration::from_secs(10));
            tx.send((r, t.elapsed())).unwrap();
        });
        thread::sleep(Duration::from_millis(200)); // the flush sleeps (threshold 1032)
                                                   // Claim [1008, 1032): seq 0 falls out of the capacity; the idle reader is
                                                   // lapped past the flush point. The writer then stalls before its commit.
        let stalled = ring.begin_write(&[42u8; 8]).unwrap();
        assert!(ring.stats().oldest_seq >= 1, "seq 0 is evicted: the flush is complete");
        let got = rx.recv_timeout(Duration::from_secs(2));
        let _ = stalled.commit(); // lets a still-sleeping flush go
        f.join().unwrap();
        let (r, took) = got.unwrap_or_else(|_| {
            panic!("flush still asleep 2 s after a claim evicted its point (only the stalled writer's commit wakes it)")
        });
        assert_eq!(r, Ok(()));
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    /// Same root cause, reader side. A reader sleeps at a stalled record (seq 0).
    /// Other writers commit (each wakes it; it is still retained, it sleeps on).
    /// Then a claim pushes seq 0 out of the capacity: the reader's `ready()`
    /// (`!valid(x)`) is now true, and `locate` would lap it to seq 1 (committed,
    /// retained). But that writer stalls before its commit, so nobody wakes the
    /// reader: it sleeps while its next record is there.
    #[test]
    fn a_reader_asleep_at_a_stalled_record_is_woken_when_a_claim_laps_it() {
        let _dog = common::watchdog("reader_claim_wake", Duration::from_secs(30));
        let ring = kib_ring();
        let mut rd = ring.reader(Start::Oldest).unwrap();
        let first = ring.begin_write(&[0u8; 8]).unwrap(); // seq 0, pending
        let (tx, rx) = mpsc::channel();
        let r = thread::spawn(move || {
            let rec = rd.next_timeout(Duration::from_secs(10));
            tx.send(rec.map(|r| (r.seq, r.lost))).unwrap();
        });
        thread::sleep(Duration::from_millis(100)); // asleep at seq 0
        for i in 1..42u8 {
            ring.write(&[i; 8]).unwrap(); // seq 1..41, committed, all retained
        }
        thread::sleep(Duration::from_millis(100)); // asleep again at seq 0
        let second = ring.begin_write(&[42u8; 8]).unwrap(); // claim to 1032: seq 0 evicted
        assert!(ring.stats().oldest_seq >= 1);
        let got = rx.recv_timeout(Duration::from_secs(2));
        let _ = second.commit();
        let _ = first.commit();
        r.join().unwrap();
        let got = got.unwrap_or_else(|_| panic!("reader asleep 2 s after it was lapped past a stalled record"));
        assert_eq!(got, Ok((1, 1)));
    }

    // ---------------------------------------------------------------------------
    // A panic inside `begin` (the caller's part iterator) leaves a pending record.
    // ---------------------------------------------------------------------------

    /// `Ring::write_parts` iterates the caller's iterator twice: once for the
    /// length, once inside `Shared::begin` to copy. The `Abandon` guard that
    /// turns a panicking write into a dead record is only created after
    /// `begin` returns, so a panic in the second iteration leaves a *pending*
    /// record behind for ever: readers stop at it, and once the ring laps it a
    /// pin is held for ever (`pins_in_use() > 0` with no writer running).
    #[test]
    fn a_panicking_part_iterator_leaves_no_pending_record_and_no_pin() {
        let _dog = common::watchdog("panicking_parts", Duration::from_secs(30));
        let ring = kib_ring();
        let mut rd = ring.reader(Start::Oldest).unwrap();
        let calls = Cell::new(0u32);
        let parts = (0..2).map(|_| {
            let n = calls.get();
            calls.set(n + 1);
            assert!(n < 2, "the caller's iterator panics in the copy pass");
            &b"abcd"[..]
        });
        assert!(catch_unwind(AssertUnwindSafe(|| ring.write_parts(parts))).is_err());
        // The write failed: a record that nobody will ever commit must not hold
        // readers up (it should be dead, counted as lost).
        ring.write(b"after").unwrap();
        let first = rd.try_next().map(|r| (r.seq, r.lost));
        // Lap the ring many times: the orphaned record reaches the tail.
        for i in 0..2000u32 {
            ring.write(&i.to_le_bytes()).unwrap();
        }
        let pins = ring.pins_in_use();
        assert!(
        first == Ok((1, 1)) && pins == 0,
        "after a panicking write: the reader got {first:?} (want seq 1, lost 1), {pins} pins in use with no writer running"
    );
    }

    /// `write_parts` with a (Clone) iterator that yields fewer bytes on the copy
    /// pass than on the length pass: the record is committed with `len` bytes,
    /// the tail of which were never written by this write: whatever an earlier
    /// lap left there (another record's bytes) is delivered as this record.
    /// (Caller misuse, but safe Rust; the missing bytes could be zeroed.)
    #[test]
    fn a_shrinking_part_iterator_does_not_deliver_stale_bytes() {
        let ring = kib_ring();
        for _ in 0..200 {
            ring.write(&[0xEE; 24]).unwrap(); // fill every byte of the data area
        }
        let mut rd = ring.reader(Start::Newest).unwrap();
        let calls = Cell::new(0u32);
        let parts = (0..2).map(|_| {
            let n = calls.get();
            calls.set(n + 1);
            if n < 2 {
                &b"abcdefgh"[..]
            } else {
                &b"ab"[..]
            }
        });
        ring.write_parts(parts).unwrap();
        let rec = rd.try_next().unwrap();
        assert_eq!(rec.data.len(), 16);
        assert!(!rec.data.contains(&0xEE), "bytes of older records delivered in a new one: {:?}", rec.data);
    }

    /// `flush_wait` uses `evicted_at` once to learn the claim end that evicts its
    /// point, and falls back to `point + capacity` ("late rather than early")
    /// when the tail moves during that walk. A late threshold is a lost
    /// wake-up: writers that evict the point but stop before `point +
    /// capacity` never wake the flush. Stress: the walk spans the whole ring
    /// (64 KiB of 24-byte frames) while a writer moves the tail every ~170
    /// records; the writer stops exactly one record after the point is
    /// evicted (before the fallback threshold).
    #[test]
    fn flush_is_woken_when_its_point_is_evicted_whatever_the_tail_did_during_its_walk() {
        let _dog = common::watchdog("flush_fallback_wake", Duration::from_secs(120));
        let cap = 64 * 1024;
        // After record j the claim ends at 24 (j + 1) (lap arithmetic aside:
        // positions only matter relative to the point). The point is evicted at
        // 24 (P - 1) + cap + 8, the fallback is 24 P + cap: 65536 = 24 * 2730 +
        // 16, so record P + 2729 evicts the point and stays below the fallback.
        let t0 = Instant::now();
        let mut hits = 0;
        let mut runs = 0;
        while runs < 200 && t0.elapsed() < Duration::from_secs(40) && hits == 0 {
            runs += 1;
            let ring = Ring::new(cap).unwrap();
            let _idle = ring.reader(Start::Oldest).unwrap();
            let p = 10_000u64;
            for i in 0..p {
                ring.write(&i.to_le_bytes()).unwrap();
            }
            let flush = ring.start_flush().unwrap();
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let w = {
                let (ring, barrier) = (ring.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    for i in p..p + 2730 {
                        ring.write(&i.to_le_bytes()).unwrap();
                    }
                })
            };
            barrier.wait();
            let r = flush.wait_timeout(Duration::from_millis(500));
            w.join().unwrap();
            if r.is_err() {
                assert!(ring.stats().oldest_seq >= p, "the point is not evicted: the test is wrong");
                // Done all along: a zero-timeout wait only checks, and succeeds.
                assert_eq!(flush.wait_timeout(Duration::ZERO), Ok(()));
                hits += 1;
            }
        }
        assert_eq!(hits, 0, "a flush slept 500 ms past the eviction of its point (runs: {runs})");
    }

    /// Control for the test above: the same writes, started only once the flush
    /// sleeps (its `evicted_at` walk saw a still tail), wake it in time.
    #[test]
    fn control_flush_is_woken_when_the_writer_starts_after_it_sleeps() {
        let _dog = common::watchdog("flush_fallback_control", Duration::from_secs(60));
        for _ in 0..5 {
            let ring = Ring::new(64 * 1024).unwrap();
            let _idle = ring.reader(Start::Oldest).unwrap();
            let p = 10_000u64;
            for i in 0..p {
                ring.write(&i.to_le_bytes()).unwrap();
            }
            let flush = ring.start_flush().unwrap();
            let w = {
                let ring = ring.clone();
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(50));
                    for i in p..p + 2730 {
                        ring.write(&i.to_le_bytes()).unwrap();
                    }
                })
            };
            let r = flush.wait_timeout(Duration::from_secs(2));
            w.join().unwrap();
            assert_eq!(r, Ok(()));
        }
    }

    // ---------------------------------------------------------------------------
    // image::parse on crafted input.
    // ---------------------------------------------------------------------------

    mod img {
        //! Header offsets (docs/FORMAT.md). Frames are crafted from real ones
        //! (flipping kind bits only), so the tests do not depend on the mask and
        //! check formulas.
        pub const CLAIM: usize = 64;
        pub const TAIL: usize = 128;
        pub const HEADER: usize = 2048;

        pub fn get(b: &[u8], off: usize) -> u64 {
            u64::from_ne_bytes(b[off..off + 8].try_into().unwrap())
        }

        pub fn put(b: &mut [u8], off: usize, v: u64) {
            b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        }

        pub fn put_pair(b: &mut [u8], off: usize, pos: u64, seq: u64) {
            b[off..off + 16].copy_from_slice(&((seq as u128) << 64 | pos as u128).to_ne_bytes());
        }

        pub fn pair(b: &[u8], off: usize) -> (u64, u64) {
            let v = u128::from_ne_bytes(b[off..off + 16].try_into().unwrap());
            (v as u64, (v >> 64) as u64)
        }
    }

    /// `parse` "trusts nothing: any byte string gives either an error or the
    /// records that are provably whole". A skip frame's length is not checked
    /// to be a multiple of 8 (`Shared::frame` checks it, `image::parse` does
    /// not), so the walk goes on at a misaligned position; near the end of the
    /// data area `u64_at` then reads past the end of the image and panics.
    ///
    /// Crafted from a real image: record 52 (252 bytes) starts at offset 832;
    /// its marker's kind bits are flipped from record (0) to skip (2), and the
    /// tail set to it. Its w1 (length 252, check for seq 52) is genuine, so the
    /// skip is 252 bytes long and the walk lands at offset 1084 of a 1088-byte
    /// data area.
    #[test]
    fn image_parse_rejects_a_misaligned_skip_instead_of_panicking() {
        let ring = kib_ring(); // data 1088, lap stride 2048
        for _ in 0..52 {
            ring.write(b"").unwrap(); // 16-byte frames: seq 52 starts at 832
        }
        assert_eq!(ring.write(&[9u8; 252]).unwrap(), 52);
        let mut b = ring.region_image();
        let (claim, next) = img::pair(&b, img::CLAIM);
        assert_eq!((claim, next), (2048 + 16, 53), "the record wraps: claim at lap 1, offset 16");
        // Unmodified, the image parses.
        let dump = ringbuf_core::image::parse(&b).unwrap();
        assert_eq!(dump.records.last().map(|r| r.0), Some(52));
        let w0 = img::get(&b, img::HEADER + 832);
        img::put(&mut b, img::HEADER + 832, w0 ^ (2 << 61)); // record -> skip
        img::put_pair(&mut b, img::TAIL, 832, 52);
        let r = catch_unwind(|| ringbuf_core::image::parse(&b));
        let dump = r.expect("image::parse panicked on a crafted image");
        assert!(dump.map_or(true, |d| d.records.is_empty()));
    }

    /// `Ring::region_image` copies the data area with one forward copy, having
    /// read the claim before and the tail after; its doc says torn frames are
    /// caught because "frames from [the tail] on were whole, and image::parse
    /// checks every frame's marker anyway". A frame *in flight* (claimed before
    /// the copy, committed during it) lies between the tail and the claim and is
    /// not whole: if its payload is copied before its writer wrote it and its
    /// marker after the commit, the image holds a committed marker over a
    /// stale payload, and `parse` returns it as a whole record. Deterministic
    /// order here: the frame wraps the end of the data area (header at the
    /// end, payload at offset 0), the caller's part iterator delays the payload
    /// until the copy has passed offset 0. (On weakly ordered CPUs the copy's
    /// loads may also be reordered for frames that do not wrap.)
    #[test]
    fn region_image_never_holds_a_committed_marker_over_a_stale_payload() {
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::sync::Arc;
        let _dog = common::watchdog("image_tear", Duration::from_secs(120));
        let ring = Ring::new(256 << 20).unwrap();
        // The data area: the capacity plus a slack (layout::slack).
        let data = (ring.region_image().len() - 2048) as u64;
        let slack = data - (256 << 20);
        assert!(slack >= 2048, "slack {slack}");
        // Fill up to offset data - 1024: four 64 MiB frames, one of slack -
        // 1024. (Not the last 128 bytes: glibc's large memcpy loads the first
        // and the last few vectors before its loop.)
        let big = vec![1u8; (64 << 20) - 16];
        for _ in 0..4 {
            ring.write(&big).unwrap();
        }
        ring.write(&vec![2u8; (slack - 1024 - 16) as usize]).unwrap();
        // Calibrate: how long a copy takes.
        let t = Instant::now();
        drop(ring.region_image());
        let copy = t.elapsed();
        let state = Arc::new(AtomicU32::new(0)); // 1: claimed, 2: copy started
        let w = {
            let (ring, state) = (ring.clone(), state.clone());
            thread::spawn(move || {
                let calls = Arc::new(AtomicU32::new(0));
                let parts = (0..1).map(move |_| {
                    if calls.fetch_add(1, Ordering::SeqCst) == 1 {
                        // The copy pass, after the claim and the pending header.
                        state.store(1, Ordering::SeqCst);
                        while state.load(Ordering::SeqCst) != 2 {
                            thread::yield_now();
                        }
                        thread::sleep(copy / 3); // the copy is past offset 0
                    }
                    &[0x5Au8; 1016][..] // [data - 1008, data) and [0, 8)
                });
                let seq = ring.write_parts(parts).unwrap();
                (seq, Instant::now())
            })
        };
        while state.load(Ordering::SeqCst) != 1 {
            thread::yield_now();
        }
        state.store(2, Ordering::SeqCst);
        let t0 = Instant::now();
        let img = ring.region_image();
        let t1 = Instant::now();
        let (seq, committed) = w.join().unwrap();
        eprintln!("image copy {:?}, the writer committed after {:?}", t1 - t0, committed.saturating_duration_since(t0));
        assert_eq!(seq, 5);
        let dump = ringbuf_core::image::parse(&img).unwrap();
        drop(img);
        match dump.records.iter().find(|r| r.0 == 5) {
            Some((_, bytes)) => {
                let stale = bytes.iter().filter(|&&b| b != 0x5A).count();
                assert_eq!(stale, 0, "image::parse returned a torn record as whole: {stale} of its 1016 bytes are stale (copy took {copy:?})");
            }
            None => eprintln!("record 5 left out (pending when copied): not torn; copy took {copy:?}"),
        }
    }

    // ---------------------------------------------------------------------------
    // Stress: stalled writers (held across many laps, several at once, some
    // abandoned), lapping writers, checking readers and snapshots.
    // ---------------------------------------------------------------------------

    fn xorshift(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    /// Splits a snapshot of `make_record` records and checks each.
    fn check_snapshot(snap: &[u8]) -> usize {
        let mut at = 0;
        let mut n = 0;
        while at < snap.len() {
            assert!(snap.len() - at >= common::FIXED, "snapshot ends in a partial record");
            let len = u32::from_le_bytes(snap[at + 12..at + 16].try_into().unwrap()) as usize;
            assert!(len >= common::FIXED && at + len <= snap.len(), "snapshot: bad record length {len} at {at}");
            common::check_record(&snap[at..at + len]);
            at += len;
            n += 1;
        }
        n
    }

    fn stalls_and_laps(capacity: usize, stallers: u32, lappers: u32, max_len: usize, run_for: Duration) {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let ring = Ring::new(capacity).unwrap();
        let writers = (stallers + lappers) as usize;
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|i| {
                let mut rd = ring.reader(Start::Seq(0)).unwrap();
                thread::spawn(move || {
                    let mut check = common::Checker::new(0, writers);
                    let mut n = 0u64;
                    loop {
                        match rd.next_timeout(Duration::from_secs(20)) {
                            Ok(rec) => {
                                check.see(rec.seq, rec.lost, &rec.data);
                                n += 1;
                                if i == 1 && n % 32 == 0 {
                                    thread::sleep(Duration::from_micros(200)); // a slow one: lapped
                                }
                            }
                            Err(Error::Closed) => return (check, rd.lost_total()),
                            Err(e) => panic!("reader {i}: {e:?}"),
                        }
                    }
                })
            })
            .collect();
        let snapper = {
            let (ring, stop) = (ring.clone(), stop.clone());
            thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    check_snapshot(&ring.snapshot().unwrap());
                    n += 1;
                    thread::sleep(Duration::from_micros(100));
                }
                n
            })
        };
        let ws: Vec<_> = (0..writers as u32)
            .map(|w| {
                let (ring, stop) = (ring.clone(), stop.clone());
                thread::spawn(move || {
                    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ ((w as u64 + 1) * 0x1234_5678_9ABC);
                    let mut c = 0u64;
                    let (mut ok, mut busy, mut abandoned) = (0u64, 0u64, 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        let len = common::FIXED + (xorshift(&mut rng) as usize % (max_len - common::FIXED + 1));
                        let rec = common::make_record(w, c, len);
                        c += 1;
                        if w < stallers {
                            match ring.begin_write(&rec) {
                                Ok(p) => {
                                    // Stall: long enough for the ring to lap.
                                    let us = xorshift(&mut rng) % 400;
                                    thread::sleep(Duration::from_micros(us));
                                    assert!(p.intact(), "staller {w}: its bytes were written over while it stalled");
                                    if xorshift(&mut rng) % 8 == 0 {
                                        drop(p); // abandoned: dead
                                        abandoned += 1;
                                    } else {
                                        p.commit();
                                        ok += 1;
                                    }
                                }
                                Err(Error::Busy) => busy += 1,
                                Err(e) => panic!("{e:?}"),
                            }
                        } else {
                            match ring.write(&rec) {
                                Ok(_) => ok += 1,
                                Err(Error::Busy) => busy += 1,
                                Err(e) => panic!("{e:?}"),
                            }
                        }
                    }
                    (ok, busy, abandoned)
                })
            })
            .collect();
        thread::sleep(run_for);
        stop.store(true, Ordering::Relaxed);
        let mut total = (0, 0, 0);
        for w in ws {
            let (o, b, a) = w.join().unwrap();
            total = (total.0 + o, total.1 + b, total.2 + a);
        }
        let snaps = snapper.join().unwrap();
        assert_eq!(ring.pins_in_use(), 0, "pins left with no writer running");
        let stats = ring.stats();
        assert_eq!(stats.written, total.0 + total.2);
        assert_eq!(stats.dropped, total.1);
        ring.close().unwrap();
        for r in readers {
            // Abandoned (dead) records at the very end are lost with no
            // record after them to say so: lost_total counts them.
            let (c, lost_total) = r.join().unwrap();
            c.finish_with_total(stats.written, lost_total);
        }
        // A final snapshot after everything: whole records only.
        check_snapshot(&ring.snapshot().unwrap());
        eprintln!(
            "capacity {capacity}: written {} (abandoned {}), busy {}, snapshots {snaps}",
            stats.written, total.2, total.1
        );
    }

    #[test]
    fn stress_stalled_writers_across_laps_small_records() {
        let _dog = common::watchdog("stress_small", Duration::from_secs(120));
        stalls_and_laps(4096, 3, 2, 100, Duration::from_secs(4));
    }

    #[test]
    fn stress_stalled_writers_across_laps_large_records() {
        let _dog = common::watchdog("stress_large", Duration::from_secs(120));
        stalls_and_laps(4096, 2, 2, 1024, Duration::from_secs(4));
    }

    #[test]
    fn stress_stalled_writers_tiny_ring() {
        let _dog = common::watchdog("stress_tiny", Duration::from_secs(120));
        stalls_and_laps(1024, 2, 2, 200, Duration::from_secs(4));
    }

    /// Many stalled records held at once (adjacent ones, spread ones, of
    /// varied sizes, some wrapping the end of the data area) while the ring laps
    /// them hundreds of times: nobody writes over them, every pin goes with its
    /// commit, a reader's read + lost = written, and the retained records are
    /// whole. Deterministic (one thread), so any failure replays.
    #[test]
    fn many_pins_held_across_hundreds_of_laps() {
        let _dog = common::watchdog("many_pins", Duration::from_secs(120));
        for (capacity, sizes) in [(4096usize, [20usize, 37, 100, 255, 64]), (16384, [20, 1000, 33, 512, 4000])] {
            for shift in 0..24usize {
                let ring = Ring::new(capacity).unwrap();
                let mut rd = ring.reader(Start::Seq(0)).unwrap();
                let mut check = common::Checker::new(0, 3);
                let mut c = [0u64; 3];
                let rec = |w: u32, len: usize, c: &mut [u64; 3]| {
                    let r = common::make_record(w, c[w as usize], len);
                    c[w as usize] += 1;
                    r
                };
                // Move the start around so the stalled ones land everywhere,
                // wrapping the end of the data area included.
                for i in 0..shift * 7 {
                    ring.write(&rec(0, 20 + (i * 13) % 90, &mut c)).unwrap();
                }
                let mut held = Vec::new();
                for (k, &len) in sizes.iter().enumerate() {
                    held.push(ring.begin_write(&rec(1, len, &mut c)).unwrap()); // adjacent to the previous one
                    if k % 2 == 1 {
                        ring.write(&rec(0, 20 + k * 11, &mut c)).unwrap(); // spread
                    }
                }
                let mut busy = 0;
                for i in 0..capacity * 40 / 64 {
                    match ring.write(&rec(2, 20 + (i * 31 + shift) % 150, &mut c)) {
                        Ok(_) => {}
                        Err(Error::Busy) => busy += 1,
                        Err(e) => panic!("{e:?}"),
                    }
                    if i % 7 == 0 {
                        while let Ok(r) = rd.try_next() {
                            check.see(r.seq, r.lost, &r.data);
                        }
                    }
                }
                assert_eq!(
                    ring.pins_in_use() as usize,
                    held.len(),
                    "capacity {capacity} shift {shift}: every stalled record pinned"
                );
                for (k, p) in held.into_iter().enumerate() {
                    assert!(p.intact(), "capacity {capacity} shift {shift}: stalled record {k} written over");
                    if k % 3 == 2 {
                        drop(p);
                    } else {
                        p.commit();
                    }
                }
                assert_eq!(ring.pins_in_use(), 0);
                for i in 0..200 {
                    ring.write(&rec(0, 20 + i % 50, &mut c)).unwrap();
                }
                check_snapshot(&ring.snapshot().unwrap());
                ring.close().unwrap();
                while let Ok(r) = rd.try_next() {
                    check.see(r.seq, r.lost, &r.data);
                }
                check.finish(ring.stats().written);
                assert_eq!(ring.stats().dropped, busy);
                assert!(
                    busy == 0 || capacity < 8192,
                    "capacity {capacity} shift {shift}: {busy} writes refused with 5 pins"
                );
            }
        }
    }

    // ---------------------------------------------------------------------------
    // Plain API behaviour that must not be broken by the above.
    // ---------------------------------------------------------------------------

    #[test]
    fn flush_and_read_after_the_stalled_claims_commit() {
        let _dog = common::watchdog("flush_after_commit", Duration::from_secs(30));
        let ring = kib_ring();
        let mut rd = ring.reader(Start::Oldest).unwrap();
        let p = ring.begin_write(&[7u8; 8]).unwrap();
        assert_eq!(rd.try_next(), Err(Error::Timeout));
        assert_eq!(p.commit(), 0);
        assert_eq!(rd.try_next().unwrap().seq, 0);
        ring.flush_timeout(Duration::from_secs(5)).unwrap();
    }
}

#[cfg(loom)]
mod models {
    use loom::thread;
    use ringbuf_core::{Error, Reader, Record, Ring, Start};

    fn payload(tag: u64) -> [u8; 8] {
        [tag as u8 + 1; 8]
    }

    fn ring() -> Ring {
        Ring::with_capacity_unchecked(64).unwrap()
    }

    fn drain(rd: &mut Reader) -> Vec<Record> {
        let mut out = Vec::new();
        loop {
            match rd.try_next() {
                Ok(rec) => out.push(rec),
                Err(Error::Timeout | Error::Closed) => return out,
                Err(e) => panic!("{e:?}"),
            }
        }
    }

    /// A writer preempted anywhere in `begin` (in particular between its
    /// claim and its first header store: the frame is *unwritten* and its
    /// extent comes from `unwritten_extent`) while another writer laps the
    /// ring: its bytes are never written over (checked before its commit),
    /// the lapping writer's records are whole, no pin outlives the commit.
    fn stalled_anywhere_in_begin(prefill: u64, others: u64) {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        static BUSY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        loom::model(move || {
            RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let ring = ring();
            for t in 0..prefill {
                ring.write(&payload(t)).unwrap();
            }
            let a = {
                let ring = ring.clone();
                thread::spawn(move || match ring.begin_write(&[100u8; 8]) {
                    Ok(p) => {
                        let intact = p.intact();
                        (Some(p.commit()), intact)
                    }
                    Err(Error::Busy) => (None, true),
                    Err(e) => panic!("{e:?}"),
                })
            };
            let b = {
                let ring = ring.clone();
                thread::spawn(move || {
                    let mut done = Vec::new();
                    for t in prefill + 1..=prefill + others {
                        match ring.write(&payload(t)) {
                            Ok(seq) => done.push((seq, t)),
                            Err(Error::Busy) => {}
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                    done
                })
            };
            let (a_seq, a_intact) = a.join().unwrap();
            let done = b.join().unwrap();
            if a_seq.is_none() || done.len() < others as usize {
                BUSY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            assert!(a_intact, "a writer wrote over the stalled record's bytes");
            assert_eq!(ring.pins_in_use(), 0, "a pin outlived the stalled writer's commit");
            let mut rd = ring.reader(Start::Oldest).unwrap();
            let got = drain(&mut rd);
            let mut next = None;
            for r in &got {
                let want = if Some(r.seq) == a_seq {
                    [100u8; 8]
                } else if r.seq < prefill {
                    payload(r.seq)
                } else {
                    let t =
                        done.iter().find(|d| d.0 == r.seq).unwrap_or_else(|| panic!("seq {} never written", r.seq)).1;
                    payload(t)
                };
                assert_eq!(r.data, want, "record {} torn or wrong", r.seq);
                if let Some(n) = next {
                    assert_eq!(r.seq, n + r.lost);
                }
                next = Some(r.seq + 1);
            }
        });
        eprintln!(
            "prefill {prefill}, others {others}: {} executions, {} with a Busy",
            RUNS.load(std::sync::atomic::Ordering::Relaxed),
            BUSY.load(std::sync::atomic::Ordering::Relaxed)
        );
    }

    #[test]
    fn stalled_in_begin_first_record_three_others() {
        stalled_anywhere_in_begin(0, 3);
    }

    #[test]
    fn stalled_in_begin_after_one_record_three_others() {
        stalled_anywhere_in_begin(1, 3);
    }

    #[test]
    fn stalled_in_begin_after_two_records_four_others() {
        stalled_anywhere_in_begin(2, 4);
    }

    /// A reader racing a writer that pins a stalled record and places its
    /// own around it with a skip frame (128-byte ring, 192-byte data area:
    /// the stalled seq 0 is pinned by seq 7's eviction, and seq 7 goes
    /// after a skip over its next lap). Every record the reader gets is
    /// whole, read + lost = written, the stalled bytes stay intact.
    #[test]
    fn a_reader_racing_a_write_around_a_pinned_record() {
        loom::model(|| {
            let ring = Ring::with_capacity_unchecked(128).unwrap();
            let stalled = ring.begin_write(&[100u8; 8]).unwrap(); // seq 0 at [0, 24)
            for t in 1..=5 {
                ring.write(&payload(t)).unwrap(); // [24, 144)
            }
            let mut rd = ring.reader(Start::Seq(0)).unwrap();
            let w = {
                let ring = ring.clone();
                thread::spawn(move || {
                    assert_eq!(ring.write(&payload(6)), Ok(6));
                    assert_eq!(ring.write(&payload(7)), Ok(7)); // evicts, pins seq 0, skips
                })
            };
            let r = thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..3 {
                    if let Ok(rec) = rd.try_next() {
                        got.push(rec);
                    }
                }
                (rd, got)
            });
            w.join().unwrap();
            let (mut rd, mut got) = r.join().unwrap();
            assert!(stalled.intact(), "the stalled record was written over");
            assert_eq!(ring.pins_in_use(), 1);
            got.extend(drain(&mut rd));
            let mut next = 0;
            for r in &got {
                assert_eq!(r.data, payload(r.seq), "record {} torn or wrong", r.seq);
                assert_eq!(r.seq, next + r.lost, "{got:?}");
                next = r.seq + 1;
            }
            assert_eq!(next, 8, "{got:?}");
            stalled.commit();
            assert_eq!(ring.pins_in_use(), 0);
        });
    }
}
