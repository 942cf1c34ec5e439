//! State shared by every handle and reader of one ring, and the sleeping and
//! waking protocol.
//!
//! # The protocol in one page
//!
//! Region positions (see `region`): `tail <= head <= reserve`.
//!
//! **Write** (`write.rs`): take the reservation lock (a bit in `reserve`),
//! evict whole records from `tail` until the new record fits, store `tail`,
//! bump `reserve`, release the lock; copy the payload (in parallel with other
//! writers); wait until `head` reaches our start (commit in order), write the
//! header with the next seq, and `fetch_add` `head` past the record. That
//! RMW returns the waiter flags that sleepers set on `head`: a writer only
//! makes a system call when someone is asleep.
//!
//! **Read** (`reader.rs`): a reader may read `[pos, head)`. It copies a
//! header or payload, then `fence(Acquire)` and loads `tail`: if `tail` is
//! still `<= pos` the copy is whole; otherwise the record was evicted (and
//! perhaps overwritten) under it, so it drops the copy and goes on from
//! `tail`, counting what it lost from the seqs.
//!
//! **Sleep** (here): a sleeper takes `waits.lock`, sets its flag on `head`
//! with an RMW, re-checks its condition against the value that RMW returned,
//! and only then waits on the condvar. The writer's commit RMW and the
//! sleeper's flag RMW are ordered in `head`'s modification order, so either
//! the writer sees the flag (and notifies, under the lock, after the sleeper
//! is waiting) or the sleeper sees the new `head` (and does not sleep). No
//! SeqCst is needed anywhere, which is also what loom can check.

use crate::error::Error;
use crate::frame::{self, Frame};
use crate::region::Region;
use crate::registry::Registry;
use crate::sync::{fence, AtomicBool, AtomicU64, AtomicUsize, Condvar, Deadline, Mutex, Ordering, Spin};

/// `head` flag: a reader or a committer sleeps on `head_cv`.
pub(crate) const HEAD_WAITERS: u64 = 1;
/// `head` flag: a flush sleeps on `flush_cv`.
pub(crate) const FLUSH_WAITERS: u64 = 2;
/// `reserve` flag: the reservation lock is held.
pub(crate) const LOCKED: u64 = 1;
/// `reserve` flag: the ring is closed; no reservation will succeed.
pub(crate) const CLOSED: u64 = 2;
/// Positions are multiples of 8: the low three bits carry flags.
pub(crate) const FLAGS: u64 = 7;

/// The position part of `head` or `reserve`.
#[inline]
pub(crate) fn pos_of(word: u64) -> u64 {
    word & !FLAGS
}

/// What a reader found at its position.
pub(crate) enum Peek {
    /// A whole, committed record starts here.
    Record(Frame),
    /// The record at the position was evicted; reading resumes at `tail`.
    Lapped,
}

/// Sleeping readers, committers and flushes.
pub(crate) struct Waits {
    pub(crate) lock: Mutex<()>,
    /// Readers waiting for a record, committers waiting for their turn.
    pub(crate) head_cv: Condvar,
    /// Flushes waiting for readers to catch up.
    pub(crate) flush_cv: Condvar,
}

/// Everything one ring's handles and readers share.
pub(crate) struct Shared {
    pub(crate) region: Region,
    pub(crate) capacity: u64,
    pub(crate) max_record: u64,
    /// Granule of the `evicted` hint: capacity / 64, at least 8 bytes.
    pub(crate) granule: u64,
    pub(crate) waits: Waits,
    pub(crate) registry: Registry,
    /// Live `Ring` handles; the ring closes when the last one goes.
    pub(crate) handles: AtomicUsize,
    /// Times a writer or closer woke sleepers (each is one futex wake at
    /// most): for tests that prove the fast path makes no system call.
    pub(crate) wakeups: AtomicU64,
    /// The fork generation the ring was made in (`fork`).
    generation: u64,
    /// Set when a panic interrupted a write between reserve and commit: that
    /// record will never be committed, so the ring refuses to go on.
    poisoned: AtomicBool,
}

impl Shared {
    pub(crate) fn new(region: Region) -> Shared {
        let capacity = region.capacity();
        let max_record = region.header().max_record;
        Shared {
            region,
            capacity,
            max_record,
            granule: (capacity / 64).max(8),
            waits: Waits { lock: Mutex::new(()), head_cv: Condvar::new(), flush_cv: Condvar::new() },
            registry: Registry::new(),
            handles: AtomicUsize::new(1),
            wakeups: AtomicU64::new(0),
            generation: crate::fork::generation(),
            poisoned: AtomicBool::new(false),
        }
    }

    /// True in the child of a fork that happened after the ring was made.
    #[inline]
    pub(crate) fn forked(&self) -> bool {
        crate::fork::generation() != self.generation
    }

