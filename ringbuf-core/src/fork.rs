//! Noticing that a ring is used in the child of a `fork`.
//!
//! After `fork`, the child has a copy of the parent's memory but only the
//! thread that called `fork`. A ring's locks may have been held by threads
//! that do not exist in the child, so touching an inherited ring could
//! deadlock. Instead, every ring remembers the fork generation it was made
//! in, and refuses ([`Error::Forked`](crate::Error::Forked)) to work in a
//! later one. Rings made in the child work normally.
//!
//! The generation is bumped by [`forked_child`], which the C library and
//! the Python module register with `pthread_atfork` (this crate does not
//! depend on libc). A Rust program that forks while rings exist should
//! register it too:
//!
//! ```text
//! extern "C" fn child() { ringbuf_core::fork::forked_child() }
//! unsafe { libc::pthread_atfork(None, None, Some(child)) };
//! ```

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

/// The current fork generation.
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}
