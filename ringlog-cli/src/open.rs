//! Opening the ring file: the commands that read never create one; those
//! that write create a missing one (default capacity 1 MiB).

use std::path::Path;

use ringbuf_core::{Error, Ring};

use crate::fail::Fail;
use crate::size::Size;

/// Capacity of a ring that `write` or `run` creates without `--capacity`.
pub const DEFAULT_CAPACITY: u64 = 1 << 20;

/// An existing ring file (dump, tail, stat, serve): never created, a
/// closed ring stays closed.
pub fn existing(path: &Path) -> Result<Ring, Fail> {
    Ring::open_existing(path).map_err(|e| Fail::ring(path, "open the ring", e))
}

/// A ring file to write to: created with `capacity` (default 1 MiB) when
/// missing; an existing one is opened as it is (a closed ring is opened
/// again), and must have that capacity when `--capacity` was given.
pub fn for_writing(path: &Path, capacity: Option<Size>) -> Result<Ring, Fail> {
    let asked = capacity.map(|Size(n)| n);
    let opened = match asked {
        Some(n) => Ring::open_file(path, usize::try_from(n).unwrap_or(usize::MAX)),
        None => match Ring::open_file(path, 0) {
            Err(Error::Io(libc::ENOENT)) => Ring::open_file(path, DEFAULT_CAPACITY as usize),
            other => other,
        },
    };
    opened.map_err(|e| match e {
        Error::InvalidArgument(_) if asked.is_some() => match Ring::open_existing(path) {
            Ok(r) => Fail(format!(
                "{}: the ring's capacity is {} bytes, not the --capacity given (leave it out to use the file as it is)",
                path.display(),
                r.capacity()
            )),
            Err(_) => Fail(format!("{}: --capacity must be between 1 KiB and 1 TiB", path.display())),
        },
        e => Fail::ring(path, "open the ring", e),
    })
}
