//! The `ring` handle: create, open, write, flush, close, snapshot, dump, free.

use std::ffi::c_void;

use ringbuf_core::{Error, Ring};

use crate::boundary::{input, output, timeout, Out, MAX_BUFFER};
use crate::result::{result, ring_result};

/// A ring of log records. Opaque; made by `ring_new`, released by
/// `ring_free`. Safe to use from any number of threads at once.
pub struct ring {
    _private: [u8; 0],
}

/// The `Ring` behind a handle, or `None` for NULL.
///
/// # Safety
///
/// `r` is NULL or a live handle from `ring_new`.
pub(crate) unsafe fn ring_ref<'a>(r: *const ring) -> Option<&'a Ring> {
    // SAFETY: a non-NULL handle points to the `Ring` boxed by `ring_new`,
    // which lives until `ring_free`.
    unsafe { r.cast::<Ring>().as_ref() }
}

/// Creates a ring of `capacity` bytes, per-record framing included, rounded
/// up to a power of two. Stores the handle in `*out` (NULL on failure).
///
/// Each record costs its length plus 16 bytes of header plus padding to a
/// multiple of 8 (at most 23 bytes of framing). The largest record is
/// `ring_max_record()`: a quarter of the capacity.
///
/// Returns RING_RESULT_OK, RING_RESULT_NULL_PARAMETER (`out` is NULL),
/// RING_RESULT_INVALID_ARGUMENT (capacity outside 1 KiB..1 TiB) or
/// RING_RESULT_NO_MEMORY (the allocation failed; the process is not
/// aborted).
///
/// # Safety
///
/// `out` must be NULL or point to writable storage for a `ring *`.
#[no_mangle]
pub unsafe extern "C" fn ring_new(capacity: usize, out: *mut *mut ring) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a writable `ring *`.
        let mut out = try_ref!(unsafe { Out::new(out) });
        out.set(std::ptr::null_mut());
        match Ring::new(capacity) {
            Ok(r) => {
                out.set(Box::into_raw(Box::new(r)).cast());
                ring_result::Ok
            }
            Err(e) => e.into(),
        }
    })
}

/// Opens the ring that lives in the file at `path` (a NUL-terminated
/// path), creating it if it does not exist: the flight recorder. Stores the
/// handle in `*out` (NULL on failure).
///
/// A missing file is created with mode 0600 and `capacity` bytes, rounded
/// as for `ring_new`; its size never changes afterwards (20 KiB of header
/// and tables, then the capacity plus a slack of capacity / 16, at most
/// 4 KiB). An existing ring file is opened as it is: `capacity` must be 0
/// or its capacity. Any number of threads in any number of processes may
/// have the file open and write and read with the same semantics as a ring
/// in memory. The ring outlives handles and processes: `ring_free` does not
/// close it, a crash leaves every committed record in the file, and opening
/// a closed ring opens it again for writing, seqs going on.
///
/// Returns RING_RESULT_OK, RING_RESULT_NULL_PARAMETER (`path` or `out`
/// NULL), RING_RESULT_INVALID_ARGUMENT (capacity out of range or different
/// from the existing ring's), RING_RESULT_BAD_FILE (not a ring file,
/// another format version, truncated or corrupt: the file is untouched),
/// RING_RESULT_IO with `errno` set (no permission, a missing directory, a
/// missing file with capacity 0), RING_RESULT_BUSY (255 handles have the
/// file open) or RING_RESULT_NO_MEMORY (it cannot be mapped).
///
/// # Safety
///
/// `path` must be NULL or a NUL-terminated string; `out` NULL or writable
/// storage for a `ring *`.
#[no_mangle]
pub unsafe extern "C" fn ring_open_file(
    path: *const std::ffi::c_char,
    capacity: usize,
    out: *mut *mut ring,
) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a writable `ring *`.
        let mut out = try_ref!(unsafe { Out::new(out) });
        out.set(std::ptr::null_mut());
        if path.is_null() {
            return ring_result::NullParameter;
        }
        // SAFETY: a non-NULL `path` is NUL-terminated, by the caller.
        let path = unsafe { std::ffi::CStr::from_ptr(path) };
        let path = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path.to_bytes());
        match Ring::open_file(path, capacity) {
            Ok(r) => {
                out.set(Box::into_raw(Box::new(r)).cast());
                ring_result::Ok
            }
            Err(e) => e.into(),
        }
    })
}

/// Releases this handle. NULL is a no-op.
///
/// Readers made from the ring stay valid and keep its memory alive. A ring
/// in memory is closed when its last handle goes (nobody can write any
/// more): its readers read what it holds, then get RING_RESULT_CLOSED. A
/// ring in a file (`ring_open_file`) stays open: other handles and
/// processes may still write; only `ring_close` closes it.
///
/// # Safety
///
/// `r` must be NULL or a handle from `ring_new` not yet freed, and no other
/// thread may use it during or after this call (double free and use after
/// free are undefined).
#[no_mangle]
pub unsafe extern "C" fn ring_free(r: *mut ring) {
    ffi_boundary!((), {
        if !r.is_null() {
            // SAFETY: `r` came from `Box::into_raw` in `ring_new` and is
            // freed once, by the caller's contract.
            drop(unsafe { Box::from_raw(r.cast::<Ring>()) });
        }
    })
}

