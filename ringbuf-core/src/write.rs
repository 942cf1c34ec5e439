//! The write path: claim, copy, commit, wake. No writer ever waits for
//! another writer.
//!
//! # The protocol in one page
//!
//! Two 16-byte words in the region header drive everything (`layout`):
//!
//! * `claim = (C, S)`: the end of the last claimed frame and the seq the
//!   next record gets. Bit 0 of `C` is the closed flag.
//! * `tail = (T, U)`: the first frame not evicted and its seq. Bytes from
//!   `T` up to `C` are intact: nobody writes there until `T` moves.
//!
//! Positions are virtual byte positions (`pos`); the data area holds `data
//! = capacity + slack` bytes, so claims may run up to `T + data - 16`.
//!
//! **Claim** (one atomic step, `claim`): read `claim`, `tail` and the pins;
//! place the frame at `C` (or, if pinned bytes are in the way, a skip frame
//! at `C` and the record after them); if it would end past `T + data - 16`,
//! evict first (below) and start over; then CAS `claim` from `(C, S)` to
//! `(end, S + 1)`. The CAS gives the record its place and its seq at once.
//! It fails only when another writer claimed in between; the loop retries
//! with the value the CAS returned. Nobody holds anything across the loop:
//! a writer preempted anywhere in it holds up no one. The common case (no
//! pins, no eviction due, no other claim in between) is one straight pass,
//! `claim_fast`; everything else goes through `claim_slow`.
//!
//! **Write** (`write_parts`): store the skip frame's header if any, then the
//! record's header as *pending* (`frame`), then the payload, then the
//! marker *record* (Release). The record is committed: readers stop at the
//! first frame that is not, and go on when it is. Writers commit in any
//! order; readers see records in seq order.
//!
//! **Evict** (`evict`): walk frames from `T`, and move `tail` with a CAS to
//! the first frame boundary at or after `end - capacity` (the retention
//! boundary: the ring keeps exactly the newest records that fit in its
//! capacity, readers check it, `read`). The walk passes committed, dead and
//! skip frames in bulk. One move frees up to a slack's worth of bytes, so
//! the tail's line is written once per many records and stays in the
//! readers' caches. A record still pending at the tail belongs to a writer
//! the ring has lapped during its copy: it is *pinned* (`pins`) and the
//! tail moves past it; claims then skip its bytes until it commits. Only
//! when every pin slot is taken, or the ring is too small to place a frame
//! around the pinned bytes, does a write fail: it retries for at most
//! `BUSY_WAIT` (never when nested in a signal handler on a thread that is
//! itself inside a write), then returns `Busy`, counted in `dropped`.
//!
//! **Wake** (`wake`): after its commit, a writer runs a SeqCst fence and
//! reads one cache line: the sleeper count, the flush threshold and the
//! pin mask. A reader going to sleep increments the sleeper count, runs a
//! SeqCst fence, then checks its frame once more before it sleeps on the
//! futex. Either the writer sees the sleeper (and wakes everyone with one
//! futex call) or the reader sees the commit (and does not sleep).
//!
//! The interleavings that make it hard, and where they are handled:
//!
//! 1. A writer claims, is preempted, and the ring laps it: `evict` pins the
//!    frame; claims skip the pinned bytes (`place`); readers are lapped past
//!    the record; the late writer's commit releases the pin.
//! 2. A writer reads a tail, another writer moves it and claims the bytes:
//!    the first writer's CAS on `claim` fails (the claim moved), so it
//!    never writes where it should not.
//! 3. A reader copies a frame while a writer of the next lap overwrites it:
//!    writers move the tail before they claim and fence (Release) before
//!    their first store into the data area; readers fence (Acquire) after
//!    their copy and re-read the tail (`Shared::intact`).
//! 4. A signal handler writes while its thread is inside a write: its claim
//!    is simply the next one; if the interrupted record blocks the tail, it
//!    is pinned like any stalled record. A nested write never waits.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::frame::{frame_size, Frame, Kind, HEADER_LEN, SEQ_LIMIT};
use crate::layout::{pos_of, CLOSED};
use crate::pins::{Pin, Pins};
use crate::reap::RUN_PIN;
use crate::shared::Shared;
use crate::sync::{fence, relax, Ordering, Pair};

