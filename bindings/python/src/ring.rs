//! `ringlog.Ring`.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString, PyType};
use ringbuf_core::{Ring, Start, MAX_CAPACITY, MIN_CAPACITY};

use crate::errors;
use crate::reader::PyReader;
use crate::wait::{self, Slice};

/// Writes at least this long copy with the GIL released.
const DETACH_AT: usize = 64 * 1024;

/// A fixed ring of log records, in memory or in a file.
///
/// Ring(capacity) makes a ring of `capacity` bytes in memory (1 KiB to
/// 1 TiB, rounded up to a power of two; each record also costs 16 to 23
/// bytes of framing). Ring.open(path, capacity) opens (or creates) a ring
/// that lives in a file, shared by every process that opens it and kept
/// after any of them crashes: the flight recorder.
/// Any number of threads may write; any number of readers (`reader()`) read,
/// each at its own pace. A write never waits for a reader (a reader that
/// falls behind is lapped and told how many records it lost, `Record.lost`)
/// nor for another writer.
///
/// A Ring is also a context manager that closes it on exit.
#[pyclass(module = "ringlog", name = "Ring", frozen)]
pub(crate) struct PyRing {
    pub(crate) ring: Ring,
}

impl PyRing {
    /// dump() to a descriptor. A regular file gets `Ring::dump_fd` (no
    /// copy, GIL released): its writes never wait for anyone. Anything
    /// else (a pipe, a socket, a terminal) may block as long as its reader
    /// wants, and `dump_fd` retries through EINTR, so Ctrl-C could not
    /// stop it: those get the snapshot through `os.write`, which runs the
    /// signal handlers when a signal interrupts it (PEP 475).
    fn dump_to_fd(&self, py: Python<'_>, fd: i32) -> PyResult<()> {
        let os = py.import("os")?;
        let mode: u32 = os.call_method1("fstat", (fd,))?.getattr("st_mode")?.extract()?; // OSError (EBADF)
        const S_IFMT: u32 = 0o170000;
        const S_IFREG: u32 = 0o100000;
        if mode & S_IFMT == S_IFREG {
            return match py.detach(|| errors::guard("dump", || self.ring.dump_fd(fd))) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(errors::to_py(py, e)),
                Err(what) => Err(errors::internal(py, what)),
            };
        }
        let snap = self.snapshot(py)?;
        let bytes = snap.as_bytes();
        let mut off = 0;
        while off < bytes.len() {
            py.check_signals()?; // a signal that came during a short write
            let end = bytes.len().min(off + (1 << 16));
            let n: usize = os.call_method1("write", (fd, PyBytes::new(py, &bytes[off..end])))?.extract()?;
            off += n;
        }
        Ok(())
    }

    fn write_bytes(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<u64> {
        let write = || errors::guard("write", || self.ring.write(bytes));
        let result =
            if bytes.len() >= DETACH_AT && bytes.len() <= self.ring.max_record() { py.detach(write) } else { write() };
        match result {
            Ok(r) => r.map_err(|e| errors::to_py(py, e)),
            Err(what) => Err(errors::internal(py, what)),
        }
    }
}

/// An int capacity argument (TypeError for bool and other types).
fn capacity_arg(capacity: &Bound<'_, PyAny>) -> PyResult<i128> {
    if capacity.is_instance_of::<pyo3::types::PyBool>() {
        return Err(pyo3::exceptions::PyTypeError::new_err("capacity must be an int, not bool"));
    }
    capacity.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "capacity must be an int, not {}",
            capacity.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })
}

