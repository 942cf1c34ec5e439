//! `ringlog.install_crash_dump(ring, file)`: the ring's records written to
//! a file when the process dies of a fatal signal.
//!
//! A native `sigaction` handler (SA_SIGINFO | SA_ONSTACK) for SIGSEGV,
//! SIGBUS, SIGILL, SIGFPE and SIGABRT, installed once per process. On the
//! first fatal signal it writes every installed ring to its file with
//! `Ring::dump_fd` (async-signal-safe: no lock, no allocation, only
//! write(2)), then hands the signal to whatever handler was installed
//! before (Python's faulthandler, say), or, when that was the default
//! action, restores it and re-raises the signal, so that the process dies
//! of it as it would have without us (exit status, core file).
//!
//! What the handler reads was made before it could run and is never freed:
//! each installed dump is a leaked `Box<Dump>` (a clone of the Rust ring,
//! which keeps it alive, and a descriptor opened at install time) in a
//! fixed table of atomic pointers; the previous dispositions are written
//! once, before the handler is installed.
//!
//! Limits: dumps cannot be removed, and their rings stay alive (and so
//! open) for the rest of the process. The alternate stack is given to the
//! installing thread only. In the child of a fork the dump of a ring made
//! before the fork writes nothing (`Forked`). When a ring file was mapped
//! before this was installed, our handler sits above the core's SIGBUS
//! guard (a ring file shrunk under its mapping): such a SIGBUS writes the
//! dump once, then the guard handles it and the process goes on.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Once;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};
use ringbuf_core::Ring;

use crate::errors;
use crate::ring::PyRing;

/// The signals a crash dump is written for.
const SIGNALS: [libc::c_int; 5] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGABRT];

/// Dumps installed at once, at most.
pub(crate) const MAX_DUMPS: usize = 16;

/// Bytes of the alternate signal stack given to the installing thread when
/// it has none (a stack overflow cannot run a handler on the stack itself).
const ALT_STACK: usize = 64 * 1024;

/// One installed dump: the ring (kept alive by this clone) and where to.
struct Dump {
    ring: Ring,
    fd: libc::c_int,
}

static DUMPS: [AtomicPtr<Dump>; MAX_DUMPS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_DUMPS];

/// Set by the first fatal signal: later ones (the re-raise, a crash inside
/// the dump) only chain.
static DUMPED: AtomicBool = AtomicBool::new(false);

/// The dispositions found when our handler was installed, one per signal
/// of `SIGNALS`.
struct Previous(UnsafeCell<[std::mem::MaybeUninit<libc::sigaction>; SIGNALS.len()]>);

// SAFETY: written only inside `INSTALL.call_once`, before the handler that
// reads it is installed; read-only afterwards.
unsafe impl Sync for Previous {}

static PREVIOUS: Previous = Previous(UnsafeCell::new([const { std::mem::MaybeUninit::uninit() }; SIGNALS.len()]));
static INSTALL: Once = Once::new();

/// Installs the handler for every signal of `SIGNALS` (once per process).
fn install_handler() -> std::io::Result<()> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        let prev = PREVIOUS.0.get().cast::<libc::sigaction>();
        // SAFETY: `PREVIOUS` is written here, once, each entry before the
        // handler that reads it is installed for that signal; sigaction
        // and sigemptyset get valid pointers to local or static storage.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_fatal as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut act.sa_mask);
            for (i, &sig) in SIGNALS.iter().enumerate() {
                if libc::sigaction(sig, std::ptr::null(), prev.add(i)) != 0
                    || libc::sigaction(sig, &act, std::ptr::null_mut()) != 0
                {
                    result = Err(std::io::Error::last_os_error());
                    return;
                }
            }
        }
    });
    result
}

/// Gives the calling thread an alternate signal stack if it has none, so
/// that a stack overflow on this thread still gets its dump. Never freed
/// (the kernel may switch to it at any time).
fn ensure_alt_stack() {
    // SAFETY: sigaltstack reads and writes the given structs only; the
    // stack memory is leaked, so it stays valid for as long as the kernel
    // may use it.
    unsafe {
        let mut old: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(std::ptr::null(), &mut old) != 0 || old.ss_flags & libc::SS_DISABLE == 0 {
            return; // one is there already (faulthandler's, Rust's): keep it
        }
        let mem = Box::leak(vec![0u8; ALT_STACK].into_boxed_slice());
        let new = libc::stack_t { ss_sp: mem.as_mut_ptr().cast(), ss_flags: 0, ss_size: ALT_STACK };
        libc::sigaltstack(&new, std::ptr::null_mut());
    }
}

extern "C" fn on_fatal(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: errno is thread-local; saved and restored around our calls.
    let errno = unsafe { *libc::__errno_location() };
    if !DUMPED.swap(true, Ordering::AcqRel) {
        for slot in &DUMPS {
            let p = slot.load(Ordering::Acquire);
            if p.is_null() {
                continue;
            }
            // SAFETY: a non-null slot points to a leaked `Box<Dump>`, never
            // freed. dump_fd is async-signal-safe (no lock, no allocation).
            let dump = unsafe { &*p };
            let _ = dump.ring.dump_fd(dump.fd);
        }
    }
    // SAFETY: see above.
    unsafe { *libc::__errno_location() = errno };
    chain(sig, info, ctx);
}

