//! Replays every kept input, `corpus/<target>/*` and `regressions/<target>/*`,
//! through the same target logic as the fuzzer, with plain `cargo test` on
//! stable: no libFuzzer, no sanitizer, so the corpus is a regression test in
//! ordinary CI. (`scripts/fuzz --replay` runs this.)

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// An input that runs longer than this is reported as hung (every call the
/// targets make uses timeout 0, so nothing should ever wait; `open_file`'s
/// opens wait for no other process: none has its files open).
const LIMIT: Duration = Duration::from_secs(120);

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let run = ringlog_fuzz::TARGETS.iter().find(|(name, _)| *name == target).expect("a known target").1;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = files_in(&root.join("corpus").join(target));
    let regressions = files_in(&root.join("regressions").join(target));
    assert!(!corpus.is_empty(), "fuzz/corpus/{target}/ is empty: the seed corpus is missing");
    let mut failures = Vec::new();
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).expect("readable input");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let ok = std::panic::catch_unwind(|| run(&data)).is_ok();
            let _ = tx.send(ok);
        });
        match rx.recv_timeout(LIMIT) {
            Ok(true) => {}
            Ok(false) => failures.push(format!("{}: failed (panic message above)", path.display())),
            Err(_) => failures.push(format!("{}: still running after {LIMIT:?}: a call blocked?", path.display())),
        }
    }
    eprintln!("{target}: replayed {} corpus + {} regression inputs", corpus.len(), regressions.len());
    assert!(failures.is_empty(), "{target}: {} of the kept inputs fail:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn c_abi_corpus_and_regressions() {
    replay("c_abi");
}

#[test]
fn image_corpus_and_regressions() {
    replay("image");
}

#[test]
fn open_file_corpus_and_regressions() {
    replay("open_file");
}