/// Where `reader(start, seq=...)` starts; errors name the argument.
fn reader_start(py: Python<'_>, start: Option<&Bound<'_, PyAny>>, seq: Option<&Bound<'_, PyAny>>) -> PyResult<Start> {
    let type_name = |v: &Bound<'_, PyAny>| v.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    let start = match start {
        None => None,
        Some(s) => match s.cast::<PyString>() {
            Ok(s) => Some(s.to_str()?.to_owned()),
            Err(_) => {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "reader(): start must be \"oldest\" or \"newest\", not {} ({})",
                    type_name(s),
                    s.repr().map(|r| r.to_string()).unwrap_or_default()
                )))
            }
        },
    };
    let seq = match seq {
        None => None,
        Some(n) if n.is_none() => None,
        Some(n) => {
            if n.is_instance_of::<pyo3::types::PyBool>() || !n.is_instance_of::<PyInt>() {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "reader(): seq must be an int (a record's seq) or None, not {}",
                    type_name(n)
                )));
            }
            match n.extract::<u64>() {
                Ok(v) => Some(v),
                // OverflowError, as for any int out of a C type's range.
                Err(_) if n.lt(0)? => {
                    return Err(PyOverflowError::new_err(format!("reader(): seq must be >= 0, got {n}")))
                }
                Err(_) => return Err(PyOverflowError::new_err(format!("reader(): seq must be < 2**64, got {n}"))),
            }
        }
    };
    match (start.as_deref(), seq) {
        (None | Some("oldest"), None) => Ok(Start::Oldest),
        (Some("newest"), None) => Ok(Start::Newest),
        // start="oldest" (the default, also when given) and "seq" go with seq.
        (None | Some("oldest" | "seq"), Some(n)) => Ok(Start::Seq(n)),
        (Some("newest"), Some(_)) => {
            Err(errors::invalid(py, "reader(): seq cannot be combined with start=\"newest\"".to_owned()))
        }
        (Some(other), _) => Err(errors::invalid(
            py,
            format!("reader(): start must be \"oldest\" or \"newest\" (or give seq=n alone), not {other:?}"),
        )),
    }
}

/// `file.fileno()` when `file` has one that works; None for objects
/// without one, or whose fileno() raises io.UnsupportedOperation
/// (io.BytesIO).
fn fileno_of(py: Python<'_>, file: &Bound<'_, PyAny>) -> PyResult<Option<i32>> {
    let Ok(fileno) = file.getattr("fileno") else { return Ok(None) };
    match fileno.call0() {
        Ok(fd) => Ok(Some(fd.extract()?)),
        Err(e) if e.is_instance(py, &py.import("io")?.getattr("UnsupportedOperation")?) => Ok(None),
        Err(e) => Err(e),
    }
}

#[pymethods]
impl PyRing {
    #[new]
    fn new(py: Python<'_>, capacity: &Bound<'_, PyAny>) -> PyResult<Self> {
        let requested = capacity_arg(capacity)?;
        if requested < MIN_CAPACITY as i128 || requested > MAX_CAPACITY as i128 {
            return Err(errors::invalid(
                py,
                format!("capacity must be between {MIN_CAPACITY} and {MAX_CAPACITY} bytes, got {requested}"),
            ));
        }
        let ring = py.detach(|| Ring::new(requested as usize)).map_err(|e| errors::to_py(py, e))?;
        Ok(PyRing { ring })
    }

