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
//!
//! A ring in a file keeps its readers' progress in the file instead, so
//! that a flush in one process waits for readers in all of them: a fixed
//! table of `READER_SLOTS` slots (`layout::ReaderSlot`), with the same
//! cursor word, an id drawn from a counter in the header (from 1; 0 marks a
//! free slot) and the owner's session (`session`). Slots are taken and freed
//! with atomics, no lock; a slot whose owner died is freed by whoever finds
//! it in the way (a flush, a count, a new reader looking for room).

use crate::sync::{Arc, AtomicU64, Mutex, Ordering};
use crossbeam_utils::CachePadded;

/// Set by a flush waiting on this reader.
const FLUSH_BIT: u64 = 1;
/// `want` of a reader that is gone: past every flush point.
const GONE: u64 = u64::MAX >> 1;

/// Publishes on `cursor` that its reader owes nothing before seq `want`.
/// True when a flush waits for this reader: the caller wakes it.
#[inline]
#[must_use]
fn publish(cursor: &AtomicU64, want: u64) -> bool {
    // AcqRel: Release publishes the reads before it; pairs with the
    // flush's `fetch_or`, which is ordered before or after this swap.
    let prev = cursor.swap(want.min(GONE) << 1, Ordering::AcqRel);
    prev & FLUSH_BIT != 0
}

/// The `want` published last on `cursor`, and asks to be woken when it
/// changes.
fn watch(cursor: &AtomicU64) -> u64 {
    cursor.fetch_or(FLUSH_BIT, Ordering::AcqRel) >> 1
}

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
        publish(&self.cursor, want)
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
        self.slots.lock().live.iter().filter(|s| s.id < before).all(|s| watch(&s.cursor) >= target)
    }
}

/// The readers of a ring file: its table of slots (module doc).
#[cfg(not(loom))]
pub(crate) mod file {
    use super::{publish, watch, GONE};
    use crate::layout::Tag;
    use crate::layout::{ReaderSlot, Tables};
    use crate::sync::{AtomicU64, Ordering};

    /// `id` of a slot being taken.
    const TAKING: u64 = u64::MAX;

    /// Frees a slot whose owner is gone; true if this call did.
    fn reclaim(slot: &ReaderSlot, id: u64) -> bool {
        let _ = publish(&slot.cursor, GONE);
        slot.id.compare_exchange(id, 0, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Takes a slot for a reader of `owner` owing records from `want` on;
    /// its index, or `None` when every slot is held by a live reader.
    pub(crate) fn add(
        t: &Tables,
        ids: &AtomicU64,
        want: u64,
        owner: Tag,
        alive: impl Fn(Tag) -> bool,
    ) -> Option<usize> {
        for pass in 0..2 {
            for (i, slot) in t.readers.iter().enumerate() {
                let id = slot.id.load(Ordering::Acquire);
                if id != 0 {
                    // Second pass: free the slots of dead processes.
                    if pass == 0
                        || id == TAKING
                        || alive(slot.owner.load(Ordering::Relaxed) as Tag)
                        || !reclaim(slot, id)
                    {
                        continue;
                    }
                }
                if slot.id.compare_exchange(0, TAKING, Ordering::AcqRel, Ordering::Relaxed).is_err() {
                    continue;
                }
                slot.owner.store(u64::from(owner), Ordering::Relaxed);
                let _ = publish(&slot.cursor, want);
                // Release: a flush that sees the id sees the cursor.
                slot.id.store(ids.fetch_add(1, Ordering::AcqRel) + 1, Ordering::Release);
                return Some(i);
            }
        }
        None
    }

    /// Publishes reader `i`'s progress (as `Slot::publish`).
    #[inline]
    #[must_use]
    pub(crate) fn publish_at(t: &Tables, i: usize, want: u64) -> bool {
        publish(&t.readers[i].cursor, want)
    }

    /// Frees reader `i`'s slot. True when a flush waited for it.
    #[must_use]
    pub(crate) fn remove(t: &Tables, i: usize) -> bool {
        let slot = &t.readers[i];
        let woken = publish(&slot.cursor, GONE);
        slot.id.store(0, Ordering::Release);
        woken
    }

    /// Id the next reader will get.
    pub(crate) fn next_id(ids: &AtomicU64) -> u64 {
        ids.load(Ordering::Acquire) + 1
    }

    /// As `Registry::all_past`, over the file's readers of every process;
    /// readers of dead processes are freed and not waited for.
    pub(crate) fn all_past(t: &Tables, before: u64, target: u64, alive: impl Fn(Tag) -> bool) -> bool {
        t.readers.iter().all(|slot| {
            let id = slot.id.load(Ordering::Acquire);
            if id == 0 || id >= before {
                return true;
            }
            if watch(&slot.cursor) >= target {
                return true;
            }
            if !alive(slot.owner.load(Ordering::Relaxed) as Tag) {
                reclaim(slot, id);
                return true;
            }
            false
        })
    }

    /// Live readers in every process (slots of dead processes are freed).
    pub(crate) fn count(t: &Tables, alive: impl Fn(Tag) -> bool) -> u64 {
        t.readers
            .iter()
            .filter(|slot| {
                let id = slot.id.load(Ordering::Acquire);
                id != 0 && (id == TAKING || alive(slot.owner.load(Ordering::Relaxed) as Tag) || !reclaim(slot, id))
            })
            .count() as u64
    }

    /// Frees every slot (recovery, when no other process has the file open).
    pub(crate) fn clear(t: &Tables) {
        for slot in &t.readers {
            slot.id.store(0, Ordering::Relaxed);
            slot.cursor.store(0, Ordering::Relaxed);
        }
    }
}
