//! Reader cursors: how far each live reader has read, for `flush`.
//!
//! Each reader owns a [`Slot`] holding the seq of the next record it owes
//! its user (`want`): every record before it was read, skipped (before a
//! `Start::Seq`) or counted as lost. The registry lists the live slots, each
//! with an id in creation order, so that a flush can wait for exactly the
//! readers that existed when it was called (those with a smaller id)
//! without copying the list: flush allocates nothing.
//!
//! The cursor word holds `want << 1`; its low bit is `FLUSH_BIT`: a flush
//! sets it (RMW) before it sleeps; the reader publishes with a `swap` (RMW)
//! that returns the bit, and wakes the flush only when it was set. The two
//! RMWs are ordered on the one word, so either the flush sees the new
//! position or the reader sees the bit. A reader's publish costs one
//! uncontended RMW on a cache line of its own. (A plain store when the bit
//! is clear would save that, but could erase a bit set between the load
//! and the store: loom finds the flush then asleep for ever.)
//!
//! The registry's lock is taken by reader creation and removal and by
//! flush, never by a write or a read.

use crate::sync::{Arc, AtomicU64, Mutex, Ordering};
use crossbeam_utils::CachePadded;

/// Set by a flush waiting on this reader.
const FLUSH_BIT: u64 = 1;
/// `want` of a reader that is gone: past every flush point.
const GONE: u64 = u64::MAX >> 1;

/// One reader's published progress.
pub(crate) struct Slot {
    cursor: CachePadded<AtomicU64>,
    /// Creation order: a flush waits for the slots older than itself.
    id: u64,
}

impl Slot {
    /// Publishes that the reader owes nothing before seq `want`. True when
    /// a flush waits for this reader: the caller wakes it.
    #[inline]
    #[must_use]
    pub(crate) fn publish(&self, want: u64) -> bool {
        // AcqRel: Release publishes the reads before it; pairs with the
        // flush's `fetch_or`, which is ordered before or after this swap.
        let prev = self.cursor.swap(want.min(GONE) << 1, Ordering::AcqRel);
        prev & FLUSH_BIT != 0
    }

    /// The `want` published last, and asks to be woken when it changes.
    fn watch(&self) -> u64 {
        self.cursor.fetch_or(FLUSH_BIT, Ordering::AcqRel) >> 1
    }
}

struct Slots {
    next_id: u64,
    live: Vec<Arc<Slot>>,
}

/// The live readers of a ring.
pub(crate) struct Registry {
    slots: Mutex<Slots>,
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry { slots: Mutex::new(Slots { next_id: 0, live: Vec::new() }) }
    }

    /// Adds a reader that owes its user the records from seq `want` on.
    pub(crate) fn add(&self, want: u64) -> Arc<Slot> {
        let mut slots = self.slots.lock();
        let id = slots.next_id;
        slots.next_id += 1;
        let slot = Arc::new(Slot { cursor: CachePadded::new(AtomicU64::new(want.min(GONE) << 1)), id });
        slots.live.push(slot.clone());
        slot
    }

    /// Removes a reader for good. True when a flush waited for it.
    #[must_use]
    pub(crate) fn remove(&self, slot: &Arc<Slot>) -> bool {
        {
            let mut slots = self.slots.lock();
            if let Some(i) = slots.live.iter().position(|s| Arc::ptr_eq(s, slot)) {
                slots.live.swap_remove(i);
            }
        }
        slot.publish(GONE)
    }

    /// Id the next reader will get.
    pub(crate) fn next_id(&self) -> u64 {
        self.slots.lock().next_id
    }

    /// True when every reader older than `before` owes nothing before seq
    /// `target`; asks the first one that does to wake us when it moves.
    pub(crate) fn all_past(&self, before: u64, target: u64) -> bool {
        self.slots.lock().live.iter().filter(|s| s.id < before).all(|s| s.watch() >= target)
    }
}
