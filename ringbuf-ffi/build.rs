//! Builds the C part of libringlog (`c/writef.c`: `ring_writef` and
//! `ring_vwritef`, which stable Rust cannot define since they are
//! variadic) and gives the shared library its soname.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=c/writef.c");
    println!("cargo:rerun-if-changed=c/exports.map");
    println!("cargo:rerun-if-changed=../include/ringlog.h");

    let mut c = cc::Build::new();
    c.file("c/writef.c").std("c11").warnings(true).extra_warnings(true).warnings_into_errors(true);
    // In the workspace, writef.c includes the generated header, so that the
    // compiler checks the header's declarations against the definitions
    // (the packaged crate has no include/: writef.c declares what it needs).
    if Path::new("../include/ringlog.h").exists() {
        c.include("../include").define("RINGLOG_WITH_HEADER", None);
    }
    c.compile("ringlog_c");

    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let elf = !matches!(os.as_str(), "macos" | "ios" | "windows");
    if elf {
        // rustc exports only Rust's #[no_mangle] functions from a cdylib (its
        // version script hides every other symbol): this second version
        // script exports the C functions too. The reference pulls writef.o
        // out of the archive.
        let map = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("c/exports.map");
        println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", map.display());
        // The ABI's major version: programs linked with -lringlog record
        // libringlog.so.0 (make install makes the libringlog.so symlink).
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libringlog.so.0");
        link_soname_in_target_dir();
    }
}

/// Makes `libringlog.so.0 -> libringlog.so` next to the library cargo
/// builds (target/<profile>/), so that programs linked against it there
/// (the C harness, the demo, the benchmarks: `-Ltarget/release -lringlog
/// -Wl,-rpath,...`) find the soname they record. Best effort: skipped when
/// OUT_DIR is not in cargo's usual target/<profile>/build/<pkg>/out layout.
fn link_soname_in_target_dir() {
    let Ok(out) = std::env::var("OUT_DIR") else { return };
    let out = Path::new(&out);
    let (Some(build), Some(profile_dir)) = (out.ancestors().nth(2), out.ancestors().nth(3)) else { return };
    if build.file_name().is_none_or(|n| n != "build") {
        return;
    }
    let link = profile_dir.join("libringlog.so.0");
    if std::fs::symlink_metadata(&link).is_err() {
        #[cfg(unix)]
        let _ = std::os::unix::fs::symlink("libringlog.so", &link);
    }
}
