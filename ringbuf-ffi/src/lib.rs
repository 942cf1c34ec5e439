//! The C ABI of ringlog, built as `libringlog.so` and `libringlog.a`.
//!
//! `include/ringlog.h` is generated from this crate by `scripts/gen-header`
//! (cbindgen, pinned); the doc comments here are the C user's manual.
//!
//! Every exported function runs its body inside `ffi_boundary!`, which
//! turns a panic into `RING_RESULT_PANIC` (or NULL / 0 where the function
//! returns no result), and unwraps pointers only through the small helpers
//! in `boundary`, which return `RING_RESULT_NULL_PARAMETER`. No ring
//! logic lives here: each function translates arguments, calls
//! `ringbuf_core`, and translates the outcome.
//!
//! Two functions are C (`c/writef.c`, built by `build.rs`): `ring_writef`
//! and `ring_vwritef`, since stable Rust cannot define variadic functions.
//! Test hooks, exported only with the cargo feature `fault-injection`, are
//! in `test_hooks`.
#![allow(non_camel_case_types)]

#[macro_use]
mod boundary;
// Declaration order is the header's order (rustfmt.toml keeps it).
mod version;
mod result;
mod ring_handle;
mod writef;
mod stats;
mod reader;
#[cfg(feature = "fault-injection")]
mod test_hooks;

pub use reader::{
    ring_reader, ring_reader_free, ring_reader_lost, ring_reader_new, ring_reader_next, ring_reader_read, ring_record,
    ring_start, RingStartArg,
};
pub use result::{ring_result, ring_result_str};
pub use ring_handle::{
    ring, ring_capacity, ring_close, ring_dump_fd, ring_flush, ring_free, ring_max_record, ring_new, ring_slice,
    ring_snapshot, ring_write, ring_writev,
};
pub use stats::{ring_stats, RingStats};
#[cfg(feature = "fault-injection")]
pub use test_hooks::ring_test_panic_at;
pub use version::ring_version;
pub use writef::{ring_writef, RINGLOG_WRITEF_MAX};
