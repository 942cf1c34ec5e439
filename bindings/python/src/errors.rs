//! The exception classes, and the mapping from `ringbuf_core::Error`.
//! A system call's failure (`Error::Io`) is Python's own `OSError` with the
//! errno (and the file's name, when opening a ring file), so that
//! `FileNotFoundError`, `PermissionError`, ... come out as usual.
//!
//! Some classes have two bases (`TooLarge` is a `RingError` and a
//! `ValueError`), which PyO3's `create_exception!` cannot express, so they
//! are made at import time with `type(name, bases, namespace)`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use ringbuf_core::Error;

static RING_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CLOSED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TOO_LARGE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INVALID_ARGUMENT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static NO_MEMORY: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static FORKED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INTERNAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static BUSY: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static BAD_FILE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn make<'py>(py: Python<'py>, name: &str, bases: &[Bound<'py, PyAny>], doc: &str) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "ringlog")?;
    namespace.set_item("__doc__", doc)?;
    let class = py.get_type::<PyType>().call1((name, PyTuple::new(py, bases)?, namespace))?;
    Ok(class.cast_into::<PyType>()?.unbind())
}

/// Creates the classes and adds them to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let builtin = |name: &str| -> PyResult<Bound<'_, PyAny>> { py.import("builtins")?.getattr(name) };
    let base = make(py, "RingError", &[builtin("Exception")?], "Base class of every error ringlog raises.")?;
    let b = || base.bind(py).clone().into_any();
    let classes = [
        ("RingError", &RING_ERROR, base.clone_ref(py)),
        (
            "Closed",
            &CLOSED,
            make(py, "Closed", &[b()], "The ring is closed: a write after close(), or a reader at its end.")?,
        ),
        (
            "TooLarge",
            &TOO_LARGE,
            make(
                py,
                "TooLarge",
                &[b(), builtin("ValueError")?],
                "The record is larger than the ring's max_record; nothing was written.",
            )?,
        ),
        (
            "InvalidArgument",
            &INVALID_ARGUMENT,
            make(py, "InvalidArgument", &[b(), builtin("ValueError")?], "An argument is out of range.")?,
        ),
        (
            "NoMemory",
            &NO_MEMORY,
            make(py, "NoMemory", &[b(), builtin("MemoryError")?], "The ring's memory could not be allocated.")?,
        ),
        (
            "Forked",
            &FORKED,
            make(
                py,
                "Forked",
                &[b()],
                "The ring or reader was made before this process forked: the child must make its own.",
            )?,
        ),
        (
            "Busy",
            &BUSY,
            make(
                py,
                "Busy",
                &[b()],
                "The room a write must claim is held by records still being written (a ring too small for its \
                 writers); nothing was written, the drop is counted in stats()['dropped'].",
            )?,
        ),
        (
            "BadFile",
            &BAD_FILE,
            make(
                py,
                "BadFile",
                &[b(), builtin("ValueError")?],
                "The file is not a usable ring file: not a ring, another format version, truncated or \
                 corrupt. The file was left untouched.",
            )?,
        ),
        (
            "InternalError",
            &INTERNAL,
            make(
                py,
                "InternalError",
                &[b()],
                "A bug inside ringlog was caught; the ring is still correct, or refuses further use.",
            )?,
        ),
    ];
    for (name, cell, class) in classes {
        m.add(name, class.bind(py))?;
        let _ = cell.set(py, class);
    }
    Ok(())
}

fn new_err(py: Python<'_>, cell: &PyOnceLock<Py<PyType>>, msg: String) -> PyErr {
    match cell.get(py) {
        Some(class) => PyErr::from_type(class.bind(py).clone(), msg),
        None => pyo3::exceptions::PyRuntimeError::new_err(msg),
    }
}

/// `ringlog.Closed` with `msg`.
pub(crate) fn closed(py: Python<'_>) -> PyErr {
    new_err(py, &CLOSED, "ring is closed".to_owned())
}

/// `ringlog.InvalidArgument` with `msg`.
pub(crate) fn invalid(py: Python<'_>, msg: String) -> PyErr {
    new_err(py, &INVALID_ARGUMENT, msg)
}

/// The Python exception for a core error.
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    match e {
        Error::Closed => closed(py),
        Error::TooLarge { .. } => new_err(py, &TOO_LARGE, e.to_string()),
        Error::InvalidArgument(_) => new_err(py, &INVALID_ARGUMENT, e.to_string()),
        Error::NoMemory => new_err(py, &NO_MEMORY, e.to_string()),
        Error::Forked => new_err(py, &FORKED, e.to_string()),
        Error::Busy => new_err(py, &BUSY, e.to_string()),
        Error::BadFile(_) => new_err(py, &BAD_FILE, e.to_string()),
        Error::Io(errno) => os_error(errno, None),
        other => new_err(py, &RING_ERROR, other.to_string()),
    }
}

/// The Python exception for a core error met opening the file `filename`
/// (the path as the caller gave it, after `os.fspath`): as [`to_py`], with
/// the file named in BadFile's message and in OSError's `filename`.
pub(crate) fn to_py_file(py: Python<'_>, e: Error, filename: &Bound<'_, PyAny>) -> PyErr {
    match e {
        Error::Io(errno) => os_error(errno, Some(filename)),
        Error::BadFile(_) => new_err(py, &BAD_FILE, format!("{e}: {}", shown(filename))),
        // The core's Busy message is about writes; opening, it means this.
        Error::Busy => new_err(py, &BUSY, format!("255 handles have the ring file open already: {}", shown(filename))),
        other => to_py(py, other),
    }
}

fn shown(filename: &Bound<'_, PyAny>) -> String {
    filename.repr().map(|r| r.to_string()).unwrap_or_default()
}

/// `OSError(errno, strerror[, filename])`: Python picks the subclass
/// (FileNotFoundError, PermissionError, ...) from the errno.
pub(crate) fn os_error(errno: i32, filename: Option<&Bound<'_, PyAny>>) -> PyErr {
    let strerror = std::io::Error::from_raw_os_error(errno).to_string();
    // "No such file or directory (os error 2)" -> "No such file or directory"
    let strerror = match strerror.rfind(" (os error ") {
        Some(i) => strerror[..i].to_owned(),
        None => strerror,
    };
    match filename {
        Some(f) => pyo3::exceptions::PyOSError::new_err((errno, strerror, f.clone().unbind())),
        None => pyo3::exceptions::PyOSError::new_err((errno, strerror)),
    }
}

/// `ringlog.InternalError` for a panic caught inside the binding.
pub(crate) fn internal(py: Python<'_>, what: &str) -> PyErr {
    new_err(py, &INTERNAL, format!("internal error in ringlog ({what}); see stderr"))
}

/// Runs `f`, turning a panic inside ringlog into `Err(what)` so that the
/// caller raises `ringlog.InternalError` (an `Exception`) instead of PyO3's
/// `PanicException` (a `BaseException` that `except Exception` misses).
pub(crate) fn guard<T>(what: &'static str, f: impl FnOnce() -> T) -> Result<T, &'static str> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| what)
}
