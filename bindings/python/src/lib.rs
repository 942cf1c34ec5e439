//! `ringlog._ringlog`: the native part of the Python package `ringlog`.
//!
//! A thin translation of `ringbuf_core`: `Ring`, `Reader`, `Record` and the
//! exceptions. Every call that can wait runs with the GIL released
//! (`Python::detach`) in slices of at most 50 ms, checking for signals
//! between them, so Ctrl-C interrupts a blocked reader. Nothing here relies
//! on the GIL for its own safety (`gil_used = false`): the ring is
//! thread-safe, and each `Reader` sits behind a mutex.

use pyo3::prelude::*;

mod aio;
mod crash;
mod errors;
mod reader;
mod ring;
mod wait;

/// Test-only (feature `fault-injection`): the library panics once at
/// `point` (1 write, 2 read, 3 snapshot, 4 flush), or makes the next write
/// answer Busy (5); see ringbuf_core::fault.
#[cfg(feature = "fault-injection")]
#[pyfunction]
fn _test_panic_at(point: u32) -> bool {
    ringbuf_core::fault::panic_at_code(point)
}

#[pymodule(gil_used = false)]
fn _ringlog(m: &Bound<'_, PyModule>) -> PyResult<()> {
    #[cfg(feature = "fault-injection")]
    m.add_function(wrap_pyfunction!(_test_panic_at, m)?)?;
    m.add_function(wrap_pyfunction!(crash::install_crash_dump, m)?)?;
    m.add_class::<ring::PyRing>()?;
    m.add_class::<reader::PyReader>()?;
    m.add_class::<reader::PyRecord>()?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MIN_CAPACITY", ringbuf_core::MIN_CAPACITY)?;
    m.add("MAX_CAPACITY", ringbuf_core::MAX_CAPACITY)?;
    m.add("MAX_CRASH_DUMPS", crash::MAX_DUMPS)?;
    Ok(())
}
