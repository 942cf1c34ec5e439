//! Noticing that a ring is used in the child of a `fork`.
//!
//! After `fork`, the child has a copy of the parent's memory but only the
//! thread that called `fork`. A ring's locks may have been held by threads
//! that do not exist in the child, so touching an inherited ring could
//! deadlock. Instead, every ring remembers the fork generation it was made
//! in, and refuses ([`Error::Forked`](crate::Error::Forked)) to work in a
//! later one. Rings made in the child work normally.
//!
//! The generation is bumped by [`forked_child`], which the first ring made
//! in a process registers with `pthread_atfork` (once per process). Every
//! operation of an inherited ring or reader then answers `Forked`, at once.

use std::sync::atomic::{AtomicU64, Ordering};

// Deliberately std's atomic, also under loom: process-wide, and touched
// by no interleaving a model explores.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Tells ringlog that this process is the child of a `fork`: rings made
/// before it refuse to work from now on. Async-signal-safe (one atomic
/// increment), as a `pthread_atfork` child handler must be.
pub fn forked_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The current fork generation: how many times this process (or its
/// ancestors, since the first ring was made) forked into a child. A binding
/// that remembers it can refuse an inherited object before touching any of
/// its locks.
#[inline]
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

#[cfg(all(unix, not(loom)))]
extern "C" fn in_child() {
    forked_child();
}

/// Registers [`forked_child`] as a `pthread_atfork` child handler, once
/// per process (called when a ring is made).
pub(crate) fn watch() {
    #[cfg(all(unix, not(loom)))]
    {
        static REGISTER: std::sync::Once = std::sync::Once::new();
        REGISTER.call_once(|| {
            // SAFETY: registers a handler that only increments an atomic
            // (async-signal-safe, as a fork handler in a multi-threaded
            // process must be); the function lives as long as the program.
            unsafe {
                libc::pthread_atfork(None, None, Some(in_child));
            }
        });
    }
}
