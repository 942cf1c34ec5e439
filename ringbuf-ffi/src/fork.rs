//! Registering ringlog's fork detection with the C library: after a fork,
//! the child's inherited rings refuse to work (RING_RESULT_FORKED) instead
//! of risking a deadlock on a lock held by a thread the child does not have.

use std::sync::Once;

static REGISTER: Once = Once::new();

extern "C" fn in_child() {
    ringbuf_core::fork::forked_child();
}

/// Registers the `pthread_atfork` child handler, once per process.
pub(crate) fn watch_forks() {
    REGISTER.call_once(|| {
        // SAFETY: registers a handler that only increments an atomic
        // (async-signal-safe, as a fork handler in a multi-threaded process
        // must be); the function lives as long as the library.
        unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        }
    });
}

/// Test-only (cargo feature `fault-injection`): makes the library panic,
/// once, at point `code` (1 = in a write before its commit, 2 = in a read
/// before the reader moves on, 3 = in a snapshot, 4 = in a flush). Not in
/// the header; the C harness declares it itself.
#[cfg(feature = "fault-injection")]
#[no_mangle]
pub extern "C" fn ring_test_panic_at(code: u32) -> crate::result::ring_result {
    if ringbuf_core::fault::panic_at_code(code) {
        crate::result::ring_result::Ok
    } else {
        crate::result::ring_result::InvalidArgument
    }
}