/// The ring's size in bytes (framing included); 0 for NULL.
///
/// # Safety
///
/// `r` must be NULL or a live handle. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn ring_capacity(r: *const ring) -> usize {
    // SAFETY: the caller passes NULL or a live handle.
    ffi_boundary!(0, { unsafe { ring_ref(r) }.map_or(0, Ring::capacity) })
}

/// The largest record the ring takes, in bytes (capacity / 4); 0 for NULL.
///
/// # Safety
///
/// `r` must be NULL or a live handle. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn ring_max_record(r: *const ring) -> usize {
    // SAFETY: the caller passes NULL or a live handle.
    ffi_boundary!(0, { unsafe { ring_ref(r) }.map_or(0, Ring::max_record) })
}

/// Appends one record holding `len` bytes from `data`, whole. It is visible
/// to every reader when this returns (and every record before it is
/// committed).
///
/// Never waits for a reader or for another writer, never allocates, makes
/// no system call unless a reader or flush sleeps (then one, to wake them
/// all). A writer preempted or stopped in the middle of its record holds
/// up no other writer. Async-signal-safe: a signal handler may call it,
/// also when it interrupted a write on the same thread. `len` may be 0 (an
/// empty record; `data` may then be NULL).
///
/// Returns RING_RESULT_OK, RING_RESULT_NULL_PARAMETER (`r` NULL, or `data`
/// NULL with `len` > 0), RING_RESULT_TOO_LARGE (`len` > ring_max_record(),
/// also SIZE_MAX; nothing written), RING_RESULT_CLOSED, RING_RESULT_BUSY
/// (only in a ring too small for its writers: the room to claim is held by
/// records still being written; nothing written, counted as dropped) or
/// RING_RESULT_FORKED. Argument errors are reported before the others.
///
/// # Safety
///
/// `r` must be NULL or a live handle; `data` must be NULL or point to `len`
/// readable bytes. Thread-safe: any number of threads may write at once.
#[no_mangle]
pub unsafe extern "C" fn ring_write(r: *const ring, data: *const c_void, len: usize) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a live handle.
        let ring = try_ref!(unsafe { ring_ref(r) });
        if data.is_null() && len > 0 {
            return ring_result::NullParameter;
        }
        if len > ring.max_record() {
            return ring_result::TooLarge;
        }
        // SAFETY: `len <= max_record <= MAX_BUFFER`, and the caller promises
        // `len` readable bytes at `data`.
        let bytes = try_ref!(unsafe { input(data.cast(), len) });
        match ring.write(bytes) {
            Ok(_) => ring_result::Ok,
            Err(e) => e.into(),
        }
    })
}

/// One part of a record for `ring_writev`: `len` bytes at `data`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ring_slice {
    /// The bytes (may be NULL when `len` is 0).
    pub data: *const c_void,
    /// How many.
    pub len: usize,
}

/// Appends one record made of the `n` parts at `parts`, back to back, as
/// `ring_write` would write their concatenation: one claim, one commit,
/// no allocation, async-signal-safe. `n` may be 0 (an empty record;
/// `parts` may then be NULL).
///
/// Returns as `ring_write`; also RING_RESULT_NULL_PARAMETER when `parts` is
/// NULL with `n` > 0 or a part's `data` is NULL with its `len` > 0,
/// RING_RESULT_INVALID_ARGUMENT when `n` is absurd (the array would exceed
/// PTRDIFF_MAX bytes), RING_RESULT_TOO_LARGE when the total exceeds
/// ring_max_record() (or size_t).
///
/// # Safety
///
/// `r` must be NULL or a live handle; `parts` NULL or `n` readable
/// `ring_slice`s, each `data` NULL or `len` readable bytes, unchanged
/// during the call. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn ring_writev(r: *const ring, parts: *const ring_slice, n: usize) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a live handle.
        let ring = try_ref!(unsafe { ring_ref(r) });
        if n > MAX_BUFFER / std::mem::size_of::<ring_slice>() {
            return ring_result::InvalidArgument;
        }
        let parts: &[ring_slice] = if n == 0 {
            &[]
        } else if parts.is_null() {
            return ring_result::NullParameter;
        } else {
            // SAFETY: non-NULL, `n` elements by the caller's contract, and
            // `n * size_of <= MAX_BUFFER`.
            unsafe { std::slice::from_raw_parts(parts, n) }
        };
        let mut total = 0usize;
        for p in parts {
            if p.data.is_null() && p.len > 0 {
                return ring_result::NullParameter;
            }
            total = match total.checked_add(p.len) {
                Some(t) => t,
                None => return ring_result::TooLarge,
            };
        }
        if total > ring.max_record() {
            return ring_result::TooLarge;
        }
        // Every part is now at most max_record <= MAX_BUFFER bytes.
        let slices = parts.iter().map(|p| {
            // SAFETY: checked above: non-NULL or empty, and the caller
            // promises `len` readable bytes.
            unsafe { input(p.data.cast(), p.len) }.unwrap_or(&[])
        });
        match ring.write_parts(slices) {
            Ok(_) => ring_result::Ok,
            Err(e) => e.into(),
        }
    })
}

