//! `ring_result`: what every fallible C call returns.

use std::ffi::c_char;

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

/// Static, NUL-terminated text for each code.
fn text(code: u32) -> &'static [u8] {
    match code {
        0 => b"ok\0",
        1 => b"ring is closed\0",
        2 => b"timed out\0",
        3 => b"record larger than ring_max_record()\0",
        4 => b"buffer too small for the record\0",
        5 => b"a required pointer argument was NULL\0",
        6 => b"invalid argument\0",
        7 => b"out of memory\0",
        8 => b"internal error (panic caught at the ringlog boundary)\0",
        9 => b"records were overwritten before this reader read them\0",
        10 => b"ring was created before fork(): it cannot be used in the child\0",
        11 => b"ring is busy: the room to claim is held by records still being written\0",
        12 => b"not a usable ring file: not a ring, another format version, truncated or corrupt\0",
        13 => b"a system call failed (see errno)\0",
        _ => b"unknown ring_result code\0",
    }
}

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
    ffi_boundary!(c"internal error".as_ptr(), { text(code).as_ptr().cast() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

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