    /// Ring.open(path, capacity=None, *, reopen=True) -> Ring
    ///
    /// Opens the ring that lives in the file at `path` (str, bytes or
    /// os.PathLike): the flight recorder. With a `capacity`, a missing file
    /// is created (mode 0600, the capacity rounded up to a power of two as
    /// for Ring(capacity)); an existing ring is opened as it is, and must
    /// have that capacity. With capacity=None (or 0) the file must exist
    /// already, with any capacity.
    ///
    /// Every process that opens the same file shares the ring, with the
    /// same semantics as a ring in memory: one order of seqs, readers woken
    /// by writes in any process, flush waiting for readers in every
    /// process, close() seen by all. The ring outlives its handles and its
    /// processes: whatever was written is in the file, whole, even when the
    /// writer is killed; reopening it (also after close()) goes on with the
    /// next seq. close() (and leaving a `with` block) closes it for every
    /// process; dropping the Ring does not. With reopen=False (for tools
    /// that only read: dump, tail) a closed ring stays closed, so that its
    /// readers reach the end, and a missing file is never created.
    ///
    /// Raises BadFile (also a ValueError) when the file is not a ring file,
    /// of another format version, truncated or corrupt (the file is left
    /// untouched); OSError with the errno and the file name when a system
    /// call fails (FileNotFoundError for a missing file with capacity=None
    /// or a missing directory, PermissionError, ...); InvalidArgument (also
    /// a ValueError) for a capacity out of range or different from the
    /// existing ring's; Busy when 255 handles have the file open.
    /// Runs with the GIL released.
    #[classmethod]
    #[pyo3(signature = (path, capacity = None, *, reopen = true))]
    fn open(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        capacity: Option<&Bound<'_, PyAny>>,
        reopen: bool,
    ) -> PyResult<Self> {
        let os = py.import("os")?;
        let filename = os.call_method1("fspath", (path,))?; // TypeError for other types
        let raw = os.call_method1("fsencode", (&filename,))?;
        let raw = raw.cast::<PyBytes>()?.as_bytes();
        let path_buf = std::path::PathBuf::from(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(raw));
        let capacity = match capacity {
            None => 0,
            Some(c) => match capacity_arg(c)? {
                0 => 0,
                n if n < MIN_CAPACITY as i128 || n > MAX_CAPACITY as i128 => {
                    return Err(errors::invalid(
                        py,
                        format!("capacity must be None, 0 or between {MIN_CAPACITY} and {MAX_CAPACITY} bytes, got {n}"),
                    ))
                }
                n => n as usize,
            },
        };
        let open = || {
            if reopen {
                return Ring::open_file(&path_buf, capacity);
            }
            let ring = Ring::open_existing(&path_buf)?;
            if capacity != 0 && capacity.next_power_of_two() != ring.capacity() {
                return Err(ringbuf_core::Error::InvalidArgument("the ring file exists with another capacity"));
            }
            Ok(ring)
        };
        match py.detach(|| errors::guard("open", open)) {
            Ok(Ok(ring)) => Ok(PyRing { ring }),
            Ok(Err(e)) => Err(errors::to_py_file(py, e, &filename)),
            Err(what) => Err(errors::internal(py, what)),
        }
    }

    /// True for a ring that lives in a file (made by Ring.open).
    #[getter]
    fn is_file(&self) -> bool {
        self.ring.is_file()
    }

    /// The ring's size in bytes, framing included.
    #[getter]
    fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The largest record the ring takes, in bytes (a quarter of capacity).
    #[getter]
    fn max_record(&self) -> usize {
        self.ring.max_record()
    }

    /// True once the ring is closed.
    #[getter]
    fn closed(&self) -> bool {
        self.ring.is_closed()
    }

    /// Records written since the ring was made (the next record's seq).
    #[getter]
    fn written(&self) -> u64 {
        self.ring.stats().written
    }

    /// Readers alive now.
    #[getter]
    fn readers(&self) -> u64 {
        self.ring.stats().readers
    }