    /// True once a write was interrupted by a panic (`poison`).
    #[inline]
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Marks the ring unusable after a panic between reserve and commit,
    /// closes it and wakes everyone: committers waiting behind the dead
    /// record give up, readers end after the records before it.
    pub(crate) fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
        // Wake first: a writer sleeping while it holds the reservation
        // lock must see the flag and release the lock, or `close` below
        // would wait for it forever.
        self.wake_all();
        self.close();
    }

    /// How a reader at its end reports it: `Closed`, or `Poisoned`.
    pub(crate) fn end_error(&self) -> Error {
        if self.is_poisoned() {
            Error::Poisoned
        } else {
            Error::Closed
        }
    }

    /// End of the committed records. Acquire: pairs with the Release
    /// `fetch_add` in `commit`, so the records before it are visible.
    #[inline]
    pub(crate) fn head(&self) -> u64 {
        pos_of(self.region.header().head.load(Ordering::Acquire))
    }

    /// Start of the oldest record not evicted. Acquire: pairs with the
    /// Release store in `reserve`, so the header there is readable.
    #[inline]
    pub(crate) fn tail(&self) -> u64 {
        self.region.header().tail.load(Ordering::Acquire)
    }

    /// True when the ring is closed and no write is in flight at or before
    /// `pos`: a reader at `pos` has reached the end for good.
    pub(crate) fn finished_at(&self, pos: u64) -> bool {
        let reserve = self.region.header().reserve.load(Ordering::Acquire);
        (reserve & CLOSED != 0 && pos_of(reserve) <= pos) || (self.is_poisoned() && pos >= self.head())
    }

    /// True once `close` ran.
    pub(crate) fn is_closed(&self) -> bool {
        self.region.header().reserve.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Validates a copy taken from `[pos, ...)`: true when the record at
    /// `pos` was not evicted before the copy was complete.
    ///
    /// Ordering: the Acquire fence pairs with the Release fence a writer
    /// executes after moving `tail` (and `evicted`) and before writing any
    /// byte (`reserve`). If the copy saw any byte of such a write, the fence
    /// makes that writer's stores visible here, so the loads below see
    /// `tail > pos` and the copy is thrown away.
    ///
    /// Fast path: `evicted` (tail rounded down to a granule) changes once
    /// per granule, so it sits in this reader's cache while `tail` bounces
    /// between the writers' cores. `tail < evicted + granule` always holds;
    /// after an overwrite of `pos` this reader sees `evicted` at least
    /// `floor(tail / granule) * granule` with `tail > pos`, so
    /// `pos >= evicted + granule` proves the copy whole without reading
    /// `tail`. Readers near the eviction frontier read `tail`.
    #[inline]
    pub(crate) fn valid_after(&self, pos: u64) -> bool {
        fence(Ordering::Acquire);
        let hdr = self.region.header();
        pos >= hdr.evicted.load(Ordering::Relaxed) + self.granule || hdr.tail.load(Ordering::Relaxed) <= pos
    }

    /// `tail` as seen after a racing copy: records from it on were whole in
    /// the copy (see `valid_after`).
    #[inline]
    pub(crate) fn tail_after_copy(&self) -> u64 {
        fence(Ordering::Acquire);
        self.region.header().tail.load(Ordering::Relaxed)
    }

    /// Reads and validates the header of the record at `pos`, which must be
    /// below `head`.
    pub(crate) fn peek(&self, pos: u64) -> Peek {
        let w0 = self.region.word(pos).load(Ordering::Relaxed);
        let w1 = self.region.word(pos + 8).load(Ordering::Relaxed);
        if !self.valid_after(pos) {
            return Peek::Lapped;
        }
        match frame::decode(w0, w1) {
            Some(f) => Peek::Record(f),
            // A validated header below head is always whole; anything else
            // is a bug in this crate.
            None => unreachable!("ringlog: damaged record header at position {pos}"),
        }
    }

    /// Sleeps while `blocked(head word)` holds, until `deadline`. Returns
    /// false when the deadline passed with the condition still true.
    ///
    /// The flag RMW and the check happen under `waits.lock`; see the module
    /// doc for why no wake-up can be lost.
    pub(crate) fn sleep_on_head(&self, deadline: Deadline, mut blocked: impl FnMut(u64) -> bool) -> bool {
        let head = &self.region.header().head;
        let mut guard = self.waits.lock.lock();
        loop {
            // Acquire: if this reads a commit, that record is visible.
            let word = head.fetch_or(HEAD_WAITERS, Ordering::Acquire);
            if !blocked(word) {
                return true;
            }
            if deadline.expired() {
                return false;
            }
            guard = self.waits.head_cv.wait_until(guard, deadline);
        }
    }

    /// Waits (spin, then sleep) until `head` reaches `pos`. For committers
    /// waiting their turn and for evictions that must read headers of
    /// records still being committed. Fails only when the ring is poisoned:
    /// the record it waits for will never be committed.
    pub(crate) fn wait_head_at_least(&self, pos: u64) -> Result<(), Error> {
        let mut spin = Spin::new();
        while self.head() < pos {
            if self.is_poisoned() {
                return Err(Error::Poisoned);
            }
            if !spin.spin() {
                self.sleep_on_head(Deadline::Never, |word| pos_of(word) < pos && !self.is_poisoned());
            }
        }
        Ok(())
    }

    /// Wakes the sleepers named by `flags` (taken from a `head` RMW). Clears
    /// the flags first; a sleeper that sets one again after this holds the
    /// lock until it waits, so the notify below reaches it.
    pub(crate) fn wake(&self, flags: u64) {
        self.region.header().head.fetch_and(!flags, Ordering::Relaxed);
        let _guard = self.waits.lock.lock();
        if flags & HEAD_WAITERS != 0 {
            self.waits.head_cv.notify_all();
        }
        if flags & FLUSH_WAITERS != 0 {
            self.waits.flush_cv.notify_all();
        }
        self.wakeups.fetch_add(1, Ordering::Relaxed);
    }

    /// Wakes every sleeper regardless of flags (close).
    pub(crate) fn wake_all(&self) {
        let _guard = self.waits.lock.lock();
        self.waits.head_cv.notify_all();
        self.waits.flush_cv.notify_all();
        self.wakeups.fetch_add(1, Ordering::Relaxed);
    }
}
