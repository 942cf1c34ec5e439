//! ringlog's core: the most recent N bytes of a program's logs in a fixed
//! ring, in memory or in a file (the flight recorder), written by many
//! threads (and processes) and streamed by many independent readers.
//!
//! # What you can rely on
//!
//! * **Records.** Each successful [`Ring::write`] appends one record: the
//!   bytes given, whole. Records of concurrent writers never interleave and
//!   are never torn. Records are numbered 0, 1, 2, ... (their *seq*), in the
//!   order readers see them. A record is visible to every reader when the
//!   write returns and every record before it is committed. Empty records
//!   are valid.
//! * **Overwrite.** The ring keeps the newest records that fit in its
//!   capacity (framing included: 16 bytes of header plus padding to 8, at
//!   most 23 bytes per record) and evicts the oldest whole records.
//! * **Writers never wait, for readers or for each other.** One 16-byte
//!   compare-and-swap gives a record its place and its seq; each record is
//!   committed on its own. A write allocates nothing and makes no system
//!   call unless a reader or flush sleeps and must be woken (one call,
//!   however many sleep). A writer preempted, stopped or interrupted in the
//!   middle of its record holds up no other writer: if the ring laps it,
//!   the others write around its bytes until it is done. Only a ring too
//!   small for its writers refuses a write ([`Error::Busy`], after at most
//!   [`BUSY_WAIT`]). `write`, `writev`, `snapshot_into` and `dump_fd` are
//!   async-signal-safe: a signal handler may call them whatever its thread
//!   was doing, also in the middle of a write.
//! * **Readers** ([`Reader`]) start at the oldest retained record, at the
//!   newest, or at a seq, and each goes at its own pace. One that falls
//!   behind is *lapped*: its next record carries `lost`, the number of
//!   records it missed, and reading resumes at the oldest retained record.
//!   Records read plus `lost` reported always equal the records written.
//!   A record still being written holds readers up at that point (records
//!   come in seq order), never writers.
//! * **Flush, close, snapshot.** [`Ring::flush`] waits until the readers
//!   have caught up with what was written before it; [`Ring::close`] ends
//!   every stream after the readers drain the ring; [`Ring::snapshot`]
//!   copies what the ring holds. Dropping the last [`Ring`] closes it.
//! * **Fork.** In the child of a `fork`, every operation on a ring or
//!   reader made before it returns [`Error::Forked`] at once.
//! * **One region, in memory or in a file.** The state lives in one
//!   pointer-free region (a header and the data). [`Ring::open_file`] maps
//!   it from a file shared by any number of processes, with the same
//!   semantics; whatever was committed survives the crash of any of them,
//!   and a writer killed in the middle of a record loses only that record
//!   (readers pass it as lost within 10 ms of its process being gone).
//!   A file that is not a ring is refused ([`Error::BadFile`]), untouched.
//!   [`image::parse`] reads a region from plain bytes (docs/FORMAT.md).
//! * **Logging libraries.** [`Ring::log_writer`] is the writer for `log`
//!   (`env_logger::Target::Pipe(Box::new(ring.log_writer()))`) and, with
//!   the `tracing` feature, `tracing_subscriber::fmt().with_writer(ring.log_writer())`:
//!   each event one record, an event over `max_record` cut with a marker
//!   instead of dropped ([`LogWriter`]).
//!
//! # Example
//!
//! ```
//! use std::io::Write;
//! use std::time::Duration;
//! use ringbuf_core::{Ring, Start};
//!
//! let ring = Ring::new(1 << 20)?;
//! let mut tail = ring.reader(Start::Newest)?;
//!
//! let writer = {
//!     let ring = ring.clone();
//!     std::thread::spawn(move || {
//!         for i in 0..3 {
//!             writeln!(&ring, "request {i} served").unwrap(); // one record each
//!         }
//!     })
//! };
//! writer.join().unwrap();
//!
//! for i in 0..3 {
//!     let rec = tail.next_timeout(Duration::from_secs(5))?;
//!     assert_eq!(rec.seq, i);
//!     assert_eq!(rec.lost, 0);
//!     assert_eq!(rec.data, format!("request {i} served\n").into_bytes());
//! }
//! ring.close()?;
//! assert!(tail.next().is_none()); // end of the closed ring
//! # Ok::<(), ringbuf_core::Error>(())
//! ```
//!
//! # Building for checkers
//!
//! `--cfg loom` swaps every atomic and lock for loom's (see `tests/loom.rs`);
//! `--cfg ringlog_checked` copies payloads word by word through atomics so
//! that ThreadSanitizer and Miri see no data race (see `region`).
//!
//! # Platforms
//!
//! Linux on x86-64 is what is built and tested (AArch64 should work, with
//! `casp`, but no test runs there yet). Rings in files need Linux 3.15 or
//! later (open-file-description locks tell which processes are alive). A ring needs a lock-free 16-byte
//! compare-and-swap; without one, [`Ring::new`] refuses. Readers sleep on a futex on Linux; elsewhere they
//! re-check every millisecond instead.

// Lower modules first: each uses only modules listed before it (sync,
// layout, pos, region, registry, shared; frame adds to `Shared` how frames
// are read, written and walked), then the paths built on them.
mod sync;
mod futex;
mod layout;
mod pos;
mod error;
mod sigbus;
mod region;
mod session;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod fork;
mod registry;
mod shared;
mod frame;
mod pins;
mod reap;
mod write;
mod wake;
mod flush;
mod reader;
mod snapshot;
pub mod image;
mod file;
mod line;
mod log_writer;
mod ring;

pub use error::Error;

/// A test-only panic point (see `fault`); nothing without the feature.
macro_rules! fault_point {
    ($point:ident) => {
        #[cfg(feature = "fault-injection")]
        $crate::fault::hit($crate::fault::Point::$point);
    };
}
pub(crate) use fault_point;
pub use log_writer::LogWriter;
pub use reader::{Reader, Record, RecordInfo, Start};
pub use reap::STALL_UNWRITTEN;
pub use ring::{Flush, Ring, Stats, MAX_CAPACITY, MIN_CAPACITY};
pub use write::BUSY_WAIT;

/// The version of the region layout (docs/FORMAT.md) this build reads and
/// writes; a ring file of another version is refused ([`Error::BadFile`]).
pub const FORMAT_VERSION: u32 = layout::VERSION;

/// Bytes of framing per record: a 16-byte header, then padding of the
/// payload to a multiple of 8.
pub const RECORD_HEADER: usize = frame::HEADER_LEN as usize;

/// Bytes a record of `len` payload bytes occupies in the ring (saturating
/// at `usize::MAX` for lengths no ring takes).
pub const fn record_size(len: usize) -> usize {
    RECORD_HEADER.saturating_add(len.saturating_add(7) & !7)
}

/// The README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
