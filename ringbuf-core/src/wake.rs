//! Sleeping and waking: readers and flushes sleep on one futex word in the
//! region; a writer wakes all of them with one system call, and makes none
//! when nobody sleeps.
//!
//! The word `wake` only counts wake-ups. A sleeper reads it, announces
//! itself (sets `sleepers` for readers, lowers `flush_at` for flushes),
//! runs a SeqCst fence, checks its condition once more, and sleeps only if
//! the word still holds what it read. A writer stores what the sleeper waits
//! for (a marker, a claim), runs a SeqCst fence, and reads the
//! announcements (`write::after_commit`). By the fences, either the writer
//! sees the announcement, bumps `wake` and calls the futex (the sleeper then
//! does not sleep, or is woken), or the sleeper's check sees the writer's
//! store. The first writer to see `sleepers` set clears it (a swap) before
//! it wakes: the writes after it make no system call until a reader
//! announces itself again (a reader still waking up would otherwise cost
//! every write meanwhile a futex call).
//!
//! The waker's one system call wakes one sleeper; every sleeper that wakes
//! to a changed word wakes all the others before it goes on (a cascade).
//! A write that wakes 64 sleeping readers costs its writer one cheap futex
//! call, not 64 thread wake-ups; the readers pay for each other.
//! No lock is involved anywhere, so a signal handler that interrupted a
//! sleeper, or a reader holding anything, cannot block a writer's wake-up.
//!
//! A ring in a file wakes all sleepers with its one call instead (a shared
//! futex, `FUTEX_WAKE` of all): the one sleeper woken may belong to a
//! process killed before it could pass the wake-up on.

#[cfg(not(loom))]
use crate::futex;
use crate::shared::Shared;
use crate::sync::{fence, Deadline, Ordering};

impl Shared {
    /// Wakes sleeping readers if any announced themselves (and clears the
    /// announcement): what a writer runs after its SeqCst fence.
    pub(crate) fn wake_sleepers(&self) {
        let h = self.header();
        if h.sleepers.load(Ordering::Relaxed) != 0 && h.sleepers.swap(0, Ordering::Relaxed) != 0 {
            self.wake();
        }
    }

    /// Wakes every sleeping reader and flush of this ring: one futex call
    /// that wakes one of them, which wakes the rest (module doc).
    /// Async-signal-safe.
    pub(crate) fn wake(&self) {
        let h = self.header();
        // Release: a sleeper that reads the new value (Acquire, in `sleep`)
        // sees what the waker stored before (a commit, a close).
        h.wake.fetch_add(1, Ordering::Release);
        h.wakeups.fetch_add(1, Ordering::Relaxed);
        #[cfg(not(loom))]
        match self.scope {
            futex::Scope::Private => futex::wake_one(&h.wake, self.scope),
            futex::Scope::Shared => futex::wake_all(&h.wake, self.scope),
        }
        #[cfg(loom)]
        self.region.waiters.wake_one();
    }

    /// Sleeps while the wake word holds `seen`; woken to a changed word,
    /// wakes the other sleepers (the cascade of the module doc).
    fn futex_wait(&self, seen: u32, deadline: Deadline) {
        let word = &self.header().wake;
        #[cfg(not(loom))]
        futex::wait(word, seen, deadline, self.scope);
        #[cfg(loom)]
        self.region.waiters.wait(word, seen, deadline);
        if word.load(Ordering::Relaxed) != seen {
            #[cfg(not(loom))]
            futex::wake_all(word, self.scope);
            #[cfg(loom)]
            self.region.waiters.wake_all();
        }
    }

    /// A reader's sleep: unless `ready()` holds after announcing itself,
    /// sleeps until a writer wakes it or `deadline`. Returns `ready()`'s
    /// answer; callers re-check either way (wake-ups may be spurious).
    pub(crate) fn sleep(&self, deadline: Deadline, ready: impl Fn() -> bool) -> bool {
        let h = self.header();
        let seen = h.wake.load(Ordering::Acquire);
        h.sleepers.store(1, Ordering::Relaxed);
        // SeqCst: pairs with the writer's fence in `after_commit` (and in
        // `evict` for a tail moved past a stalled record).
        fence(Ordering::SeqCst);
        let now = ready();
        if !now && !deadline.expired() {
            self.futex_wait(seen, deadline);
        }
        now
    }

    /// A flush's sleep: announces that it completes once a claim reaches
    /// `at` (eviction passes its flush point), then as `sleep`. Readers'
    /// progress wakes it too (`registry`).
    pub(crate) fn flush_sleep(&self, deadline: Deadline, at: u64, done: impl Fn() -> bool) -> bool {
        let h = self.header();
        let seen = h.wake.load(Ordering::Acquire);
        h.flush_at.fetch_min(at, Ordering::Relaxed);
        // SeqCst: pairs with the writer's fence in `after_commit`.
        fence(Ordering::SeqCst);
        let now = done();
        if !now && !deadline.expired() {
            self.futex_wait(seen, deadline);
        }
        now
    }
}