    /// stats() -> dict
    ///
    /// The ring's counters: written (the next seq), oldest_seq, bytes_used
    /// (framing included), dropped (writes refused with Busy), readers
    /// (in every process, for a ring in a file), capacity, max_record,
    /// closed, wakeups (writes or closes that woke sleeping readers or
    /// flushes), reaped (a ring in a file: records whose writer's process
    /// died in the middle of them, turned into lost records) and
    /// recoveries (a ring in a file: times an opener found no other process
    /// with the file open and repaired what dead processes left).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let s = self.ring.stats();
        let d = pyo3::types::PyDict::new(py);
        d.set_item("written", s.written)?;
        d.set_item("oldest_seq", s.oldest_seq)?;
        d.set_item("bytes_used", s.bytes_used)?;
        d.set_item("dropped", s.dropped)?;
        d.set_item("readers", s.readers)?;
        d.set_item("capacity", s.capacity)?;
        d.set_item("max_record", s.max_record)?;
        d.set_item("closed", s.closed)?;
        d.set_item("wakeups", s.wakeups)?;
        d.set_item("reaped", s.reaped)?;
        d.set_item("recoveries", s.recoveries)?;
        Ok(d)
    }

    /// write(data) -> int
    ///
    /// Appends one record and returns its seq. `data` is bytes, str
    /// (written as UTF-8) or any object with the buffer protocol (bytearray,
    /// memoryview, array.array, ...: its bytes as bytes(data) gives them). The record is visible to
    /// every reader when this returns. Never waits for a reader or for
    /// another writer.
    ///
    /// Raises TooLarge (also a ValueError) when `data` is longer than
    /// max_record (nothing is written), Closed after close(), Busy when the
    /// ring is too small for its writers (others lapped it during one copy
    /// and their records still hold the room; nothing is written, counted in
    /// stats()['dropped']), TypeError
    /// for other types, UnicodeEncodeError for a str that is not valid
    /// Unicode (lone surrogates).
    #[pyo3(signature = (data, /))]
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<u64> {
        if let Ok(b) = data.cast::<PyBytes>() {
            return self.write_bytes(py, b.as_bytes());
        }
        if let Ok(s) = data.cast::<PyString>() {
            return self.write_bytes(py, s.to_str()?.as_bytes());
        }
        match PyBuffer::<u8>::get(data) {
            Ok(buf) => {
                // A bytearray may change under us: copy it while holding the
                // buffer (and, for small ones, the GIL) before writing.
                let bytes = buf.to_vec(py)?;
                self.write_bytes(py, &bytes)
            }
            // Any other buffer (array('i'), a memoryview of array('d'), a
            // non-contiguous view): its bytes as bytes(x) gives them.
            Err(_) => match py.import("builtins")?.getattr("memoryview")?.call1((data,)) {
                Ok(view) => {
                    let bytes = view.call_method0("tobytes")?;
                    view.call_method0("release")?;
                    self.write_bytes(py, bytes.cast::<PyBytes>()?.as_bytes())
                }
                Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "write() takes bytes, str or any object supporting the buffer protocol, not {}",
                    data.get_type().name().map(|n| n.to_string()).unwrap_or_default()
                ))),
            },
        }
    }

    /// reader(start="oldest", *, seq=None) -> Reader
    ///
    /// A new reader. start="oldest" replays what the ring holds, then
    /// follows; start="newest" sees only records written from now on;
    /// seq=n starts at record n (if it was evicted: at the oldest retained
    /// record, the gap reported as lost; if it is not written yet: waits
    /// for it). Readers may be made at any time, also after close().
    #[pyo3(signature = (start = None, *, seq = None), text_signature = "($self, start='oldest', *, seq=None)")]
    fn reader(
        &self,
        py: Python<'_>,
        start: Option<&Bound<'_, PyAny>>,
        seq: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyReader> {
        let start = reader_start(py, start, seq)?;
        match self.ring.reader(start) {
            Ok(reader) => Ok(PyReader::new(reader)),
            Err(e) => Err(errors::to_py(py, e)),
        }
    }

    /// flush(timeout=None) -> bool
    ///
    /// Waits until every reader that exists now has read past every record
    /// written before this call (or was lapped past it, or is gone). True
    /// when flushed, False when `timeout` seconds passed first (None: wait
    /// as long as it takes; 0: only check). Never blocks writers.
    /// Interruptible by Ctrl-C.
    #[pyo3(signature = (timeout = None))]
    fn flush(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        let deadline = wait::deadline(py, "flush", wait::timeout_arg("flush", timeout)?)?;
        let flush = self.ring.start_flush().map_err(|e| errors::to_py(py, e))?;
        let done = wait::sliced(py, deadline, |slice| match errors::guard("flush", || flush.wait_timeout(slice)) {
            Ok(Ok(())) => Slice::Done(Ok(Ok(()))),
            Ok(Err(ringbuf_core::Error::Timeout)) => Slice::Again,
            Ok(Err(e)) => Slice::Done(Ok(Err(e))),
            Err(what) => Slice::Done(Err(what)),
        })?;
        match done {
            None => Ok(false),
            Some(Ok(Ok(()))) => Ok(true),
            Some(Ok(Err(e))) => Err(errors::to_py(py, e)),
            Some(Err(what)) => Err(errors::internal(py, what)),
        }
    }

    /// close()
    ///
    /// Closes the ring: writes raise Closed from now on; readers read what
    /// the ring holds, then reach the end. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.ring.close().map_err(|e| errors::to_py(py, e))
    }

    /// snapshot() -> bytes
    ///
    /// Every retained record's bytes, oldest first, back to back: the "dump
    /// the last N bytes" call. Copies with the GIL released.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        match py.detach(|| errors::guard("snapshot", || self.ring.snapshot())) {
            Ok(Ok(snap)) => Ok(PyBytes::new(py, &snap)),
            Ok(Err(e)) => Err(errors::to_py(py, e)),
            Err(what) => Err(errors::internal(py, what)),
        }
    }

    /// dump(file, /)
    ///
    /// Writes the snapshot (every retained record's bytes, oldest first,
    /// back to back, as snapshot() returns them) to `file`: a file
    /// descriptor (int), or a binary file object. An object with a working
    /// fileno() is flushed first (if it has flush()), then the bytes go
    /// to its descriptor: to a regular file straight from the ring, with
    /// the GIL released; to a pipe, socket or terminal through os.write,
    /// so that Ctrl-C interrupts a dump its reader does not drain. An
    /// object without a descriptor (io.BytesIO...) gets
    /// file.write(snapshot()).
    ///
    /// Raises OSError with the errno when writing fails (for example
    /// EBADF for a closed descriptor), and whatever the file object's own
    /// methods raise.
    #[pyo3(signature = (file, /))]
    fn dump(&self, py: Python<'_>, file: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(fd) = file.cast::<PyInt>() {
            if file.is_instance_of::<pyo3::types::PyBool>() {
                return Err(pyo3::exceptions::PyTypeError::new_err("dump() takes a file descriptor (int), not bool"));
            }
            let fd: i32 =
                fd.extract().map_err(|_| pyo3::exceptions::PyValueError::new_err("file descriptor out of range"))?;
            return self.dump_to_fd(py, fd);
        }
        if let Some(fd) = fileno_of(py, file)? {
            if file.hasattr("flush")? {
                file.call_method0("flush")?;
            }
            return self.dump_to_fd(py, fd);
        }
        let snap = self.snapshot(py)?;
        let len = snap.as_bytes().len();
        let mut written = 0;
        // Objects that may write less than asked (raw, non-blocking) say so
        // by returning a count: write the rest.
        while written < len {
            let rest = if written == 0 {
                snap.clone().into_any()
            } else {
                PyBytes::new(py, &snap.as_bytes()[written..]).into_any()
            };
            let n = file.call_method1("write", (rest,))?;
            match n.extract::<usize>() {
                Ok(n) if n > 0 => written += n,
                _ => break, // None (or 0): the object took it all, or cannot say
            }
        }
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (exc_type, exc, tb, /))]
    fn __exit__(&self, exc_type: &Bound<'_, PyAny>, exc: &Bound<'_, PyAny>, tb: &Bound<'_, PyAny>) -> bool {
        let _ = (exc_type, exc, tb);
        let _ = self.ring.close(); // Forked in the child of a fork: nothing to close
        false
    }

    fn __repr__(&self) -> String {
        format!(
            "<ringlog.Ring {}capacity={} max_record={} written={}{}>",
            if self.ring.is_file() { "in a file " } else { "" },
            self.ring.capacity(),
            self.ring.max_record(),
            self.ring.stats().written,
            if self.ring.is_closed() { " closed" } else { "" }
        )
    }
}
