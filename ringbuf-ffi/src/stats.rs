//! `ring_stats`: the counters of a ring.

use crate::boundary::Out;
use crate::result::ring_result;
use crate::ring_handle::{ring, ring_ref};

/// What `ring_stats` reports.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Records written so far: the next record's seq.
    pub written: u64,
    /// Seq of the oldest retained record (`written` when none is retained).
    pub oldest_seq: u64,
    /// Bytes the retained records occupy, framing included.
    pub bytes_used: u64,
    /// Writes refused with RING_RESULT_BUSY.
    pub dropped: u64,
    /// Live readers.
    pub readers: u64,
    /// The ring's capacity in bytes (framing included).
    pub capacity: u64,
    /// The largest record the ring takes.
    pub max_record: u64,
    /// 1 once the ring is closed, else 0.
    pub closed: u32,
}

/// Fills `*out` with the ring's counters (a consistent-enough picture:
/// writers go on meanwhile). Allocates nothing.
///
/// Returns RING_RESULT_OK or RING_RESULT_NULL_PARAMETER (`r` or `out`
/// NULL).
///
/// # Safety
///
/// `r` must be NULL or a live handle; `out` NULL or writable. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn ring_stats(r: *const ring, out: *mut RingStats) -> ring_result {
    ffi_boundary!(ring_result::Panic, {
        // SAFETY: the caller passes NULL or a writable `ring_stats`.
        let mut out = try_ref!(unsafe { Out::new(out) });
        // SAFETY: the caller passes NULL or a live handle.
        let ring = try_ref!(unsafe { ring_ref(r) });
        let s = ring.stats();
        out.set(RingStats {
            written: s.written,
            oldest_seq: s.oldest_seq,
            bytes_used: s.bytes_used,
            dropped: s.dropped,
            readers: s.readers,
            capacity: s.capacity,
            max_record: s.max_record,
            closed: u32::from(s.closed),
        });
        ring_result::Ok
    })
}
