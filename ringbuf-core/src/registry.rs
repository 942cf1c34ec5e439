//! Reader cursors, and `flush`, which waits for them.
//!
//! Each reader owns a [`Slot`] holding the position it has read up to. The
//! registry lists the live slots so that a flush can take the set of readers
//! that exist when it is called and wait until each is past the flush point.
//!
//! The cursor word's low bit is `FLUSH_BIT`: a flush sets it (RMW) before it
//! sleeps; the reader publishes its position with a `swap` (RMW) that returns
//! the bit, and wakes the flush only when it was set. The two RMWs are
//! ordered on the one word, so either the flush sees the new position or the
//! reader sees the bit. A reader's publish costs one uncontended RMW on a
//! cache line of its own.

use crate::shared::{Shared, FLUSH_WAITERS};
use crate::sync::{Arc, AtomicU64, Deadline, Mutex, Ordering};
use crossbeam_utils::CachePadded;

/// Set by a flush waiting on this reader.
const FLUSH_BIT: u64 = 1;
/// Cursor of a reader that is gone: past every flush point.
const GONE: u64 = !7;

/// One reader's published position.
pub(crate) struct Slot {
    cursor: CachePadded<AtomicU64>,
}

impl Slot {
    /// Publishes that the reader has read everything before `pos`, and wakes
    /// a flush that waits for it.
    #[inline]
    pub(crate) fn publish(&self, pos: u64, shared: &Shared) {
        // AcqRel: Release publishes the reads before it; pairs with the
        // flush's `fetch_or`, which is ordered before or after this swap.
        let prev = self.cursor.swap(pos, Ordering::AcqRel);
        if prev & FLUSH_BIT != 0 {
            shared.wake_flush();
        }
    }

    /// The position published last, and asks to be woken when it changes.
    fn watch(&self) -> u64 {
        self.cursor.fetch_or(FLUSH_BIT, Ordering::AcqRel) & !FLUSH_BIT
    }
}

/// The live readers of a ring.
pub(crate) struct Registry {
    slots: Mutex<Vec<Arc<Slot>>>,
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry { slots: Mutex::new(Vec::new()) }
    }

    /// Adds a reader whose cursor starts at `pos`.
    pub(crate) fn add(&self, pos: u64) -> Arc<Slot> {
        let slot = Arc::new(Slot { cursor: CachePadded::new(AtomicU64::new(pos)) });
        self.slots.lock().push(slot.clone());
        slot
    }

    /// Removes a reader for good, waking a flush that waited for it.
    pub(crate) fn remove(&self, slot: &Arc<Slot>, shared: &Shared) {
        {
            let mut slots = self.slots.lock();
            if let Some(i) = slots.iter().position(|s| Arc::ptr_eq(s, slot)) {
                slots.swap_remove(i);
            }
        }
        slot.publish(GONE, shared);
    }

    /// Number of live readers.
    pub(crate) fn len(&self) -> usize {
        self.slots.lock().len()
    }

    fn snapshot(&self) -> Vec<Arc<Slot>> {
        self.slots.lock().clone()
    }
}

/// A flush in progress: the flush point (everything committed when it
/// began) and the readers that existed then. Waiting on it in slices (to
/// check for signals between them) keeps both fixed.
pub(crate) struct FlushPoint {
    target: u64,
    readers: Vec<Arc<Slot>>,
}

impl Shared {
    /// Fixes the flush point and the set of readers to wait for.
    pub(crate) fn flush_point(&self) -> FlushPoint {
        // Readers first: one created after the head we read might start
        // past it, which only makes it done sooner; one created before is
        // in the set.
        let readers = self.registry.snapshot();
        FlushPoint { target: self.head(), readers }
    }

    /// Waits until every reader of `point` has read (or been lapped) past
    /// its flush point, or is gone. False when `deadline` came first.
    pub(crate) fn flush_wait(&self, point: &FlushPoint, deadline: Deadline) -> bool {
        let FlushPoint { target, readers } = point;
        let target = *target;
        if readers.is_empty() {
            return true;
        }
        let head = &self.region.header().head;
        let mut guard = self.waits.lock.lock();
        loop {
            // Ask committers to wake us: eviction (tail moving past `target`)
            // also completes a flush. Acquire: a commit ordered before this
            // RMW made its `tail` store visible to the load below.
            head.fetch_or(FLUSH_WAITERS, Ordering::Acquire);
            let done = self.tail() >= target || readers.iter().all(|r| r.watch() >= target);
            if done {
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
