//! Test-only fault injection (cargo feature `fault-injection`): makes the
//! library panic at a chosen point, once, so that tests can check what a
//! bug inside ringlog does to its callers: the C boundary returns
//! RING_RESULT_PANIC, Python raises, and the ring stays correct or refuses
//! further calls (`Error::Poisoned`), never half-updated.
//!
//! Without the feature, `fault_point!` expands to nothing.

use std::sync::atomic::{AtomicU32, Ordering};

/// Where to panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
#[non_exhaustive]
pub enum Point {
    /// In a write, after its reservation, before its commit: the ring is
    /// poisoned.
    WriteBeforeCommit = 1,
    /// In a read, after the record was copied, before the reader moved
    /// past it: the reader returns the same record on its next call.
    ReaderBeforeDeliver = 2,
    /// In a snapshot, after the copy: nothing changes.
    Snapshot = 3,
    /// In a flush, before it waits: nothing changes.
    Flush = 4,
}

static ARMED: AtomicU32 = AtomicU32::new(0);

/// Arms `point`: the next time any thread passes it, it panics (once).
pub fn panic_at(point: Point) {
    ARMED.store(point as u32, Ordering::SeqCst);
}

/// Arms a point given by number (for the C and Python test hooks); false
/// for an unknown number.
pub fn panic_at_code(code: u32) -> bool {
    let point = match code {
        1 => Point::WriteBeforeCommit,
        2 => Point::ReaderBeforeDeliver,
        3 => Point::Snapshot,
        4 => Point::Flush,
        _ => return false,
    };
    panic_at(point);
    true
}

/// Panics if `point` is armed (and disarms it).
pub(crate) fn hit(point: Point) {
    if ARMED.compare_exchange(point as u32, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
        panic!("ringlog fault injection: {point:?}");
    }
}
