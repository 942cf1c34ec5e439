//! Waiting with the GIL released, in slices, with signal checks between.

use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::errors;

/// Longest stretch spent without the GIL before checking for signals.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// A `timeout` argument of `func` (for messages: "next", "flush"): None,
/// or a number of seconds (int, float, anything with `__float__`).
pub(crate) fn timeout_arg(func: &str, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<f64>> {
    let Some(t) = timeout else { return Ok(None) };
    if t.is_none() {
        return Ok(None);
    }
    if t.is_instance_of::<pyo3::types::PyString>() || t.is_instance_of::<pyo3::types::PyBytes>() {
        return Err(type_error(func, t));
    }
    t.extract::<f64>().map(Some).map_err(|_| type_error(func, t))
}

fn type_error(func: &str, t: &Bound<'_, PyAny>) -> PyErr {
    pyo3::exceptions::PyTypeError::new_err(format!(
        "{func}(): timeout must be a number of seconds or None, not {}",
        t.get_type().name().map(|n| n.to_string()).unwrap_or_default()
    ))
}

/// The deadline of a wait of `timeout` seconds (`None`: forever), for
/// `func`'s messages; InvalidArgument for a negative or NaN timeout.
pub(crate) fn deadline(py: Python<'_>, func: &str, timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_nan() || t < 0.0 => {
            Err(errors::invalid(py, format!("{func}(): timeout must be >= 0 or None, got {t}")))
        }
        Some(t) => Ok(Instant::now().checked_add(Duration::try_from_secs_f64(t).unwrap_or(Duration::MAX))),
    }
}

/// What one slice of a wait produced.
pub(crate) enum Slice<T> {
    /// The wait is over with this value.
    Done(T),
    /// Nothing yet; wait another slice.
    Again,
}

/// Runs `attempt(slice_len)` with the GIL released until it returns
/// `Done`, `deadline` passes (`Ok(None)`), or a signal handler raises
/// (Ctrl-C: `KeyboardInterrupt`). Each attempt waits at most `SLICE`.
pub(crate) fn sliced<T: Send>(
    py: Python<'_>,
    deadline: Option<Instant>,
    mut attempt: impl FnMut(Duration) -> Slice<T> + Send,
) -> PyResult<Option<T>> {
    loop {
        let slice = match deadline {
            None => SLICE,
            Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
        };
        if let Slice::Done(v) = py.detach(|| attempt(slice)) {
            return Ok(Some(v));
        }
        py.check_signals()?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
    }
}
