//! The logic of ringlog's fuzz targets, shared by the libFuzzer binaries
//! (`fuzz_targets/*.rs`, run by `scripts/fuzz`) and by the stable replay test
//! (`tests/replay.rs`), which runs every kept input in `corpus/<target>/` and
//! `regressions/<target>/` through the same functions with plain
//! `cargo test`.
//!
//! Each target takes any byte string and panics on a finding: a call that
//! panicked inside ringlog (RING_RESULT_PANIC), a result the contract or
//! the model does not allow, wrong bytes read back. Hangs and memory errors
//! are the fuzzer's and the sanitizer's to report. See README.md for the
//! input formats and for what exactly is asserted.

// The C ABI symbols are declared in `c_abi` as C declares them; this makes
// sure the crate that defines them is linked in.
extern crate ringlog;

mod c_abi;
mod format;
mod image;
mod input;
mod open_file;

pub use c_abi::run as c_abi;
pub use image::run as image;
pub use open_file::run as open_file;

/// A target: takes any bytes, panics on a finding.
pub type Target = fn(&[u8]);

/// The targets by name, for the replay test and the replay binaries.
pub const TARGETS: &[(&str, Target)] = &[("c_abi", c_abi), ("image", image), ("open_file", open_file)];

/// `main` of a target binary built without `cargo fuzz`: runs the files
/// named on the command line through `target` and says which passed, e.g.
/// `cargo run --bin c_abi -- regressions/c_abi/crash-...` on stable.
pub fn replay_main(target: &str) {
    let run = TARGETS.iter().find(|(name, _)| *name == target).expect("a known target").1;
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: {target} FILE...   (replays fuzz inputs; built by `cargo fuzz` it fuzzes)");
        std::process::exit(2);
    }
    for f in files {
        let data = std::fs::read(&f).unwrap_or_else(|e| panic!("{f}: {e}"));
        run(&data);
        println!("ok   {f}");
    }
}
