//! `async for rec in reader`: asyncio waits that never consume a record
//! they do not deliver.
//!
//! `Reader.__anext__` returns an `asyncio.Future` of the running loop. Its
//! result is only ever taken on the loop's own thread, by [`resume`], and
//! only while the future is not done: a record is read (`try_next`) and set
//! as the result in one step there, so a future cancelled before that step
//! has consumed nothing, and one cancelled after it was already resolved.
//!
//! When no record is ready, the future is parked in the reader's
//! [`AsyncWait`] and one native thread per reader (not a Python executor
//! thread) sleeps in the core's `wait_ready`, woken by the writer's commit
//! like any blocked reader (a futex; no polling). `wait_ready` reads
//! nothing; when it returns, the thread asks the loop to run `resume`
//! (`call_soon_threadsafe`). The thread's wait is cut in slices of
//! `SLICE` only to notice a cancelled future (then it stops waiting and
//! releases the reader), and it ends `IDLE` after the last wait.
//!
//! Lock order: the GIL, then `AsyncWait::state`; the reader's mutex is
//! never taken while holding the state lock, and the thread takes the GIL
//! only when it holds no lock.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use ringbuf_core::Error;

use crate::errors;
use crate::reader::PyReader;

/// Longest single sleep of the waiting thread before it checks whether its
/// future was cancelled.
const SLICE: Duration = Duration::from_secs(1);

/// How long the waiting thread stays for the next wait before it ends.
const IDLE: Duration = Duration::from_secs(2);

/// A reader's pending asyncio wait, shared with its waiting thread.
#[derive(Default)]
pub(crate) struct AsyncWait {
    state: Mutex<State>,
    wanted: Condvar,
}

#[derive(Default)]
struct State {
    /// The future to resolve (and its loop), while one waits.
    target: Option<(Py<PyAny>, Py<PyAny>)>,
    /// The waiting thread exists.
    thread: bool,
}

impl AsyncWait {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding it cannot leave `State` inconsistent (two
        // plain fields): go on with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `Reader.__anext__`: a future of the running loop for the next record
/// (StopAsyncIteration at the end of a closed ring).
pub(crate) fn anext<'py>(reader: &Bound<'py, PyReader>) -> PyResult<Bound<'py, PyAny>> {
    let py = reader.py();
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let fut = event_loop.call_method0("create_future")?;
    resume(reader, &event_loop, &fut)?;
    Ok(fut)
}

/// On the loop's thread: resolves `fut` with the next record if one is
/// ready, or parks it until one is. Does nothing for a done future.
pub(crate) fn resume(
    reader: &Bound<'_, PyReader>,
    event_loop: &Bound<'_, PyAny>,
    fut: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let py = reader.py();
    if fut.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    match reader.get().poll(py)? {
        Poll::Record(rec) => {
            fut.call_method1("set_result", (rec,))?;
        }
        Poll::End => {
            fut.call_method1("set_exception", (pyo3::exceptions::PyStopAsyncIteration::new_err(()),))?;
        }
        Poll::Failed(e) => {
            fut.call_method1("set_exception", (e,))?;
        }
        Poll::NotYet => park(reader, event_loop, fut),
    }
    Ok(())
}

/// What a non-blocking read on the loop's thread found.
pub(crate) enum Poll {
    Record(crate::reader::PyRecord),
    End,
    Failed(PyErr),
    /// Nothing ready, or another thread is using the reader.
    NotYet,
}

/// Parks `fut` as the reader's pending wait; starts the waiting thread if
/// it is not running.
fn park(reader: &Bound<'_, PyReader>, event_loop: &Bound<'_, PyAny>, fut: &Bound<'_, PyAny>) {
    let wait = Arc::clone(&reader.get().aio);
    let mut st = wait.state();
    st.target = Some((event_loop.clone().unbind(), fut.clone().unbind()));
    if st.thread {
        wait.wanted.notify_one();
        return;
    }
    st.thread = true;
    drop(st);
    let owner = reader.clone().unbind();
    let spawned = std::thread::Builder::new().name("ringlog-aio".into()).spawn(move || {
        // A panic here would be a bug in ringlog: the future then stays
        // pending, which the waiter's own timeout bounds.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wait_thread(&owner)));
    });
    if let Err(e) = spawned {
        let mut st = reader.get().aio.state();
        st.thread = false;
        st.target = None;
        drop(st);
        let err = pyo3::exceptions::PyRuntimeError::new_err(format!("ringlog: cannot start the waiting thread: {e}"));
        let _ = fut.call_method1("set_exception", (err,));
    }
}

/// The waiting thread of one reader: sleeps until its next record is ready
/// (or the ring's end), then hands the pending future to the loop.
fn wait_thread(owner: &Py<PyReader>) {
    let reader = owner.get();
    let wait = &reader.aio;
    loop {
        // Wait (without the GIL) for a future to resolve.
        {
            let st = wait.state();
            let (st, _) =
                wait.wanted.wait_timeout_while(st, IDLE, |s| s.target.is_none()).unwrap_or_else(|p| p.into_inner());
            if st.target.is_none() {
                let mut st = st;
                st.thread = false;
                return;
            }
        }
        match reader.wait_ready(SLICE) {
            Err(Error::Timeout) => {
                // Still nothing: give up the wait if its future was cancelled.
                if !interpreter_alive() {
                    return;
                }
                Python::attach(|py| {
                    let mut st = wait.state();
                    let cancelled = st
                        .target
                        .as_ref()
                        .map(|(_, f)| f.bind(py).call_method0("done").and_then(|d| d.is_truthy()).unwrap_or(true))
                        .unwrap_or(false);
                    if cancelled {
                        st.target = None;
                    }
                });
            }
            // Ready, the end, or an error: `resume` on the loop finds out.
            _ => {
                if !interpreter_alive() {
                    return;
                }
                Python::attach(|py| {
                    let target = wait.state().target.take();
                    if let Some((lp, fut)) = target {
                        let lp = lp.bind(py);
                        // Fails only for a closed loop: nobody waits any more.
                        if let Ok(cb) = owner.bind(py).getattr("_resume") {
                            let _ = lp.call_method1("call_soon_threadsafe", (cb, lp, fut.bind(py)));
                        }
                    }
                });
            }
        }
    }
}

/// False once the interpreter is finalizing (attaching then would hang or
/// abort): the thread just ends.
fn interpreter_alive() -> bool {
    // SAFETY: Py_IsInitialized may be called at any time, from any thread.
    unsafe { pyo3::ffi::Py_IsInitialized() != 0 }
}

impl PyReader {
    /// `wait_ready` on the reader, without the GIL: holds the reader for at
    /// most `slice`.
    fn wait_ready(&self, slice: Duration) -> Result<(), Error> {
        let Some(mut r) = self.inner.try_lock_for(slice) else { return Err(Error::Timeout) };
        match errors::guard("read", || r.wait_ready(Some(slice))) {
            Ok(res) => res,
            Err(_) => Err(Error::Closed), // resume reports the panic's error on the loop
        }
    }
}
