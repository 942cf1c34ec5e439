//! `ring_writef` and `ring_vwritef`: printf-style writes, defined in C
//! (`c/writef.c`: stable Rust cannot define a variadic function), compiled
//! into the library by `build.rs` and declared in the header by
//! `cbindgen.toml`'s trailer (cbindgen sees only Rust). They format into a
//! stack buffer and call `ring_write`; their manual is the header's.

use std::ffi::{c_char, c_void};

use crate::result::ring_result;

/// The longest text `ring_writef` and `ring_vwritef` write, in bytes:
/// longer text is cut to its first min(RINGLOG_WRITEF_MAX,
/// ring_max_record()) bytes.
pub const RINGLOG_WRITEF_MAX: usize = 4096;

extern "C" {
    /// `c/writef.c`: `r` is a `*const ring` (declared here as `c_void`,
    /// since `ring` is an opaque Rust type). `ring_vwritef` takes a
    /// `va_list`, which stable Rust cannot name: C callers only.
    pub fn ring_writef(r: *const c_void, fmt: *const c_char, ...) -> ring_result;
}

/// A reference to the C object, so that the linker takes it out of its
/// archive into the shared library (which then exports both functions:
/// `c/exports.map`) even though no Rust code calls it.
#[used]
static KEEP_WRITEF: unsafe extern "C" fn(*const c_void, *const c_char, ...) -> ring_result = ring_writef;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{ring_reader_free, ring_reader_new, ring_reader_next, ring_record, ring_start, RingStartArg};
    use crate::ring_handle::{ring, ring_close, ring_free, ring_max_record, ring_new};

    /// A ring of `capacity` bytes, freed on drop.
    struct Ring(*mut ring);

    impl Ring {
        fn new(capacity: usize) -> Ring {
            let mut r = std::ptr::null_mut();
            // SAFETY: `r` is writable.
            assert_eq!(unsafe { ring_new(capacity, &mut r) }, ring_result::Ok);
            Ring(r)
        }

        fn void(&self) -> *const c_void {
            self.0.cast_const().cast()
        }

        /// Every record from the oldest, as (seq, bytes).
        fn records(&self) -> Vec<(u64, Vec<u8>)> {
            let mut rd = std::ptr::null_mut();
            // SAFETY: a live ring; `rd` writable; RingStartArg is the C integer.
            let start = unsafe { std::mem::transmute::<u32, RingStartArg>(ring_start::Oldest as u32) };
            // SAFETY: as above.
            assert_eq!(unsafe { ring_reader_new(self.0, start, 0, &mut rd) }, ring_result::Ok);
            let mut out = Vec::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut rec = ring_record::default();
            // SAFETY: a live reader, a buffer of buf.len() bytes, `rec` writable.
            while unsafe { ring_reader_next(rd, buf.as_mut_ptr().cast(), buf.len(), &mut rec, 0) } == ring_result::Ok {
                out.push((rec.seq, buf[..rec.len].to_vec()));
            }
            // SAFETY: the reader made above, freed once.
            unsafe { ring_reader_free(rd) };
            out
        }
    }

    impl Drop for Ring {
        fn drop(&mut self) {
            // SAFETY: the ring made by `new`, freed once.
            unsafe { ring_free(self.0) };
        }
    }

    #[test]
    fn writef_formats_one_record() {
        let r = Ring::new(1 << 16);
        // SAFETY: a live ring; the format's conversions match the arguments.
        let res = unsafe { ring_writef(r.void(), c"%s=%d %05.1f%%".as_ptr(), c"x".as_ptr(), -42i32, 3.25f64) };
        assert_eq!(res, ring_result::Ok);
        // SAFETY: as above; no conversions.
        assert_eq!(unsafe { ring_writef(r.void(), c"".as_ptr()) }, ring_result::Ok);
        assert_eq!(r.records(), vec![(0, b"x=-42 003.2%".to_vec()), (1, Vec::new())]);
    }

    #[test]
    fn writef_checks_its_arguments() {
        let r = Ring::new(1 << 16);
        // SAFETY: NULL ring and NULL format are checked, nothing is read.
        unsafe {
            assert_eq!(ring_writef(std::ptr::null(), c"x".as_ptr()), ring_result::NullParameter);
            assert_eq!(ring_writef(r.void(), std::ptr::null()), ring_result::NullParameter);
        }
        assert!(r.records().is_empty());
        // SAFETY: a live ring.
        assert_eq!(unsafe { ring_close(r.0) }, ring_result::Ok);
        // SAFETY: a live (closed) ring, no conversions.
        assert_eq!(unsafe { ring_writef(r.void(), c"late".as_ptr()) }, ring_result::Closed);
    }

    #[test]
    fn writef_cuts_at_the_buffer_or_max_record() {
        let long: Vec<u8> = (0..3 * RINGLOG_WRITEF_MAX).map(|i| b'a' + (i % 26) as u8).chain([0]).collect();
        // A large ring: cut at RINGLOG_WRITEF_MAX.
        let big = Ring::new(1 << 20);
        // SAFETY: a live ring; %s with a NUL-terminated string.
        assert_eq!(unsafe { ring_writef(big.void(), c"%s".as_ptr(), long.as_ptr()) }, ring_result::Ok);
        assert_eq!(big.records(), vec![(0, long[..RINGLOG_WRITEF_MAX].to_vec())]);
        // A 1 KiB ring: cut at ring_max_record() (256).
        let small = Ring::new(1024);
        // SAFETY: a live ring.
        let max = unsafe { ring_max_record(small.0) };
        assert!(max < RINGLOG_WRITEF_MAX);
        // SAFETY: as above.
        assert_eq!(unsafe { ring_writef(small.void(), c"%s".as_ptr(), long.as_ptr()) }, ring_result::Ok);
        assert_eq!(small.records(), vec![(0, long[..max].to_vec())]);
        // Exactly the limit: whole.
        let exact = &long[long.len() - 1 - max..];
        // SAFETY: as above.
        assert_eq!(unsafe { ring_writef(small.void(), c"%s".as_ptr(), exact.as_ptr()) }, ring_result::Ok);
        assert_eq!(small.records()[1], (1, exact[..max].to_vec()));
    }
}