/// Waits until every reader that exists now has read past every record
/// written before this call, or was lapped past it, or was freed.
///
/// `timeout_ms` < 0 waits for as long as it takes, 0 only checks, > 0 waits
/// at most that many milliseconds. Never blocks writers.
///
/// Returns RING_RESULT_OK (also at once when there are no readers),
/// RING_RESULT_TIMEOUT, RING_RESULT_NULL_PARAMETER or RING_RESULT_FORKED.
///
/// # Safety
///
/// `r` must be NULL or a live handle. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn ring_flush(r: *const ring, timeout_ms: i64) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a live handle.
        let ring = try_ref!(unsafe { ring_ref(r) });
        let flushed = match timeout(timeout_ms) {
            None => ring.flush(),
            Some(t) => ring.flush_timeout(t),
        };
        result(flushed)
    })
}

/// Closes the ring: writes fail with RING_RESULT_CLOSED from now on;
/// blocked readers wake, read what is retained, then get RING_RESULT_CLOSED.
/// Idempotent: RING_RESULT_OK every time (RING_RESULT_NULL_PARAMETER for
/// NULL, RING_RESULT_FORKED in the child of a fork).
///
/// # Safety
///
/// `r` must be NULL or a live handle. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn ring_close(r: *const ring) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a live handle.
        let ring = try_ref!(unsafe { ring_ref(r) });
        result(ring.close())
    })
}

/// Copies every retained record's bytes, oldest first, back to back, into
/// `buf` and stores their total length in `*out_len`: the "dump the last N
/// bytes" call. The total never exceeds ring_capacity(), so a buffer of
/// that size always suffices. Records still being written are left out;
/// writers go on meanwhile. Allocates nothing, takes no lock:
/// async-signal-safe.
///
/// `buf` NULL with `cap` 0 is a size query: RING_RESULT_BUF_SMALL with the
/// size in `*out_len` (RING_RESULT_OK with 0 when the ring is empty). Writers
/// go on meanwhile, so a later call may need more.
///
/// Returns RING_RESULT_OK, RING_RESULT_BUF_SMALL (`*out_len` holds the size
/// needed; what `buf` holds then is unspecified), RING_RESULT_NULL_PARAMETER
/// (`r` or `out_len` NULL, or `buf` NULL with `cap` > 0),
/// RING_RESULT_INVALID_ARGUMENT (`cap` > PTRDIFF_MAX) or RING_RESULT_FORKED.
///
/// # Safety
///
/// `r` must be NULL or a live handle; `buf` must be NULL or point to `cap`
/// writable bytes; `out_len` must be NULL or writable. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn ring_snapshot(
    r: *const ring,
    buf: *mut c_void,
    cap: usize,
    out_len: *mut usize,
) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a live handle.
        let ring = try_ref!(unsafe { ring_ref(r) });
        // SAFETY: the caller passes NULL or a writable size_t.
        let mut out_len = try_ref!(unsafe { Out::new(out_len) });
        out_len.set(0);
        // SAFETY: the caller promises `cap` writable bytes at `buf` when it
        // is not NULL.
        let dst = try_code!(unsafe { output(buf, cap) });
        match ring.snapshot_into(dst) {
            Ok(n) => {
                out_len.set(n);
                ring_result::Ok
            }
            Err(Error::BufSmall { len, .. }) => {
                out_len.set(len);
                ring_result::BufSmall
            }
            Err(e) => e.into(),
        }
    })
}

/// Writes the snapshot (every retained record's bytes, oldest first, back
/// to back) to the file descriptor `fd` with write(2) only: no allocation,
/// no lock, async-signal-safe. The crash handler's call: after logging its
/// last line with `ring_write`, a handler for SIGSEGV may dump the ring to
/// stderr or a file opened beforehand.
///
/// A record of up to 4 KiB is written whole or not at all; a longer one is
/// written in checked 4 KiB pieces, so if writers evict it during the dump
/// it appears cut short. Records still being written are left out.
///
/// Returns RING_RESULT_OK, RING_RESULT_NULL_PARAMETER (`r` NULL),
/// RING_RESULT_INVALID_ARGUMENT (`fd` < 0), RING_RESULT_IO (write(2)
/// failed; `errno` says why; EINTR is retried) or RING_RESULT_FORKED.
///
/// # Safety
///
/// `r` must be NULL or a live handle. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn ring_dump_fd(r: *const ring, fd: i32) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a live handle.
        let ring = try_ref!(unsafe { ring_ref(r) });
        if fd < 0 {
            return ring_result::InvalidArgument;
        }
        result(ring.dump_fd(fd))
    })
}
