//! `ringlog._ringlog`: the native part of the Python package `ringlog`.
//!
//! A thin translation of `ringbuf_core`: `Ring`, `Reader`, `Record` and the
//! exceptions. Every call that can wait runs with the GIL released
//! (`Python::detach`) in slices of at most 50 ms, checking for signals
//! between them, so Ctrl-C interrupts a blocked reader. Nothing here relies
//! on the GIL for its own safety (`gil_used = false`): the ring is
//! thread-safe, and each `Reader` sits behind a mutex.

use pyo3::prelude::*;

mod errors;
mod reader;
mod ring;
mod wait;

#[pymodule(gil_used = false)]
fn _ringlog(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ring::PyRing>()?;
    m.add_class::<reader::PyReader>()?;
    m.add_class::<reader::PyRecord>()?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MIN_CAPACITY", ringbuf_core::MIN_CAPACITY)?;
    m.add("MAX_CAPACITY", ringbuf_core::MAX_CAPACITY)?;
    Ok(())
}
