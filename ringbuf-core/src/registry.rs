//! Reader cursors, and `flush`, which waits for them.
//!
//! Each reader owns a [`Slot`] holding the seq of the next record it owes
//! its user (`want`): every record before it was read, skipped (before a
//! `Start::Seq`) or counted as lost. The registry lists the live slots, each
//! with an id in creation order, so that a flush can wait for exactly the
//! readers that existed when it was called (those with a smaller id)
//! without copying the list: flush allocates nothing.
//!
//! A flush is done when every such reader owes nothing before the flush
//! point (`want >= target_seq`), or when every record before the point was
//! evicted (`tail >= target_pos`: the readers behind were lapped past it).
//!
//! The cursor word holds `want << 1`; its low bit is `FLUSH_BIT`: a flush
//! sets it (RMW) before it sleeps; the reader publishes with a `swap` (RMW)
//! that returns the bit, and wakes the flush only when it was set. The two
//! RMWs are ordered on the one word, so either the flush sees the new
//! position or the reader sees the bit. A reader's publish costs one
//! uncontended RMW on a cache line of its own.
//!
//! Lock order: `waits.lock`, then the registry's lock. Nothing takes them
//! the other way round (`remove` lets go of the registry before it wakes a
//! flush).

use crate::shared::{Shared, FLUSH_WAITERS};
use crate::sync::{Arc, AtomicU64, Deadline, Mutex, Ordering};
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
    /// A slot in no registry (a reader made in the child of a fork, which
    /// must not take the registry's lock).
    pub(crate) fn detached(want: u64) -> Arc<Slot> {
        Arc::new(Slot { cursor: CachePadded::new(AtomicU64::new(want << 1)), id: u64::MAX })
    }

    /// Publishes that the reader owes nothing before seq `want`, and wakes
    /// a flush that waits for it.
    #[inline]
    pub(crate) fn publish(&self, want: u64, shared: &Shared) {
        // AcqRel: Release publishes the reads before it; pairs with the
        // flush's `fetch_or`, which is ordered before or after this swap.
        let prev = self.cursor.swap(want.min(GONE) << 1, Ordering::AcqRel);
        if prev & FLUSH_BIT != 0 {
            shared.wake_flush();
        }
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

    /// Removes a reader for good, waking a flush that waited for it.
    pub(crate) fn remove(&self, slot: &Arc<Slot>, shared: &Shared) {
        {
            let mut slots = self.slots.lock();
            if let Some(i) = slots.live.iter().position(|s| Arc::ptr_eq(s, slot)) {
                slots.live.swap_remove(i);
            }
        }
        slot.publish(GONE, shared);
    }

    /// Number of live readers.
    pub(crate) fn len(&self) -> usize {
        self.slots.lock().live.len()
    }

    /// Id the next reader will get.
    fn next_id(&self) -> u64 {
        self.slots.lock().next_id
    }

    /// True when every reader older than `before` owes nothing before seq
    /// `target`; asks the first one that does to wake us when it moves.
    fn all_past(&self, before: u64, target: u64) -> bool {
        self.slots.lock().live.iter().filter(|s| s.id < before).all(|s| s.watch() >= target)
    }
}

/// A flush in progress: the flush point (everything committed when it
/// began, as a position and as a seq) and which readers to wait for (those
/// older than it). Waiting on it in slices (to check for signals between
/// them) keeps both fixed.
#[derive(Clone, Copy)]
pub(crate) struct FlushPoint {
    target_pos: u64,
    target_seq: u64,
    readers_before: u64,
}

impl Shared {
    /// Fixes the flush point and the set of readers to wait for.
    pub(crate) fn flush_point(&self) -> FlushPoint {
        // Readers first: one created after the head we read might start
        // past it, which only makes it done sooner; one created before is
        // in the set.
        let readers_before = self.registry.next_id();
        // `next_seq` after `head` (Acquire, pairs with `commit`): it is at
        // least the seq at `target_pos`. When commits ran in between it is
        // larger, and readers must also pass records written during the
        // call, which is stricter, never laxer.
        let target_pos = self.head();
        let target_seq = self.region.header().next_seq.load(Ordering::Acquire);
        FlushPoint { target_pos, target_seq, readers_before }
    }

    /// Waits until every reader of `point` has read (or been lapped) past
    /// its flush point, or is gone. False when `deadline` came first, and
    /// at once in the child of a fork.
    pub(crate) fn flush_wait(&self, point: &FlushPoint, deadline: Deadline) -> bool {
        if self.forked() {
            return false;
        }
        crate::fault_point!(Flush);
        let FlushPoint { target_pos, target_seq, readers_before } = *point;
        let head = &self.region.header().head;
        let mut guard = self.waits.lock.lock();
        loop {
            // Ask committers to wake us: eviction (tail moving past the point)
            // also completes a flush. Acquire: a commit ordered before this
            // RMW made its `tail` store visible to the load below.
            head.fetch_or(FLUSH_WAITERS, Ordering::Acquire);
            if self.tail() >= target_pos || self.registry.all_past(readers_before, target_seq) {
                return true;
            }
            if deadline.expired() {
                return false;
            }
            guard = self.waits.flush_cv.wait_until(guard, deadline);
        }
    }

    /// `flush_point` then `flush_wait`.
    pub(crate) fn flush_until(&self, deadline: Deadline) -> bool {
        self.flush_wait(&self.flush_point(), deadline)
    }

    /// Wakes flushes (a reader moved).
    pub(crate) fn wake_flush(&self) {
        let _guard = self.waits.lock.lock();
        self.waits.flush_cv.notify_all();
    }
}