/// Passes the signal on to the disposition that was there before ours.
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(i) = SIGNALS.iter().position(|&s| s == sig) else { return };
    // SAFETY: entry `i` of `PREVIOUS` was written before this handler was
    // installed for `sig`, and is never written again. The previous
    // handler is called as the kind its flags say it is; sigaction and
    // raise are async-signal-safe.
    unsafe {
        let prev = &*PREVIOUS.0.get().cast::<libc::sigaction>().add(i);
        let h = prev.sa_sigaction;
        if h == libc::SIG_DFL || h == libc::SIG_IGN {
            // What would have happened without us: put the old disposition
            // back and raise the signal again. It is blocked while this
            // handler runs, so it is delivered when we return, and the
            // process dies of it (a fault, if it came from one, would also
            // simply happen again).
            libc::sigaction(sig, prev, std::ptr::null_mut());
            libc::raise(sig);
        } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = std::mem::transmute(h);
            f(sig, info, ctx);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(h);
            f(sig);
        }
    }
}

/// The descriptor the dump goes to, opened (or duplicated) now.
fn target_fd(py: Python<'_>, file: &Bound<'_, PyAny>) -> PyResult<libc::c_int> {
    let dup = |fd: i64| -> PyResult<libc::c_int> {
        let fd = libc::c_int::try_from(fd).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err("install_crash_dump(): file descriptor out of range")
        })?;
        // SAFETY: fcntl(F_DUPFD_CLOEXEC) on any int is safe: it fails with
        // EBADF for a descriptor that is not open.
        let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if new < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(new)
    };
    if file.is_instance_of::<PyBool>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "install_crash_dump(): file must be a path, a file descriptor or a file object, not bool",
        ));
    }
    if let Ok(fd) = file.cast::<PyInt>() {
        return dup(fd.extract()?);
    }
    let os = py.import("os")?;
    if !file.hasattr("__fspath__")? && !file.is_instance_of::<pyo3::types::PyString>() {
        if let Ok(fileno) = file.getattr("fileno") {
            if file.hasattr("flush")? {
                file.call_method0("flush")?;
            }
            return dup(fileno.call0()?.extract()?);
        }
    }
    let filename = os.call_method1("fspath", (file,)).map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "install_crash_dump(): file must be a path, a file descriptor or a file object, not {}",
            file.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })?;
    let raw = os.call_method1("fsencode", (&filename,))?;
    let c = std::ffi::CString::new(raw.cast::<pyo3::types::PyBytes>()?.as_bytes())
        .map_err(|_| pyo3::exceptions::PyValueError::new_err("install_crash_dump(): embedded null byte in the path"))?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_APPEND | libc::O_CLOEXEC;
    // SAFETY: `c` is a valid NUL-terminated path; open(2) only reads it.
    let fd = unsafe { libc::open(c.as_ptr(), flags, 0o600 as libc::c_uint) };
    if fd < 0 {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
        return Err(errors::os_error(errno, Some(&filename)));
    }
    Ok(fd)
}

/// install_crash_dump(ring, file, /)
///
/// When the process dies of SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT,
/// writes the ring's retained records (as ring.dump() does: their bytes
/// back to back, oldest first) to `file`, from a native signal handler,
/// then passes the signal on to the handler installed before (for example
/// faulthandler's, which then prints its traceback), or lets it kill the
/// process as it would have. See the package's documentation.
#[pyfunction]
#[pyo3(signature = (ring, file, /))]
pub(crate) fn install_crash_dump(py: Python<'_>, ring: &Bound<'_, PyAny>, file: &Bound<'_, PyAny>) -> PyResult<()> {
    let ring = ring.cast::<PyRing>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "install_crash_dump(): ring must be a ringlog.Ring, not {}",
            ring.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })?;
    let ring = ring.get().ring.clone();
    if ring.is_forked() {
        return Err(errors::to_py(py, ringbuf_core::Error::Forked));
    }
    let fd = target_fd(py, file)?;
    let dump = Box::into_raw(Box::new(Dump { ring, fd }));
    let placed = DUMPS
        .iter()
        .any(|slot| slot.compare_exchange(std::ptr::null_mut(), dump, Ordering::AcqRel, Ordering::Relaxed).is_ok());
    if !placed {
        // SAFETY: `dump` came from Box::into_raw above and was published
        // nowhere; `fd` is ours.
        unsafe {
            drop(Box::from_raw(dump));
            libc::close(fd);
        }
        return Err(errors::invalid(
            py,
            format!("install_crash_dump(): {MAX_DUMPS} crash dumps are installed already"),
        ));
    }
    ensure_alt_stack();
    install_handler().map_err(PyErr::from)
}
