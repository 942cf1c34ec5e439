//! Test hooks: exported only with the cargo feature `fault-injection`
//! (`lib.rs` compiles this module only then), never in the header; the C
//! harness declares them itself.

/// Test-only (cargo feature `fault-injection`): makes the library panic,
/// once, at point `code` (1 = in a write before its commit, 2 = in a read
/// before the reader moves on, 3 = in a snapshot, 4 = in a flush). Not in
/// the header; the C harness declares it itself.
#[no_mangle]
pub extern "C" fn ring_test_panic_at(code: u32) -> crate::result::ring_result {
    if ringbuf_core::fault::panic_at_code(code) {
        crate::result::ring_result::Ok
    } else {
        crate::result::ring_result::InvalidArgument
    }
}
