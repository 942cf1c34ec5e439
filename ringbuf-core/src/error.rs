//! The one error type of the crate; each variant maps to one C result code.

use std::fmt;

/// Why a ring operation did not do what was asked.
///
/// Every variant corresponds to one `RING_RESULT_*` code of the C API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The ring is closed: a write after `close`, or a reader at the end of
    /// a closed ring (end of stream).
    Closed,
    /// The wait ended before a record arrived or a flush completed.
    Timeout,
    /// The record is larger than the ring's `max_record`; nothing was written.
    TooLarge {
        /// Bytes in the rejected record.
        len: usize,
        /// The ring's `max_record`.
        max: usize,
    },
    /// The caller's buffer cannot hold the next record. The record is kept
    /// for the next call, with its `lost` count.
    BufSmall {
        /// Bytes needed.
        len: usize,
        /// The record's sequence number.
        seq: u64,
        /// Records lost just before it.
        lost: u64,
    },
    /// A byte-stream read found that records were overwritten before this
    /// reader read them; the stream goes on from the oldest retained record.
    Lost {
        /// Records skipped.
        records: u64,
    },
    /// An argument is out of range (for example a capacity outside
    /// 1 KiB..=1 TiB); the message says which.
    InvalidArgument(&'static str),
    /// The ring's memory could not be allocated.
    NoMemory,
    /// The ring was created before this process forked, in the parent: the
    /// child must not use it (its locks may be held by threads that do not
    /// exist in the child). Create a new ring in the child.
    Forked,
    /// The room a write must claim is held by records still being written
    /// and could not be freed within [`BUSY_WAIT`](crate::BUSY_WAIT) (only
    /// in a ring too small for its writers; never after waiting when the
    /// write interrupted another on the same thread). Nothing was written;
    /// the drop is counted in [`Stats::dropped`](crate::Stats::dropped).
    Busy,
    /// A system call failed (opening a ring file, `dump_fd`'s `write(2)`);
    /// the errno.
    Io(i32),
    /// A file is not a usable ring file: not a ring, another format
    /// version, truncated, or corrupt; the message says which. The file was
    /// left untouched.
    BadFile(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Closed => f.write_str("ring is closed"),
            Error::Timeout => f.write_str("timed out"),
            Error::TooLarge { len, max } => {
                write!(f, "record of {len} bytes is larger than the ring's max_record ({max})")
            }
            Error::BufSmall { len, seq, .. } => write!(f, "buffer too small: record {seq} needs {len} bytes"),
            Error::Lost { records } => write!(f, "{records} records were overwritten before this reader read them"),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::NoMemory => f.write_str("out of memory"),
            Error::Forked => f.write_str("ring was created before fork(): it cannot be used in the child"),
            Error::Busy => f.write_str("ring is busy: the room to claim is held by records still being written"),
            Error::Io(errno) => write!(f, "{}", std::io::Error::from_raw_os_error(*errno)),
            Error::BadFile(what) => write!(f, "bad ring file: {what}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        use std::io::ErrorKind;
        let kind = match e {
            Error::Closed => ErrorKind::BrokenPipe,
            Error::Timeout => ErrorKind::TimedOut,
            Error::TooLarge { .. } | Error::InvalidArgument(_) => ErrorKind::InvalidInput,
            Error::BadFile(_) => ErrorKind::InvalidData,
            Error::NoMemory => ErrorKind::OutOfMemory,
            Error::Busy => ErrorKind::WouldBlock,
            Error::Io(errno) => return std::io::Error::from_raw_os_error(errno),
            Error::BufSmall { .. } | Error::Lost { .. } | Error::Forked => ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}
