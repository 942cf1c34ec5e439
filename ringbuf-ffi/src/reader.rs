//! `ring_reader`: an independent cursor over a ring.

use std::ffi::c_void;

use ringbuf_core::{Error, Reader, Start};

use crate::boundary::{output, timeout, Out};
use crate::result::ring_result;
use crate::ring_handle::{ring, ring_ref};

/// An independent cursor over a ring. Opaque; made by `ring_reader_new`,
/// released by `ring_reader_free`. Used by one thread at a time; it may
/// move between threads. It keeps the ring's memory alive.
pub struct ring_reader {
    _private: [u8; 0],
}

/// Where a new reader starts.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ring_start {
    /// The oldest retained record: replay what the ring holds, then follow.
    Oldest = 0,
    /// Only records written after the reader was created (`tail -f`).
    Newest = 1,
    /// The record with seq `seq`: if evicted, the oldest retained record
    /// with the gap reported as lost; if not written yet, wait for it.
    Seq = 2,
}

/// How `ring_start` arrives from C: as the plain integer C may pass, so an
/// unknown value is an error (RING_RESULT_INVALID_ARGUMENT), not undefined
/// behaviour. The header shows it as `ring_start` (cbindgen.toml).
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct RingStartArg(u32);

impl RingStartArg {
    fn decode(self, seq: u64) -> Option<Start> {
        match self.0 {
            x if x == ring_start::Oldest as u32 => Some(Start::Oldest),
            x if x == ring_start::Newest as u32 => Some(Start::Newest),
            x if x == ring_start::Seq as u32 => Some(Start::Seq(seq)),
            _ => None,
        }
    }
}

/// One record as `ring_reader_next` reports it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ring_record {
    /// Bytes in the record (copied to buf on OK; needed size on BUF_SMALL).
    pub len: usize,
    /// Its sequence number.
    pub seq: u64,
    /// Records this reader lost to overwriting just before this one.
    pub lost: u64,
}

/// The `Reader` behind a handle, or `None` for NULL.
///
/// # Safety
///
/// `rd` is NULL or a live handle from `ring_reader_new`, used by no other
/// thread during the call.
unsafe fn reader_mut<'a>(rd: *mut ring_reader) -> Option<&'a mut Reader> {
    // SAFETY: a non-NULL handle points to the `Reader` boxed by
    // `ring_reader_new`; the caller guarantees exclusive use.
    unsafe { rd.cast::<Reader>().as_mut() }
}

/// Creates a reader of `r` starting at `start` (`seq` is used with
/// RING_START_SEQ only). Stores it in `*out` (NULL on failure). Readers may
/// be created at any time, also after close.
///
/// Returns RING_RESULT_OK, RING_RESULT_NULL_PARAMETER (`r` or `out` NULL) or
/// RING_RESULT_INVALID_ARGUMENT (unknown `start`).
///
/// # Safety
///
/// `r` must be NULL or a live ring handle; `out` NULL or writable.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn ring_reader_new(
    r: *const ring,
    start: RingStartArg,
    seq: u64,
    out: *mut *mut ring_reader,
) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a writable `ring_reader *`.
        let mut out = try_ref!(unsafe { Out::new(out) });
        out.set(std::ptr::null_mut()); // first: NULL on every failure
                                       // SAFETY: the caller passes NULL or a live handle.
        let ring = try_ref!(unsafe { ring_ref(r) });
        let Some(start) = start.decode(seq) else {
            return ring_result::InvalidArgument;
        };
        match ring.reader(start) {
            Ok(reader) => {
                out.set(Box::into_raw(Box::new(reader)).cast());
                ring_result::Ok
            }
            Err(e) => e.into(),
        }
    })
}

/// Releases a reader. NULL is a no-op. A flush waiting for this reader
/// stops waiting for it.
///
/// # Safety
///
/// `rd` must be NULL or a reader from `ring_reader_new` not yet freed, used
/// by no other thread during or after the call.
#[no_mangle]
pub unsafe extern "C" fn ring_reader_free(rd: *mut ring_reader) {
    ffi_boundary!((), {
        if !rd.is_null() {
            // SAFETY: `rd` came from `Box::into_raw` in `ring_reader_new`
            // and is freed once, by the caller's contract.
            drop(unsafe { Box::from_raw(rd.cast::<Reader>()) });
        }
    })
}

