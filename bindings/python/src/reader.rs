//! `ringlog.Reader` and `ringlog.Record`.

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use ringbuf_core::{Error, Reader, Record};

use crate::errors;
use crate::wait::{self, Slice};

/// One record read from a ring.
///
/// `data` holds its bytes, `seq` its sequence number, and `lost` the number
/// of records this reader lost to overwriting just before it.
#[pyclass(module = "ringlog", name = "Record", frozen, get_all)]
pub(crate) struct PyRecord {
    /// The record's bytes.
    data: Py<PyBytes>,
    /// Its sequence number (0 for a ring's first record).
    seq: u64,
    /// Records this reader lost to overwriting just before this one.
    lost: u64,
}

impl PyRecord {
    fn new(py: Python<'_>, rec: Record) -> PyRecord {
        PyRecord { data: PyBytes::new(py, &rec.data).unbind(), seq: rec.seq, lost: rec.lost }
    }
}

#[pymethods]
impl PyRecord {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Record(seq={}, lost={}, data={})", self.seq, self.lost, self.data.bind(py).repr()?))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<PyRecord>() else { return Ok(false) };
        let other = other.get();
        Ok(self.seq == other.seq
            && self.lost == other.lost
            && self.data.bind(py).as_bytes() == other.data.bind(py).as_bytes())
    }

    #[classattr]
    const __hash__: Option<Py<PyAny>> = None;
}

/// An independent cursor over a ring; made by Ring.reader().
///
/// next(timeout=None) returns the next Record (None when the timeout
/// passed; raises Closed at the end of a closed ring). Iterating blocks
/// and stops at the end of a closed ring; `async for` iterates without
/// blocking the event loop. Waits release the GIL and are interruptible by
/// Ctrl-C. A Reader may be shared between threads: calls are serialised.
#[pyclass(module = "ringlog", name = "Reader", frozen)]
pub(crate) struct PyReader {
    inner: Mutex<Reader>,
}

impl PyReader {
    pub(crate) fn new(reader: Reader) -> PyReader {
        PyReader { inner: Mutex::new(reader) }
    }

    /// The next record, waiting up to `timeout` seconds (None: forever):
    /// `Ok(None)` on timeout, `Err(Error::Closed)` at the end; the outer
    /// `PyResult` carries bad arguments and interrupts (KeyboardInterrupt).
    fn next_record(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Result<Option<Record>, Error>> {
        let deadline = wait::deadline(py, timeout)?;
        // Fast path: a record is there and nobody else uses the reader.
        if let Some(mut reader) = self.inner.try_lock() {
            match errors::guard("read", || reader.try_next()) {
                Ok(Ok(rec)) => return Ok(Ok(Some(rec))),
                Ok(Err(Error::Timeout)) => {}
                Ok(Err(e)) => return Ok(Err(e)),
                Err(what) => return Err(errors::internal(py, what)),
            }
        }
        let got = wait::sliced(py, deadline, |slice| {
            // Another thread may hold the reader: wait for it within the
            // slice too, so that this wait stays interruptible.
            let Some(mut reader) = self.inner.try_lock_for(slice) else { return Slice::Again };
            match errors::guard("read", || reader.next_timeout(slice)) {
                Ok(Ok(rec)) => Slice::Done(Ok(Ok(rec))),
                Ok(Err(Error::Timeout)) => Slice::Again,
                Ok(Err(e)) => Slice::Done(Ok(Err(e))),
                Err(what) => Slice::Done(Err(what)),
            }
        })?;
        match got {
            None => Ok(Ok(None)),
            Some(Ok(r)) => Ok(r.map(Some)),
            Some(Err(what)) => Err(errors::internal(py, what)),
        }
    }
}

#[pymethods]
impl PyReader {
    /// next(timeout=None) -> Record | None
    ///
    /// The next record. Waits up to `timeout` seconds (None: as long as it
    /// takes; 0: only polls) and returns None when none came. Raises Closed
    /// at the end of a closed ring.
    #[pyo3(signature = (timeout = None))]
    fn next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<PyRecord>> {
        match self.next_record(py, timeout)? {
            Ok(rec) => Ok(rec.map(|rec| PyRecord::new(py, rec))),
            Err(e) => Err(errors::to_py(py, e)),
        }
    }

    /// Records this reader has lost to overwriting since it was made.
    #[getter]
    fn lost_total(&self, py: Python<'_>) -> u64 {
        match self.inner.try_lock() {
            Some(r) => r.lost_total(),
            None => py.detach(|| self.inner.lock().lost_total()),
        }
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyRecord>> {
        match self.next_record(py, None)? {
            Ok(rec) => Ok(rec.map(|rec| PyRecord::new(py, rec))),
            Err(Error::Closed) => Ok(None), // StopIteration
            Err(e) => Err(errors::to_py(py, e)),
        }
    }

    /// `async for rec in reader`: see ringlog.aio.
    fn __aiter__(slf: Py<Self>, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(py.import("ringlog.aio")?.getattr("AsyncRecords")?.call1((slf,))?.unbind())
    }

    fn __repr__(&self) -> String {
        "<ringlog.Reader>".to_owned()
    }
}
