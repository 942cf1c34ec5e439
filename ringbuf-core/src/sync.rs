//! The one place that imports atomics, locks and thread primitives.
//!
//! Under `--cfg loom` everything here is loom's model type, so the loom tests
//! (`tests/loom.rs`) explore the real protocol code, not a copy of it. Without
//! loom, locks and condition variables are std's: futex-based, and they never
//! allocate. (parking_lot's first park on a thread may grow its global hash
//! table: an allocation on the write path when a writer wakes a reader and
//! meets contention. The write path must never allocate.)

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

use std::time::Instant;

/// When a blocking call gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// Wait as long as it takes.
    Never,
    /// Give up at this instant (an instant in the past means: do not wait).
    At(Instant),
}

impl Deadline {
    /// Turns an optional timeout into a deadline: `None` waits forever, a
    /// timeout too large to represent also waits forever.
    pub(crate) fn after(timeout: Option<std::time::Duration>) -> Deadline {
        match timeout.and_then(|t| Instant::now().checked_add(t)) {
            Some(at) => Deadline::At(at),
            None => Deadline::Never,
        }
    }

    /// A deadline that has already passed: check once, never wait.
    pub(crate) fn poll() -> Deadline {
        Deadline::At(Instant::now())
    }

    /// True when there is no time left.
    pub(crate) fn expired(self) -> bool {
        match self {
            Deadline::Never => false,
            Deadline::At(at) => Instant::now() >= at,
        }
    }
}

#[cfg(not(loom))]
use std::sync as backend;

#[cfg(loom)]
use loom::sync as backend;

/// A mutual-exclusion lock with the same surface on both backends.
pub(crate) struct Mutex<T> {
    inner: backend::Mutex<T>,
}

/// Proof that a [`Mutex`] is held.
pub(crate) type MutexGuard<'a, T> = backend::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex { inner: backend::Mutex::new(value) }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        // A panic while a ring lock is held leaves nothing half-updated (the
        // locks guard no ring state, only sleeping and the reader list), so
        // poison is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A condition variable paired with [`Mutex`].
pub(crate) struct Condvar {
    inner: backend::Condvar,
}

impl Condvar {
    pub(crate) fn new() -> Self {
        Condvar { inner: backend::Condvar::new() }
    }

    /// Sleeps until notified or until `deadline`; may also wake spuriously.
    /// Callers re-check their condition in a loop.
    pub(crate) fn wait_until<'a, T>(&self, guard: MutexGuard<'a, T>, deadline: Deadline) -> MutexGuard<'a, T> {
        #[cfg(not(loom))]
        {
            match deadline {
                Deadline::Never => self.inner.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Deadline::At(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    match self.inner.wait_timeout(guard, left) {
                        Ok((guard, _)) => guard,
                        Err(e) => e.into_inner().0,
                    }
                }
            }
        }
        #[cfg(loom)]
        {
            // loom has no clock: a bounded wait is modelled as "the time ran
            // out at once", so models exercise the re-check after a timeout.
            match deadline {
                Deadline::Never => self.inner.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Deadline::At(_) => guard,
            }
        }
    }

    pub(crate) fn notify_all(&self) {
        self.inner.notify_all();
    }
}

/// A bounded busy-wait: a few rounds of `spin_loop` with growing length.
/// `spin` returns false once the budget is used up; the caller then sleeps
/// (readers, committers) or yields (the reservation lock).
pub(crate) struct Spin {
    round: u32,
    last: u32,
}

impl Spin {
    /// For waits on other writers: rounds of 2^0 .. 2^6 pauses (127 in
    /// all, a few microseconds), checking after each.
    pub(crate) fn new() -> Self {
        Spin { round: 0, last: 7 }
    }

    /// For a reader that caught up: rounds of 2^6 .. 2^9 pauses (960 in
    /// all, about 25 us here), checking after each, then it sleeps. The
    /// first check comes only after about 2 us: every check reads `head`,
    /// which the writer must then take back for its next commit, so a
    /// reader polling as fast as it can slows a busy writer down by half
    /// (scripts/bench, 64 B records: 1 reader 2.8x before, 1.2x after).
    pub(crate) fn for_reader() -> Self {
        Spin { round: 6, last: 10 }
    }

    /// Spins a little; false when the budget is spent.
    pub(crate) fn spin(&mut self) -> bool {
        #[cfg(loom)]
        {
            // loom explores interleavings, not time: spinning adds nothing.
            false
        }
        #[cfg(not(loom))]
        {
            if self.round >= self.last {
                return false;
            }
            for _ in 0..(1u32 << self.round) {
                std::hint::spin_loop();
            }
            self.round += 1;
            true
        }
    }

    /// Spins while the budget lasts, then yields the CPU. For waits on a
    /// critical section a few instructions long, whose holder can only be
    /// slow if it was preempted.
    pub(crate) fn spin_or_yield(&mut self) {
        if !self.spin() {
            yield_now();
        }
    }
}

/// Gives the CPU to another thread (under loom: lets the model switch).
pub(crate) fn yield_now() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::thread::yield_now();
}
