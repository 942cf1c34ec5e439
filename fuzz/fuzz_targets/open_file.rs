//! The `open_file` fuzz target (logic: src/open_file.rs). Built by `cargo
//! fuzz` (`--cfg fuzzing`) it is a libFuzzer binary; built plainly it
//! replays the files named on its command line.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ringlog_fuzz::open_file(data));

#[cfg(not(fuzzing))]
fn main() {
    ringlog_fuzz::replay_main("open_file");
}
