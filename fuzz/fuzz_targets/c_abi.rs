//! The `c_abi` fuzz target (logic: src/c_abi.rs). Built by `cargo fuzz`
//! (`--cfg fuzzing`) it is a libFuzzer binary; built plainly it replays the
//! files named on its command line.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ringlog_fuzz::c_abi(data));

/// ASan's defaults for this binary: ring_new(1 TiB) must meet a failed
/// allocation (RING_RESULT_NO_MEMORY), not ASan's allocation-size abort.
#[cfg(fuzzing)]
#[no_mangle]
pub extern "C" fn __asan_default_options() -> *const std::ffi::c_char {
    c"allocator_may_return_null=1".as_ptr()
}

#[cfg(not(fuzzing))]
fn main() {
    ringlog_fuzz::replay_main("c_abi");
}