/// The longest a write retries when the tail is blocked by a stalled
/// record it cannot pin (every pin slot taken, or a ring too small to place
/// a frame around the pinned bytes) before it returns Busy.
pub const BUSY_WAIT: Duration = Duration::from_micros(50);

/// Bytes kept free between the claim and the tail's next lap: room for a
/// skip frame's header in front of a range pinned later (`place`).
const RESERVE: u64 = HEADER_LEN;

thread_local! {
    /// Writes in progress on this thread: more than one means a signal
    /// handler interrupted a write. `const`: no lazy initialisation, so a
    /// handler may touch it at any time.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Marks this thread as inside a write for its lifetime.
struct Depth {
    nested: bool,
}

impl Depth {
    fn enter() -> Depth {
        let d = DEPTH.with(|d| {
            let v = d.get();
            d.set(v + 1);
            v
        });
        Depth { nested: d > 0 }
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

/// How long a blocked write keeps trying.
struct Patience {
    nested: bool,
    #[cfg_attr(loom, allow(dead_code))]
    until: Option<Instant>,
    #[cfg(loom)]
    tries: u32,
}

impl Patience {
    fn new(nested: bool) -> Patience {
        Patience {
            nested,
            until: None,
            #[cfg(loom)]
            tries: 0,
        }
    }

    /// True: try again; false: give up (Busy).
    fn again(&mut self) -> bool {
        if self.nested {
            return false;
        }
        #[cfg(loom)]
        {
            self.tries += 1;
            loom::thread::yield_now();
            self.tries < 3
        }
        #[cfg(not(loom))]
        {
            let now = Instant::now();
            let until = *self.until.get_or_insert(now + BUSY_WAIT);
            for _ in 0..32 {
                std::hint::spin_loop();
            }
            now < until
        }
    }
}

/// A claimed place: an optional skip frame at `skip`, the record at `rec`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Claim {
    skip: Option<(u64, u64)>,
    rec: u64,
    /// `mask(key, rec)`, computed once for the pending and final markers.
    mask: u64,
    seq: u64,
    end: u64,
}

/// Where a frame of `size` bytes can go from `start`.
enum Place {
    /// At `rec`; a skip frame covers `start..rec` when they differ.
    At(u64),
    /// Pinned bytes leave no room within reach.
    Blocked,
}

impl Shared {
    /// Appends one record made of `parts` (`len` bytes in all); returns its
    /// seq.
    pub(crate) fn write_parts<'p>(&self, parts: impl IntoIterator<Item = &'p [u8]>, len: u64) -> Result<u64, Error> {
        let depth = Depth::enter();
        let c = self.begin(len, depth.nested)?;
        // From here to the commit, a panic (a bug, fault injection, or the
        // caller's part iterator) would leave a pending record for ever:
        // the guard marks it dead instead, and readers count it as lost.
        let guard = Abandon { shared: self, claim: c };
        self.copy_parts(c, parts, len);
        crate::fault_point!(WriteBeforeCommit);
        std::mem::forget(guard);
        Ok(self.commit(c))
    }

    /// Claims room for a record of `len` bytes and writes its headers,
    /// uncommitted (a skip frame first if pinned bytes are skipped). The
    /// caller copies the payload (`copy_parts`), then `commit` or `abandon`
    /// finishes it.
    #[inline(always)]
    pub(crate) fn begin(&self, len: u64, nested: bool) -> Result<Claim, Error> {
        if len > self.max_record {
            return Err(Error::TooLarge {
                len: usize::try_from(len).unwrap_or(usize::MAX),
                max: self.max_record as usize,
            });
        }
        self.check_fork()?;
        let c = match self.claim_fast(len) {
            Some(c) => c,
            None => self.claim_slow(len, nested)?,
        };
        // Claimed, no header stored yet (tests park a writer here).
        crate::fault_point!(WriteAfterClaim);
        // Release fence before the first store into the data area: pairs
        // with the Acquire fence in `Shared::valid`. A reader whose copy saw
        // one of our bytes also sees the tail we saw, which evicted
        // whatever was there before.
        fence(Ordering::Release);
        if let Some((at, size)) = c.skip {
            self.put_header(at, self.mask_at(at), c.seq, Kind::Skip, size);
        }
        self.put_header(c.rec, c.mask, c.seq, Kind::Pending, len);
        Ok(c)
    }

    /// Copies the payload of claim `c`: `len` bytes from `parts`. Never more
    /// than claimed, whatever the parts say now; if they hold fewer bytes
    /// than they did when `len` was counted, the rest is zeros (never the
    /// bytes of an older record).
    pub(crate) fn copy_parts<'p>(&self, c: Claim, parts: impl IntoIterator<Item = &'p [u8]>, len: u64) {
        // Data offsets, wrapping at the end of the data area.
        let data = self.geo.data;
        let wrap = |off: u64| if off >= data { off - data } else { off };
        let mut off = wrap(self.geo.off(c.rec) + HEADER_LEN);
        let mut left = len;
        for part in parts {
            let part = &part[..part.len().min(left as usize)];
            self.region.write_bytes(off, part);
            off = wrap(off + part.len() as u64);
            left -= part.len() as u64;
        }
        if left > 0 {
            self.zero_fill(off, left);
        }
    }

    /// Zeros `n` payload bytes from data offset `off` (parts that shrank).
    #[cold]
    fn zero_fill(&self, mut off: u64, mut n: u64) {
        const ZEROS: [u8; 256] = [0; 256];
        while n > 0 {
            let k = n.min(ZEROS.len() as u64);
            self.region.write_bytes(off, &ZEROS[..k as usize]);
            off = (off + k) % self.geo.data;
            n -= k;
        }
    }

    /// Commits a record written by `begin`; returns its seq.
    #[inline]
    pub(crate) fn commit(&self, c: Claim) -> u64 {
        self.set_kind(c.rec, c.mask, c.seq, Kind::Record);
        self.after_commit(c);
        c.seq
    }

    /// Gives up a record written by `begin`: readers count it as lost.
    pub(crate) fn abandon(&self, c: Claim) {
        self.set_kind(c.rec, c.mask, c.seq, Kind::Dead);
        self.after_commit(c);
    }

    /// True when the payload `begin` wrote for `c` is still in place
    /// (tests: nobody wrote over a stalled record).
    pub(crate) fn intact_payload(&self, c: Claim, parts: &[&[u8]]) -> bool {
        let mut at = self.geo.advance(c.rec, HEADER_LEN);
        parts.iter().all(|part| {
            let mut buf = vec![0u8; part.len()];
            self.region.read_bytes(self.geo.off(at), &mut buf);
            at = self.geo.advance(at, part.len() as u64);
            buf == *part
        })
    }

    /// What every commit (or abandoned write) does last: release its pins,
    /// wake sleepers and flushes that wait for it.
    #[inline]
    fn after_commit(&self, c: Claim) {
        // SeqCst fence between the marker store and the loads below: pairs
        // with the fences of `Shared::sleep` (readers), `flush_wait` and
        // `evict` (pins). See the module doc.
        fence(Ordering::SeqCst);
        let h = self.region.header();
        if h.pins_mask.load(Ordering::Relaxed) != 0 {
            Pins(h).release_seq(c.seq);
        }
        let mut wake = h.sleepers.load(Ordering::Relaxed) != 0 && h.sleepers.swap(0, Ordering::Relaxed) != 0;
        let mut at = h.flush_at.load(Ordering::Relaxed);
        while at <= c.end {
            // A flush sleeps until the claim reaches `at`: ours did. Clear
            // it (the flush re-arms it if it still waits) and wake.
            match h.flush_at.compare_exchange(at, u64::MAX, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    wake = true;
                    break;
                }
                Err(now) => at = now,
            }
        }
        if wake {
            self.wake();
        }
    }

    /// The common case of `claim`, in one try: the ring open, no pinned
    /// bytes, room without evicting, no other writer claiming in between.
    /// `None` sends the caller to `claim_slow`, which handles everything.
    #[inline(always)]
    fn claim_fast(&self, len: u64) -> Option<Claim> {
        #[cfg(feature = "fault-injection")]
        if crate::fault::armed(crate::fault::Point::WriteBusy) {
            return None;
        }
        let h = self.region.header();
        let g = self.geo;
        // Acquire: as in `claim`.
        let cur = h.claim.load(Ordering::Acquire);
        let tail = h.tail.load(Ordering::Acquire);
        let start = pos_of(cur);
        let end = g.advance(start, frame_size(len));
        if cur.pos != start // closed
            || cur.seq >= SEQ_LIMIT
            || tail.pos > start
            || end > g.advance(tail.pos, g.data - RESERVE)
            || Pins(h).mask() != 0
        {
            return None;
        }
        let new = Pair { pos: end, seq: cur.seq + 1 };
        // AcqRel: as in `claim`.
        h.claim.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Relaxed).ok()?;
        Some(Claim { skip: None, rec: start, mask: self.mask_at(start), seq: cur.seq, end })
    }

    /// Every other case of a claim: retries, eviction, pinned bytes, Busy
    /// (counted in `dropped`), a closed ring.
    #[cold]
    #[inline(never)]
    fn claim_slow(&self, len: u64, nested: bool) -> Result<Claim, Error> {
        #[cfg(feature = "fault-injection")]
        let busy = crate::fault::take(crate::fault::Point::WriteBusy);
        #[cfg(not(feature = "fault-injection"))]
        let busy = false;
        self.check_file()?;
        let claimed = if busy { Err(Error::Busy) } else { self.claim(len, nested) };
        if let Err(Error::Busy) = claimed {
            self.header().dropped.fetch_add(1, Ordering::Relaxed);
        }
        claimed
    }

    /// Claims room for a record of `len` bytes (module doc).
    fn claim(&self, len: u64, nested: bool) -> Result<Claim, Error> {
        let h = self.region.header();
        let g = self.geo;
        let size = frame_size(len);
        let mut patience = Patience::new(nested);
        // Acquire: the tail and pins seen by the writer of this claim are
        // visible (see `place`).
        let mut cur = h.claim.load(Ordering::Acquire);
        loop {
            if cur.pos & CLOSED != 0 {
                return Err(Error::Closed);
            }
            if cur.seq >= SEQ_LIMIT {
                return Err(Error::Closed); // 2^61 records: not in this universe
            }
            let start = pos_of(cur);
            // Acquire: a tail moved past a stalled record comes with its pin
            // (the pin is published before the tail moves, `evict`).
            let tail = h.tail.load(Ordering::Acquire);
            if tail.pos > start {
                // Our claim word is stale (others claimed and evicted since).
                cur = h.claim.load(Ordering::Acquire);
                continue;
            }
            let pins = Pins(h).mask();
            let rec = if pins == 0 {
                start
            } else {
                match self.place(start, size, pins) {
                    Place::At(rec) => rec,
                    Place::Blocked => {
                        if self.reap_pins() || patience.again() {
                            cur = h.claim.load(Ordering::Acquire);
                            continue;
                        }
                        return Err(Error::Busy);
                    }
                }
            };
            let end = g.advance(rec, size);
            if rec != start && g.dist(end, start) > g.cap {
                // Pinned bytes and the record together exceed the capacity.
                if self.reap_pins() || patience.again() {
                    cur = h.claim.load(Ordering::Acquire);
                    continue;
                }
                return Err(Error::Busy);
            }
            // Claims end at most `data - RESERVE` bytes after the tail.
            if end > g.advance(tail.pos, g.data - RESERVE) {
                match self.evict(g.back(end, g.cap)) {
                    Ok(()) => {}
                    Err(Error::Busy) if self.reap_pins() || patience.again() => {}
                    Err(e) => return Err(e),
                }
                cur = h.claim.load(Ordering::Acquire);
                continue;
            }
            let new = Pair { pos: end, seq: cur.seq + 1 };
            // AcqRel: Acquire as for the load above; Release publishes what
            // this writer saw (tail, pins) to the next claimer.
            match h.claim.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    let skip = (rec != start).then(|| (start, g.dist(rec, start)));
                    return Ok(Claim { skip, rec, mask: self.mask_at(rec), seq: cur.seq, end });
                }
                Err(now) => {
                    cur = now;
                    relax();
                }
            }
        }
    }

    /// Where a frame of `size` bytes goes, claimed from `start`, around the
    /// pinned ranges in `pins`: at `start` if nothing pinned is within
    /// `size + RESERVE` bytes (the reserve leaves the next claim room for a
    /// skip header), else after the pinned bytes, with a skip frame from
    /// `start`.
    ///
    /// Why the skip header at `start` always fits: a pin is made for a
    /// frame at the tail, `q >= T`; every claim so far ended at most at
    /// `T + data - RESERVE`, so `start + RESERVE <= q + data`, the pinned
    /// bytes' next lap. Pins known to a claim are avoided with the reserve
    /// too.
    fn place(&self, start: u64, size: u64, pins: u64) -> Place {
        let g = self.geo;
        let mut rec = start;
        'again: loop {
            if g.dist(rec, start) > g.cap {
                return Place::Blocked;
            }
            let off = g.off(rec);
            for p in Pins(self.region.header()).each(pins) {
                // The pinned range's start relative to `rec`, on the circle
                // of the data area.
                let a = (g.off(p.pos) + g.data - off) % g.data;
                let inside = a + p.ext > g.data; // `rec` lies within it
                if inside || a < size + RESERVE {
                    let skip_to = if inside { a + p.ext - g.data } else { a + p.ext };
                    if rec == start && !inside && a < RESERVE {
                        return Place::Blocked; // no room for the skip header
                    }
                    if rec == start && inside {
                        return Place::Blocked; // the claim itself is pinned
                    }
                    if skip_to > g.data {
                        return Place::Blocked;
                    }
                    rec = g.advance(rec, skip_to);
                    continue 'again;
                }
            }
            return Place::At(rec);
        }
    }

    /// Moves the tail to the first frame boundary at or after `target`
    /// (module doc). Ok when the tail is there (moved by this call or
    /// another); Busy when a stalled record blocks it and cannot be pinned.
    pub(crate) fn evict(&self, target: u64) -> Result<(), Error> {
        let h = self.region.header();
        let g = self.geo;
        if self.is_file() && h.pins_mask.load(Ordering::Relaxed) != 0 {
            self.reap_pins_now_and_then();
        }
        loop {
            let t = h.tail.load(Ordering::Acquire);
            if t.pos >= target {
                return Ok(());
            }
            // Pass whole frames in bulk, up to the target or a stalled one.
            let (mut x, mut s) = (t.pos, t.seq);
            let mut stalled = None;
            let mut run_groups = 0;
            while x < target {
                if let Some(size) = self.committed_size(x, s) {
                    x = g.advance(x, size);
                    s += 1;
                    continue;
                }
                let f = self.frame(x, s);
                match f {
                    Frame::Record { .. } | Frame::Dead { .. } | Frame::Skip { .. } => {
                        x = g.advance(x, f.size().unwrap_or(0));
                        s = f.next_seq(s);
                    }
                    Frame::Pending { len, owner } => {
                        if self.reap(x, s, owner) {
                            continue; // its writer is gone: now dead, passed as such
                        }
                        stalled = Some(Pin { seq: s, pos: x, ext: frame_size(len) });
                        break;
                    }
                    Frame::Unwritten => {
                        stalled = self.unwritten_extent(x, s).map(|ext| Pin { seq: s, pos: x, ext });
                        if stalled.is_none() && x == t.pos {
                            // A ring file: a run of headerless claims of
                            // dead (or long stopped) writers, pinned for
                            // good once it has blocked long enough (`reap`).
                            if let Some((ext, k)) = self.stuck_run(x, s) {
                                stalled = Some(Pin { seq: RUN_PIN, pos: x, ext });
                                run_groups = k;
                            }
                        }
                        break;
                    }
                }
            }
            if x != t.pos {
                // The frames walked were intact when read: nothing writes at
                // or after `T` until the tail moves, and if it moved, the
                // CAS fails (it only grows: no ABA).
                let _ = h.tail.compare_exchange(t, Pair { pos: x, seq: s }, Ordering::AcqRel, Ordering::Acquire);
                continue;
            }
            // The frame at the tail is stalled.
            let Some(pin) = stalled else {
                if h.tail.load(Ordering::Acquire) != t {
                    continue; // what we read was stale: the tail moved on
                }
                // Claimed, header not written, extent unknown: wait for it.
                return Err(Error::Busy);
            };
            let Some(slot) = Pins(h).pin(pin) else {
                return Err(Error::Busy);
            };
            // SeqCst fence between publishing the pin and re-reading the
            // marker: pairs with `after_commit` (module doc of `pins`).
            fence(Ordering::SeqCst);
            if self.group_done(pin.pos, pin.seq) {
                Pins(h).release(slot, pin.seq); // committed meanwhile: evict it normally
                continue;
            }
            let after = if pin.seq == RUN_PIN { t.seq + run_groups } else { pin.seq + 1 };
            let past = Pair { pos: g.advance(pin.pos, pin.ext), seq: after };
            if h.tail.compare_exchange(t, past, Ordering::AcqRel, Ordering::Acquire).is_err() {
                Pins(h).release(slot, pin.seq); // someone else moved the tail: their pin counts
                continue;
            }
            // Readers may sleep at the stalled record: they are lapped now.
            fence(Ordering::SeqCst);
            self.wake_sleepers();
        }
    }

    /// True when the record of the frame group at `x` (seq `s`: skip frames,
    /// then the record) is committed or dead: its writer is done.
    fn group_done(&self, mut x: u64, s: u64) -> bool {
        loop {
            match self.frame(x, s) {
                Frame::Record { .. } | Frame::Dead { .. } => return true,
                Frame::Skip { size } => x = self.geo.advance(x, size),
                Frame::Pending { .. } | Frame::Unwritten => return false,
            }
        }
    }

    /// Closes the ring: later claims fail; readers drain what is committed
    /// and what is in flight now, then see the end. False when it was
    /// already closed.
    pub(crate) fn close(&self) -> bool {
        let h = self.region.header();
        let mut cur = h.claim.load(Ordering::Acquire);
        loop {
            if cur.pos & CLOSED != 0 {
                return false;
            }
            match h.claim.compare_exchange(
                cur,
                Pair { pos: cur.pos | CLOSED, seq: cur.seq },
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        self.wake();
        true
    }
}

/// Marks a claimed record dead if dropped: lives from the claim to the
/// commit and is forgotten once the payload is in, so it only drops during
/// a panic.
struct Abandon<'a> {
    shared: &'a Shared,
    claim: Claim,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        self.shared.abandon(self.claim);
    }
}
