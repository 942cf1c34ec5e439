//! `ring_result`: what every fallible C call returns.

use std::ffi::{c_char, CStr};

use ringbuf_core::Error;

/// The outcome of a ringlog call. The numbers never change once released.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ring_result {
    /// Success.
    Ok = 0,
    /// Write after close; reader at the end of a closed ring.
    Closed = 1,
    /// The wait ended first.
    Timeout = 2,
    /// Record larger than `ring_max_record()`; nothing was written.
    TooLarge = 3,
    /// Buffer too small: `out->len` holds the size needed; the record is kept.
    BufSmall = 4,
    /// A required pointer argument was NULL.
    NullParameter = 5,
    /// An argument is out of range: capacity outside 1 KiB..1 TiB, unknown
    /// start, a buffer length above `PTRDIFF_MAX`.
    InvalidArgument = 6,
    /// The ring's memory could not be allocated.
    NoMemory = 7,
    /// A bug inside ringlog was caught at the boundary. The call did nothing
    /// that can be observed as half-done: the ring stays correct (a write
    /// interrupted by it leaves a dead record, which readers count as lost).
    Panic = 8,
    /// `ring_reader_read` only: bytes were overwritten before this reader
    /// read them; the next call goes on from the start of the oldest
    /// retained record.
    Lost = 9,
    /// The ring (or reader) was created before this process forked; the
    /// child must not use it. Rings created in the child work. Detected by
    /// a pthread_atfork handler, so it never deadlocks on a lock held by a
    /// thread that does not exist in the child.
    Forked = 10,
    /// The room a write must claim is held by records still being written
    /// (only in a ring too small for its writers): nothing was written, the
    /// drop is counted in `ring_stats().dropped`. The write waited at most
    /// 50 us first, and not at all in a signal handler that interrupted a
    /// write on the same thread.
    Busy = 11,
    /// `ring_open_file`: the file is not a ring file, has another format
    /// version, is truncated or corrupt. The file was left untouched. Also
    /// any call on a ring whose file was truncated while it was mapped.
    BadFile = 12,
    /// A system call failed; `errno` says why (`ring_open_file`,
    /// `ring_dump_fd`).
    Io = 13,
}

impl From<Error> for ring_result {
    fn from(e: Error) -> ring_result {
        match e {
            Error::Closed => ring_result::Closed,
            Error::Timeout => ring_result::Timeout,
            Error::TooLarge { .. } => ring_result::TooLarge,
            Error::BufSmall { .. } => ring_result::BufSmall,
            Error::Lost { .. } => ring_result::Lost,
            Error::InvalidArgument(_) => ring_result::InvalidArgument,
            Error::NoMemory => ring_result::NoMemory,
            Error::Forked => ring_result::Forked,
            Error::Busy => ring_result::Busy,
            Error::BadFile(_) => ring_result::BadFile,
            Error::Io(errno) => {
                set_errno(errno);
                ring_result::Io
            }
            _ => ring_result::Panic, // whatever a newer core adds
        }
    }
}

/// `Ok` or the error's code.
pub(crate) fn result(r: Result<(), Error>) -> ring_result {
    match r {
        Ok(()) => ring_result::Ok,
        Err(e) => e.into(),
    }
}

/// Sets the calling thread's `errno` (async-signal-safe).
fn set_errno(errno: i32) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: __errno_location returns this thread's errno, always valid.
    unsafe {
        *libc::__errno_location() = errno
    };
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    // SAFETY: __error returns this thread's errno, always valid.
    unsafe {
        *libc::__error() = errno
    };
}

impl ring_result {
    /// Every result, in the order of its number: `ALL[n] as u32 == n`
    /// (checked by a test below).
    const ALL: [ring_result; 14] = [
        ring_result::Ok,
        ring_result::Closed,
        ring_result::Timeout,
        ring_result::TooLarge,
        ring_result::BufSmall,
        ring_result::NullParameter,
        ring_result::InvalidArgument,
        ring_result::NoMemory,
        ring_result::Panic,
        ring_result::Lost,
        ring_result::Forked,
        ring_result::Busy,
        ring_result::BadFile,
        ring_result::Io,
    ];

    /// The result numbered `code`, if any.
    fn from_code(code: u32) -> Option<ring_result> {
        Self::ALL.get(usize::try_from(code).ok()?).copied()
    }

    /// Its text for `ring_result_str`: static, NUL-terminated.
    fn text(self) -> &'static CStr {
        match self {
            ring_result::Ok => c"ok",
            ring_result::Closed => c"ring is closed",
            ring_result::Timeout => c"timed out",
            ring_result::TooLarge => c"record larger than ring_max_record()",
            ring_result::BufSmall => c"buffer too small for the record",
            ring_result::NullParameter => c"a required pointer argument was NULL",
            ring_result::InvalidArgument => c"invalid argument",
            ring_result::NoMemory => c"out of memory",
            ring_result::Panic => c"internal error (panic caught at the ringlog boundary)",
            ring_result::Lost => c"records were overwritten before this reader read them",
            ring_result::Forked => c"ring was created before fork(): it cannot be used in the child",
            ring_result::Busy => c"ring is busy: the room to claim is held by records still being written",
            ring_result::BadFile => c"not a usable ring file: not a ring, another format version, truncated or corrupt",
            ring_result::Io => c"a system call failed (see errno)",
        }
    }
}

/// The text of a code that is no `ring_result`.
const UNKNOWN: &CStr = c"unknown ring_result code";

/// A short English description of a result code.
///
/// Takes any integer, since C can pass one; unknown codes get
/// "unknown ring_result code". The text is static: never NULL, never freed.
///
/// # Safety
///
/// None: any value is accepted. Thread-safe.
#[no_mangle]
pub extern "C" fn ring_result_str(code: u32) -> *const c_char {
    ffi_boundary!(c"internal error".as_ptr(), {
        ring_result::from_code(code).map_or(UNKNOWN, ring_result::text).as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn all_lists_every_result_by_its_number() {
        for (n, r) in ring_result::ALL.iter().enumerate() {
            assert_eq!(*r as usize, n);
        }
        // The last result is the last in ALL: a new one must be added there.
        assert_eq!(ring_result::Io as usize, ring_result::ALL.len() - 1);
    }

    #[test]
    fn every_code_has_text_and_unknown_codes_are_safe() {
        for code in 0..=13u32 {
            // SAFETY: ring_result_str returns static NUL-terminated text.
            let s = unsafe { CStr::from_ptr(ring_result_str(code)) };
            assert!(!s.to_bytes().is_empty());
            assert_ne!(s.to_bytes(), b"unknown ring_result code");
        }
        for code in [14, 1000, u32::MAX] {
            // SAFETY: as above.
            let s = unsafe { CStr::from_ptr(ring_result_str(code)) };
            assert_eq!(s.to_bytes(), b"unknown ring_result code");
        }
    }
}