/// Reads the reader's next record into `buf` (`cap` bytes) and describes it
/// in `*out`.
///
/// Blocks until a record exists, the ring is closed and drained, or the
/// timeout ends: `timeout_ms` < 0 waits for as long as it takes, 0 only
/// polls, > 0 waits at most that many milliseconds. Waiting readers sleep.
///
/// If writers overwrote records this reader had not read yet, the record
/// returned carries `out->lost`, the number skipped just before it, and
/// reading resumes at the oldest retained record.
///
/// Returns RING_RESULT_OK (bytes in `buf[0..out->len]`), RING_RESULT_BUF_SMALL
/// (`out->len`, `out->seq` and `out->lost` describe the record, which is
/// kept for the next call; `buf` NULL with `cap` 0 is such a size query),
/// RING_RESULT_TIMEOUT, RING_RESULT_CLOSED (end of a closed ring),
/// RING_RESULT_NULL_PARAMETER (`rd` or `out` NULL, or `buf` NULL with `cap`
/// > 0) or RING_RESULT_INVALID_ARGUMENT (`cap` > PTRDIFF_MAX).
///
/// # Safety
///
/// `rd` must be NULL or a live reader used by no other thread during the
/// call (two threads in one reader at once is undefined); `buf` NULL or
/// `cap` writable bytes; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ring_reader_next(
    rd: *mut ring_reader,
    buf: *mut c_void,
    cap: usize,
    out: *mut ring_record,
    timeout_ms: i64,
) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a live reader it uses alone.
        let reader = try_ref!(unsafe { reader_mut(rd) });
        // SAFETY: the caller passes NULL or a writable `ring_record`.
        let mut out = try_ref!(unsafe { Out::new(out) });
        out.set(ring_record::default());
        // SAFETY: the caller promises `cap` writable bytes at `buf` when it
        // is not NULL.
        let dst = try_code!(unsafe { output(buf, cap) });
        match reader.next_into(dst, timeout(timeout_ms)) {
            Ok(info) => {
                out.set(ring_record { len: info.len, seq: info.seq, lost: info.lost });
                ring_result::Ok
            }
            Err(Error::BufSmall { len, seq, lost }) => {
                out.set(ring_record { len, seq, lost });
                ring_result::BufSmall
            }
            Err(e) => e.into(),
        }
    })
}

/// Reads the byte stream: the bytes of consecutive records back to back, a
/// record possibly split across calls. Waits (as `ring_reader_next`) for
/// the first byte, then returns what is there without waiting more; stores
/// the count in `*out_len`. Empty records add no bytes; `cap` 0 returns
/// RING_RESULT_OK with 0 at once.
///
/// When records were overwritten before this reader read them (also in the
/// middle of a record), one call returns RING_RESULT_LOST with no bytes; the
/// next goes on from the start of the oldest retained record.
/// `ring_reader_lost()` tells how many records were lost in all.
///
/// Returns RING_RESULT_OK, RING_RESULT_LOST, RING_RESULT_TIMEOUT,
/// RING_RESULT_CLOSED (end of stream), RING_RESULT_NULL_PARAMETER or
/// RING_RESULT_INVALID_ARGUMENT (`cap` > PTRDIFF_MAX).
///
/// # Safety
///
/// As for `ring_reader_next`; `out_len` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ring_reader_read(
    rd: *mut ring_reader,
    buf: *mut c_void,
    cap: usize,
    out_len: *mut usize,
    timeout_ms: i64,
) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a live reader it uses alone.
        let reader = try_ref!(unsafe { reader_mut(rd) });
        // SAFETY: the caller passes NULL or a writable size_t.
        let mut out_len = try_ref!(unsafe { Out::new(out_len) });
        out_len.set(0);
        // SAFETY: the caller promises `cap` writable bytes at `buf` when it
        // is not NULL.
        let dst = try_code!(unsafe { output(buf, cap) });
        match reader.read_timeout(dst, timeout(timeout_ms)) {
            Ok(n) => {
                out_len.set(n);
                ring_result::Ok
            }
            Err(e) => e.into(),
        }
    })
}

/// Records this reader has lost to overwriting since it was created
/// (reported or not); 0 for NULL.
///
/// # Safety
///
/// `rd` must be NULL or a live reader used by no other thread during the
/// call.
#[no_mangle]
pub unsafe extern "C" fn ring_reader_lost(rd: *mut ring_reader) -> u64 {
    // SAFETY: the caller passes NULL or a live reader it uses alone.
    ffi_boundary!(0, { unsafe { reader_mut(rd) }.map_or(0, |r| r.lost_total()) })
}
