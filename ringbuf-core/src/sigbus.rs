//! The SIGBUS guard: a ring file shrunk under a live mapping must not crash
//! the process.
//!
//! Every ring file is sized once, when it is made, and ringlog never
//! changes its size, so its own accesses never fault. But anyone may
//! truncate the file meanwhile (a `> file` in a shell, a log rotator), and
//! then touching a page past the new end raises SIGBUS, which kills the
//! process by default. So, while ring files are mapped, ringlog keeps a
//! SIGBUS handler (installed once, with the previous one kept): a fault
//! inside one of our mappings is answered by mapping a private page of
//! zeros over the faulting page and returning, so the access goes on and
//! reads zeros; the mapping is marked *broken*. Readers that would wait and
//! writes that take the slow path (once per slack's worth of records) then
//! answer `BadFile`; other calls go on harmlessly on the zero pages, which
//! are private to this process (what they write is lost, what they read is
//! no record). A fault anywhere else goes to the previous handler (or, if
//! there was none, kills the process as before).
//!
//! Zeros are safe for every reader: a zero word is the marker of a frame
//! only by chance (2^-64, `frame`), so a reader sees "nothing written
//! here" and stops.
//!
//! The table of mappings is a fixed array of atomics: the handler neither
//! locks nor allocates.

#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Mappings watched at once (ring files open in this process); a mapping
/// beyond this is still used, only unguarded.
const SLOTS: usize = 128;

struct Watched {
    start: AtomicUsize,
    len: AtomicUsize,
    broken: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Watched = Watched { start: AtomicUsize::new(0), len: AtomicUsize::new(0), broken: AtomicBool::new(false) };
static TABLE: [Watched; SLOTS] = [EMPTY; SLOTS];

/// The handler that was installed before ours (set once, before ours).
static mut PREVIOUS: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::uninit();
static INSTALLED: std::sync::Once = std::sync::Once::new();

/// Starts guarding the mapping of `len` bytes at `start`; the table slot
/// (`None` when the table is full: the mapping is then unguarded).
pub(crate) fn watch(start: usize, len: usize) -> Option<usize> {
    install();
    for (i, w) in TABLE.iter().enumerate() {
        if w.start.compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            w.broken.store(false, Ordering::Relaxed);
            w.len.store(len, Ordering::Relaxed);
            w.start.store(start, Ordering::Release);
            return Some(i);
        }
    }
    None
}

/// Stops guarding the mapping in `slot` (before it is unmapped).
pub(crate) fn forget(slot: usize) {
    TABLE[slot].start.store(0, Ordering::Release);
}

/// True when a fault hit the mapping in `slot` (the file was shrunk): one
/// atomic load, for slow paths of every call.
#[inline]
pub(crate) fn broken(slot: usize) -> bool {
    TABLE[slot].broken.load(Ordering::Relaxed)
}

fn install() {
    INSTALLED.call_once(|| {
        // SAFETY: plain sigaction calls; `PREVIOUS` is written here once,
        // before our handler (its only other reader) can run.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_sigbus as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut act.sa_mask);
            let prev = std::ptr::addr_of_mut!(PREVIOUS).cast::<libc::sigaction>();
            libc::sigaction(libc::SIGBUS, &act, prev);
        }
    });
}

extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    for w in &TABLE {
        let start = w.start.load(Ordering::Acquire);
        if start == 0 || start == usize::MAX || addr < start || addr - start >= w.len.load(Ordering::Relaxed) {
            continue;
        }
        // SAFETY: sysconf and mmap are plain system calls (mmap is not on
        // POSIX's async-signal-safe list, but on Linux it is one system
        // call and takes no lock of the caller's). MAP_FIXED replaces the
        // one faulting page of our own mapping with zeros.
        let ok = unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
            let at = addr & !(page - 1);
            libc::mmap(
                at as *mut libc::c_void,
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            ) != libc::MAP_FAILED
        };
        w.broken.store(true, Ordering::Relaxed);
        if ok {
            return; // the access is retried and reads zeros
        }
    }
    // Not ours: what would have happened without us.
    // SAFETY: `PREVIOUS` was written before this handler was installed.
    unsafe {
        let prev = &*std::ptr::addr_of!(PREVIOUS).cast::<libc::sigaction>();
        let h = prev.sa_sigaction;
        if h == libc::SIG_DFL || h == libc::SIG_IGN {
            // Default action: restore it and return; the access faults again
            // and the process ends with SIGBUS (and a core) as without us.
            libc::sigaction(libc::SIGBUS, prev, std::ptr::null_mut());
        } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = std::mem::transmute(h);
            f(sig, info, ctx);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(h);
            f(sig);
        }
    }
}
