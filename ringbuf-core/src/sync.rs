//! The one place that imports atomics, locks and thread primitives.
//!
//! Under `--cfg loom` everything here is loom's model type, so the loom tests
//! (`tests/loom.rs`) explore the real protocol code, not a copy of it. That
//! includes the two 16-byte words of the protocol ([`AtomicPair`]), which
//! loom models as one 64-bit atomic (the models' positions and seqs are
//! tiny), and the futex ([`crate::futex`]), which loom models with its own
//! mutex and condition variable.
//!
//! Only `SeqCst` *fences* are used, never `SeqCst` accesses: loom models the
//! fences exactly (and the accesses not at all).

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

use std::time::Instant;

/// A position and a seq that change together in one atomic step: the claim
/// (end of the last claimed record, next seq) and the tail (oldest frame
/// not evicted, its seq).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pair {
    /// A virtual position (see `pos`); its low 3 bits may carry flags.
    pub pos: u64,
    /// A seq.
    pub seq: u64,
}

/// An atomic [`Pair`]: a 16-byte word changed by a 16-byte compare-and-swap
/// (`cmpxchg16b` on x86-64, `casp`/`ldxp`+`stxp` on AArch64), through
/// `portable_atomic`. [`AtomicPair::lock_free`] tells whether this machine
/// has the instruction; a ring refuses to exist without it (a lock would
/// deadlock in a signal handler and not work between processes).
#[cfg(not(loom))]
#[repr(transparent)]
pub(crate) struct AtomicPair(portable_atomic::AtomicU128);

#[cfg(not(loom))]
impl AtomicPair {
    #[inline]
    fn pack(p: Pair) -> u128 {
        (p.seq as u128) << 64 | p.pos as u128
    }

    #[inline]
    fn unpack(v: u128) -> Pair {
        Pair { pos: v as u64, seq: (v >> 64) as u64 }
    }

    pub(crate) fn new(p: Pair) -> AtomicPair {
        AtomicPair(portable_atomic::AtomicU128::new(Self::pack(p)))
    }

    /// True when 16-byte atomics are lock-free here.
    pub(crate) fn lock_free() -> bool {
        portable_atomic::AtomicU128::is_lock_free()
    }

    #[inline]
    pub(crate) fn load(&self, order: Ordering) -> Pair {
        Self::unpack(self.0.load(order))
    }

    #[inline]
    pub(crate) fn compare_exchange(
        &self,
        cur: Pair,
        new: Pair,
        success: Ordering,
        failure: Ordering,
    ) -> Result<Pair, Pair> {
        self.0
            .compare_exchange(Self::pack(cur), Self::pack(new), success, failure)
            .map(Self::unpack)
            .map_err(Self::unpack)
    }
}

/// loom's stand-in: 40 bits of position, 24 of seq, in one 64-bit atomic.
#[cfg(loom)]
pub(crate) struct AtomicPair(AtomicU64);

#[cfg(loom)]
impl AtomicPair {
    fn pack(p: Pair) -> u64 {
        assert!(p.pos < 1 << 40 && p.seq < 1 << 24, "loom models use small rings");
        p.seq << 40 | p.pos
    }

    fn unpack(v: u64) -> Pair {
        Pair { pos: v & ((1 << 40) - 1), seq: v >> 40 }
    }

    pub(crate) fn new(p: Pair) -> AtomicPair {
        AtomicPair(AtomicU64::new(Self::pack(p)))
    }

    pub(crate) fn lock_free() -> bool {
        true
    }

    pub(crate) fn load(&self, order: Ordering) -> Pair {
        Self::unpack(self.0.load(order))
    }

    pub(crate) fn compare_exchange(
        &self,
        cur: Pair,
        new: Pair,
        success: Ordering,
        failure: Ordering,
    ) -> Result<Pair, Pair> {
        self.0
            .compare_exchange(Self::pack(cur), Self::pack(new), success, failure)
            .map(Self::unpack)
            .map_err(Self::unpack)
    }
}

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

    /// The earlier of this deadline and `d` from now (under loom, where
    /// there is no clock, unchanged).
    pub(crate) fn at_most(self, d: std::time::Duration) -> Deadline {
        #[cfg(loom)]
        {
            let _ = d;
            self
        }
        #[cfg(not(loom))]
        {
            let soon = Instant::now() + d;
            match self {
                Deadline::At(at) if at <= soon => self,
                _ => Deadline::At(soon),
            }
        }
    }

    /// Time left, `None` for never.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn left(self) -> Option<std::time::Duration> {
        match self {
            Deadline::Never => None,
            Deadline::At(at) => Some(at.saturating_duration_since(Instant::now())),
        }
    }
}

#[cfg(not(loom))]
use std::sync as backend;

#[cfg(loom)]
use loom::sync as backend;

/// A mutual-exclusion lock with the same surface on both backends. Only the
/// reader registry uses one (never the write path, never a signal-safe
/// call).
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
        // The registry holds nothing a panic could leave half-updated.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A bounded busy-wait: a few rounds of `spin_loop` with growing length.
/// `spin` returns false once the budget is used up; the caller then sleeps.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) struct Spin {
    round: u32,
    last: u32,
}

impl Spin {
    /// For a reader that caught up with a busy writer: 2^10 pauses (about
    /// 30 us here), a check, 2^11 more, a check, then it sleeps. Checks are
    /// rare on purpose: each one reads the line the writer is writing, and
    /// a reader that polls every 2 us stays right behind the writer, taking
    /// every line from it as it is written (one reader then slowed a 64 B
    /// writer 2.1x, against 1.1x to 1.5x with the 30 us wait; benches/analysis.md).
    pub(crate) fn for_reader() -> Self {
        Spin { round: 10, last: 12 }
    }

    /// For a reader whose last wait ended in sleep (an idle ring): one round
    /// of 2^6 pauses (about 2 us), then it sleeps. Many readers woken at
    /// once (a cascade, `wake`) would otherwise spin 90 us each on cores the
    /// writer needs.
    pub(crate) fn brief() -> Self {
        Spin { round: 6, last: 7 }
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
}

/// A hint inside a retry loop (under loom: lets the model switch threads).
#[inline]
pub(crate) fn relax() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}
