//! Reads the `ring_result` codes from include/ringlog.h (the C user's manual,
//! generated from ringbuf-ffi), so the harness knows exactly the codes a C
//! program knows: "a known ring_result" means one the header declares.

use std::path::Path;

fn main() {
    let header = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/ringlog.h");
    println!("cargo:rerun-if-changed={}", header.display());
    let text = std::fs::read_to_string(&header).unwrap_or_else(|e| panic!("{}: {e}", header.display()));
    let start = text.find("typedef enum ring_result {").expect("ringlog.h declares enum ring_result");
    let end = start + text[start..].find("} ring_result;").expect("the end of enum ring_result");
    let mut codes = Vec::new();
    for line in text[start..end].lines() {
        let Some(rest) = line.trim().strip_prefix("RING_RESULT_") else { continue };
        let (name, value) = rest.split_once('=').expect("RING_RESULT_X = n,");
        let value: u32 = value.trim().trim_end_matches(',').parse().expect("a number");
        codes.push(format!("(\"{}\", {value})", name.trim()));
    }
    assert!(codes.len() >= 10, "ringlog.h: expected the ten ring_result codes at least, found {codes:?}");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("ring_results.rs");
    let src = format!(
        "/// The ring_result codes include/ringlog.h declares: (name without RING_RESULT_, value).\n\
         pub(crate) const RING_RESULTS: &[(&str, u32)] = &[{}];\n",
        codes.join(", ")
    );
    std::fs::write(&out, src).expect("write ring_results.rs");
}
