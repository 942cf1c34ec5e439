//! The `image` fuzz target (logic: src/image.rs). Built by `cargo fuzz`
//! (`--cfg fuzzing`) it is a libFuzzer binary; built plainly it replays the
//! files named on its command line.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ringlog_fuzz::image(data));

#[cfg(not(fuzzing))]
fn main() {
    ringlog_fuzz::replay_main("image");
}
