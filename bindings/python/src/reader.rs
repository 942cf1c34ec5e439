//! `ringlog.Reader` and `ringlog.Record`.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use ringbuf_core::{fork, Error, Reader, Record};

use crate::aio::{self, AsyncWait, Poll};
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
    pub(crate) fn new(py: Python<'_>, rec: Record) -> PyRecord {
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
/// blocking the event loop, and a cancelled wait never consumes a record.
/// Waits release the GIL and are interruptible by Ctrl-C. A Reader may be
/// shared between threads: calls are serialised. In the child of a fork,
/// every call raises Forked at once (also when another thread of the
/// parent was using the reader when it forked).
#[pyclass(module = "ringlog", name = "Reader", frozen)]
pub(crate) struct PyReader {
    pub(crate) inner: Mutex<Reader>,
    /// The fork generation the reader was made in: checked before any lock
    /// (a lock inherited from a thread that does not exist in the child
    /// would never be released).
    made_in: u64,
    /// The pending `async for` wait (`aio`).
    pub(crate) aio: Arc<AsyncWait>,
}

/// What one attempt to read produced.
enum Outcome {
    Record(Record),
    /// The timeout passed first.
    Timeout,
    /// The end of a closed ring.
    End,
    Failed(Error),
}

impl PyReader {
    pub(crate) fn new(reader: Reader) -> PyReader {
        PyReader { inner: Mutex::new(reader), made_in: fork::generation(), aio: Arc::default() }
    }

    /// Forked, in the child of a fork: before anything touches a lock.
    fn check_fork(&self, py: Python<'_>) -> PyResult<()> {
        if fork::generation() != self.made_in {
            return Err(errors::to_py(py, Error::Forked));
        }
        Ok(())
    }

    /// The next record, waiting up to `timeout` seconds (None: forever);
    /// `Err` for bad arguments, a fork, interrupts (KeyboardInterrupt) and
    /// panics.
    fn next_record(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Outcome> {
        self.check_fork(py)?;
        let deadline = wait::deadline(py, "next", timeout)?;
        // Fast path: a record is there and nobody else uses the reader.
        if let Some(mut reader) = self.inner.try_lock() {
            match errors::guard("read", || reader.try_next()) {
                Ok(Err(Error::Timeout)) => {}
                Ok(res) => return Ok(outcome(res)),
                Err(what) => return Err(errors::internal(py, what)),
            }
        }
        let got = wait::sliced(py, deadline, |slice| {
            // Another thread may hold the reader: wait for it within the
            // slice too, so that this wait stays interruptible.
            let Some(mut reader) = self.inner.try_lock_for(slice) else { return Slice::Again };
            match errors::guard("read", || reader.next_timeout(slice)) {
                Ok(Err(Error::Timeout)) => Slice::Again,
                Ok(res) => Slice::Done(Ok(res)),
                Err(what) => Slice::Done(Err(what)),
            }
        })?;
        match got {
            None => Ok(Outcome::Timeout),
            Some(Ok(res)) => Ok(outcome(res)),
            Some(Err(what)) => Err(errors::internal(py, what)),
        }
    }

    /// A read that never waits, for the event loop's thread (`aio`).
    pub(crate) fn poll(&self, py: Python<'_>) -> PyResult<Poll> {
        if let Err(e) = self.check_fork(py) {
            return Ok(Poll::Failed(e));
        }
        let Some(mut reader) = self.inner.try_lock() else { return Ok(Poll::NotYet) };
        Ok(match errors::guard("read", || reader.try_next()) {
            Ok(Ok(rec)) => Poll::Record(PyRecord::new(py, rec)),
            Ok(Err(Error::Timeout)) => Poll::NotYet,
            Ok(Err(Error::Closed)) => Poll::End,
            Ok(Err(e)) => Poll::Failed(errors::to_py(py, e)),
            Err(what) => Poll::Failed(errors::internal(py, what)),
        })
    }
}

fn outcome(res: Result<Record, Error>) -> Outcome {
    match res {
        Ok(rec) => Outcome::Record(rec),
        Err(Error::Timeout) => Outcome::Timeout,
        Err(Error::Closed) => Outcome::End,
        Err(e) => Outcome::Failed(e),
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
    fn next(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<PyRecord>> {
        let timeout = wait::timeout_arg("next", timeout)?;
        match self.next_record(py, timeout)? {
            Outcome::Record(rec) => Ok(Some(PyRecord::new(py, rec))),
            Outcome::Timeout => Ok(None),
            Outcome::End => Err(errors::closed(py)),
            Outcome::Failed(e) => Err(errors::to_py(py, e)),
        }
    }

    /// Records this reader has lost to overwriting since it was made.
    #[getter]
    fn lost_total(&self, py: Python<'_>) -> PyResult<u64> {
        self.check_fork(py)?;
        if let Some(r) = self.inner.try_lock() {
            return Ok(r.lost_total());
        }
        // Another thread reads: it holds the reader for at most a slice.
        let got = wait::sliced(py, None, |slice| match self.inner.try_lock_for(slice) {
            Some(r) => Slice::Done(r.lost_total()),
            None => Slice::Again,
        })?;
        Ok(got.unwrap_or_default())
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyRecord>> {
        match self.next_record(py, None)? {
            Outcome::Record(rec) => Ok(Some(PyRecord::new(py, rec))),
            Outcome::End | Outcome::Timeout => Ok(None), // StopIteration
            Outcome::Failed(e) => Err(errors::to_py(py, e)),
        }
    }

    /// `async for rec in reader`: the reader is its own async iterator, so
    /// a new `async for` goes on where a cancelled one stopped.
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// An `asyncio.Future` for the next record (StopAsyncIteration at the
    /// end of a closed ring); see the `aio` module.
    fn __anext__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.get().check_fork(slf.py())?;
        aio::anext(slf)
    }

    /// Internal: the event loop's side of an `async for` wait.
    fn _resume(slf: &Bound<'_, Self>, event_loop: &Bound<'_, PyAny>, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        aio::resume(slf, event_loop, fut)
    }

    fn __repr__(&self) -> String {
        "<ringlog.Reader>".to_owned()
    }
}
