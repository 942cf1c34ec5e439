//! What every exported function goes through: the panic boundary, pointer
//! checks, length checks, timeouts.

use std::ffi::c_void;
use std::time::Duration;

use crate::result::ring_result;

/// Runs `$body` (a block evaluating to the function's result), catching any
/// panic and returning `$on_panic` instead: no unwind ever crosses into C.
/// `return` inside the body returns from the exported function.
macro_rules! ffi_boundary {
    ($on_panic:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $on_panic,
        }
    };
}

/// Unwraps a pointer argument into a reference, or returns
/// `RING_RESULT_NULL_PARAMETER` from the enclosing body.
macro_rules! try_ref {
    ($ptr:expr) => {
        match $ptr {
            Some(r) => r,
            None => return $crate::result::ring_result::NullParameter,
        }
    };
}

/// Unwraps a `Result<T, ring_result>`, or returns the error code from the
/// enclosing body.
macro_rules! try_code {
    ($res:expr) => {
        match $res {
            Ok(v) => v,
            Err(code) => return code,
        }
    };
}

/// The largest buffer length accepted: slices may not exceed `isize::MAX`
/// bytes, so a larger `cap` (say `SIZE_MAX`) is refused before any slice is
/// built from it.
pub(crate) const MAX_BUFFER: usize = isize::MAX as usize;

/// A C timeout in milliseconds as the core takes it: negative waits for
/// ever, 0 only checks, positive waits that long.
pub(crate) fn timeout(ms: i64) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// Builds `&[u8]` from a C pointer and length. `None` when `ptr` is NULL
/// and `len` is not 0.
///
/// # Safety
///
/// When `ptr` is not NULL it must point to `len` readable bytes, `len` at
/// most `MAX_BUFFER`, that stay unchanged for `'a`.
pub(crate) unsafe fn input<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    debug_assert!(len <= MAX_BUFFER);
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL, and the caller promises `len` readable bytes.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Builds `&mut [u8]` from a C output buffer of `cap` bytes, checked:
/// `RING_RESULT_INVALID_ARGUMENT` when `cap` exceeds `MAX_BUFFER`, then
/// `RING_RESULT_NULL_PARAMETER` when `ptr` is NULL with `cap` > 0. NULL
/// with 0 is an empty buffer (the size queries).
///
/// # Safety
///
/// When `ptr` is not NULL it must point to `cap` writable bytes, not used by
/// anyone else for `'a`.
pub(crate) unsafe fn output<'a>(ptr: *mut c_void, cap: usize) -> Result<&'a mut [u8], ring_result> {
    if cap > MAX_BUFFER {
        return Err(ring_result::InvalidArgument);
    }
    if cap == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(ring_result::NullParameter);
    }
    // SAFETY: non-NULL, `cap <= MAX_BUFFER`, and the caller promises `cap`
    // writable bytes that nobody else uses during the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<u8>(), cap) })
}

/// A checked, non-NULL out-pointer. Written with `ptr::write`, never read:
/// the C caller may pass uninitialised memory.
pub(crate) struct Out<T>(std::ptr::NonNull<T>);

impl<T: Copy> Out<T> {
    /// `None` when `ptr` is NULL.
    ///
    /// # Safety
    ///
    /// `ptr`, when not NULL, must be valid for writes of `T` (aligned, not
    /// freed) for as long as the `Out` lives.
    pub(crate) unsafe fn new(ptr: *mut T) -> Option<Out<T>> {
        std::ptr::NonNull::new(ptr).map(Out)
    }

    /// Stores `value` for the caller.
    pub(crate) fn set(&mut self, value: T) {
        // SAFETY: `new`'s contract: valid for writes of `T`; `T: Copy`, so
        // nothing is dropped in place.
        unsafe { self.0.as_ptr().write(value) }
    }
}
