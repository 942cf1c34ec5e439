//! Test-only fault injection (cargo feature `fault-injection`): makes the
//! library panic at a chosen point, once, so that tests can check what a
//! bug inside ringlog does to its callers: the C boundary returns
//! RING_RESULT_PANIC, Python raises, and the ring stays correct, never
//! half-updated.
//!
//! Without the feature, `fault_point!` expands to nothing.

use std::sync::atomic::{AtomicU32, Ordering};

/// Where to panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
#[non_exhaustive]
pub enum Point {
    /// In a write, after its claim, before its commit: the record is
    /// marked dead (readers count it as lost) and the ring goes on.
    WriteBeforeCommit = 1,
    /// In a read, after the record was copied, before the reader moved
    /// past it: the reader returns the same record on its next call.
    ReaderBeforeDeliver = 2,
    /// In a snapshot, after the copy: nothing changes.
    Snapshot = 3,
    /// In a flush, before it waits: nothing changes.
    Flush = 4,
    /// Not a panic: the next write answers Busy, as if its room were held
    /// by records still being written (bindings' tests of that answer).
    WriteBusy = 5,
    /// In a write, after its claim, before it stores the record's header:
    /// the claimed bytes carry no header (and so no session) yet. For
    /// parking a writer there (a ring file's writer killed at that moment
    /// leaves a frame readers pass after `STALL_UNWRITTEN`, recovered when
    /// the file is next opened alone). A panic here leaves the claim
    /// without a header for ever: in a ring in memory, readers would wait
    /// at it for ever.
    WriteAfterClaim = 6,
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
        5 => Point::WriteBusy,
        6 => Point::WriteAfterClaim,
        _ => return false,
    };
    panic_at(point);
    true
}

/// True once if `point` is armed (and disarms it): for points that are
/// not panics (`WriteBusy`).
pub(crate) fn take(point: Point) -> bool {
    ARMED.compare_exchange(point as u32, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok()
}

/// True if `point` is armed (without disarming it).
pub(crate) fn armed(point: Point) -> bool {
    ARMED.load(Ordering::SeqCst) == point as u32
}

/// The point where the next thread to pass parks (0: none).
static PARK_ARMED: AtomicU32 = AtomicU32::new(0);
/// Threads parked now, and whether they may go on.
static PARK: std::sync::Mutex<(u32, bool)> = std::sync::Mutex::new((0, false));
static PARK_CV: std::sync::Condvar = std::sync::Condvar::new();

/// Arms `point` for parking: the next thread that passes it stops there
/// (once) until [`unpark`]: a writer stopped in the middle of its record,
/// as a debugger or a long preemption would stop it.
pub fn park_at(point: Point) {
    *PARK.lock().unwrap_or_else(|e| e.into_inner()) = (0, false);
    PARK_ARMED.store(point as u32, Ordering::SeqCst);
}

/// Threads parked at the armed point now.
pub fn parked() -> u32 {
    PARK.lock().unwrap_or_else(|e| e.into_inner()).0
}

/// Lets parked threads go on.
pub fn unpark() {
    PARK.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
    PARK_CV.notify_all();
}

/// Panics if `point` is armed for panicking, parks if it is armed for
/// parking (each once).
pub(crate) fn hit(point: Point) {
    if ARMED.compare_exchange(point as u32, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
        panic!("ringlog fault injection: {point:?}");
    }
    if PARK_ARMED.compare_exchange(point as u32, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
        let mut g = PARK.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        while !g.1 {
            g = PARK_CV.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        g.0 -= 1;
    }
}
