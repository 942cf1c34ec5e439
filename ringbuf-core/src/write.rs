//! The write path: reserve, evict, copy, commit in order, wake if needed.
//!
//! A write never waits for a reader. It may wait for other writers: for the
//! reservation lock (held for a few instructions), and for the writers that
//! reserved before it to commit (their copies run in parallel with ours).
//! Costs on the fast path: one CAS (lock), one store (unlock), the copy, one
//! `fetch_add` (commit). No allocation, no system call unless a reader or a
//! flush is asleep.

use crate::error::Error;
use crate::frame::{self, HEADER_LEN};
use crate::shared::{pos_of, Shared, CLOSED, FLAGS, LOCKED};
use crate::sync::{fence, Ordering, Spin};

impl Shared {
    /// Appends one record; returns its seq.
    pub(crate) fn write(&self, data: &[u8]) -> Result<u64, Error> {
        let len = data.len() as u64;
        if len > self.max_record {
            return Err(Error::TooLarge { len: data.len(), max: self.max_record as usize });
        }
        if self.forked() {
            return Err(Error::Forked);
        }
        let size = frame::record_size(len);
        let start = match self.reserve(size) {
            Ok(start) => start,
            Err(Error::Closed) if self.is_poisoned() => return Err(Error::Poisoned),
            Err(e) => return Err(e),
        };
        // From here until the commit, a panic would leave a reservation
        // that is never committed and every later writer waiting behind it:
        // the guard poisons the ring instead (and wakes them all).
        let uncommitted = Uncommitted(self);
        crate::fault_point!(WriteBeforeCommit);
        self.region.write_bytes(start + HEADER_LEN, data);
        let seq = self.commit(start, len, size);
        std::mem::forget(uncommitted);
        seq
    }

    /// Reserves `size` bytes at the end of the ring, evicting the oldest
    /// records to make room. Returns the start position.
    fn reserve(&self, size: u64) -> Result<u64, Error> {
        let hdr = self.region.header();
        let mut spin = Spin::new();
        // Lock: set LOCKED on `reserve`. Acquire pairs with the Release
        // unlock below, so the previous holder's `tail` is visible.
        let start = loop {
            let cur = hdr.reserve.load(Ordering::Relaxed);
            if cur & CLOSED != 0 {
                return Err(Error::Closed);
            }
            if cur & LOCKED == 0
                && hdr.reserve.compare_exchange_weak(cur, cur | LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
            {
                break cur;
            }
            spin.spin_or_yield();
        };
        // Only the lock holder moves `tail` and `reserve`: plain loads of
        // them are current.
        let need = (start + size).saturating_sub(self.capacity);
        let mut tail = hdr.tail.load(Ordering::Relaxed);
        if tail < need {
            // The headers we walk must be committed. With one writer they
            // always are; with many writers and large records in a small
            // ring, wait for the writers ahead of us (they do not need the
            // lock to commit, so this cannot deadlock).
            if self.head() < need {
                if let Err(e) = self.wait_head_at_least(need) {
                    hdr.reserve.store(start, Ordering::Release); // unlock; the ring is poisoned
                    return Err(e);
                }
            }
            let old_granule = tail & !(self.granule - 1);
            while tail < need {
                tail += frame::record_size(frame::len_of(self.region.word(tail + 8).load(Ordering::Relaxed)));
            }
            // Release: pairs with the Acquire load in `Shared::tail`, so a
            // reader that jumps to the new tail can read its header.
            hdr.tail.store(tail, Ordering::Release);
            // The readers' hint, when `tail` crossed a granule (before the
            // fence below, like `tail`; see `Shared::valid_after`).
            let granule = tail & !(self.granule - 1);
            if granule != old_granule {
                hdr.evicted.store(granule, Ordering::Release);
            }
        }
        // Unlock and publish the reservation in one store.
        hdr.reserve.store(start + size, Ordering::Release);
        // Release fence before any byte of the new record is written: pairs
        // with the Acquire fence in `Shared::valid_after`. A reader whose
        // copy sees one of our bytes also sees the `tail` that evicted what
        // was there (ours above, or an earlier holder's, which our lock
        // acquisition made visible to us).
        fence(Ordering::Release);
        Ok(start)
    }

    /// Commits the record reserved at `start`, in reservation order.
    fn commit(&self, start: u64, len: u64, size: u64) -> Result<u64, Error> {
        let hdr = self.region.header();
        // Our turn comes when everything before us is committed. Acquire
        // (in `head`): the previous committer's `next_seq` is visible.
        if self.head() != start {
            self.wait_head_at_least(start)?;
        }
        let seq = hdr.next_seq.load(Ordering::Relaxed);
        let [word0, word1] = frame::encode(seq, len);
        self.region.word(start).store(word0, Ordering::Relaxed);
        self.region.word(start + 8).store(word1, Ordering::Relaxed);
        // Release: pairs with the Acquire in `Shared::newest`; a reader that
        // sees this value also sees the header above (`Shared::oldest`).
        hdr.next_seq.store(seq + 1, Ordering::Release);
        // Release: publishes the header, the payload and `next_seq` to every
        // reader that Acquire-loads `head`. The RMW also returns the flags
        // of sleepers (module doc of `shared`).
        let prev = hdr.head.fetch_add(size, Ordering::Release);
        debug_assert_eq!(pos_of(prev), start);
        if prev & FLAGS != 0 {
            self.wake(prev & FLAGS);
        }
        Ok(seq)
    }

    /// Closes the ring: later reservations fail; readers drain what is
    /// committed (and what is in flight now) and then see the end. Returns
    /// false when it was already closed.
    pub(crate) fn close(&self) -> bool {
        let hdr = self.region.header();
        let mut spin = Spin::new();
        loop {
            let cur = hdr.reserve.load(Ordering::Relaxed);
            if cur & CLOSED != 0 {
                return false;
            }
            // Not while a writer holds the lock: its unlock store would
            // erase the flag.
            if cur & LOCKED == 0
                && hdr.reserve.compare_exchange_weak(cur, cur | CLOSED, Ordering::AcqRel, Ordering::Relaxed).is_ok()
            {
                break;
            }
            spin.spin_or_yield();
        }
        self.wake_all();
        true
    }
}

/// Poisons the ring if dropped: lives from a reservation to its commit and
/// is forgotten once the commit is done, so it only drops during a panic.
struct Uncommitted<'a>(&'a Shared);

impl Drop for Uncommitted<'_> {
    fn drop(&mut self) {
        self.0.poison();
    }
}
