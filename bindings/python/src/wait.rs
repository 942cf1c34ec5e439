//! Waiting with the GIL released, in slices, with signal checks between.

use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::errors;

/// Longest stretch spent without the GIL before checking for signals.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// A timeout argument: `None` waits forever; seconds otherwise.
pub(crate) fn deadline(py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_nan() || t < 0.0 => Err(errors::invalid(py, format!("timeout must be >= 0 or None, got {t}"))),
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
