//! Sleeping on a 32-bit word and waking every sleeper with one call.
//!
//! Linux: the `futex` system call on a word inside the ring's region. A
//! ring in memory uses the private futex (faster: the kernel keys it by
//! address in this process); a ring in a shared file uses the shared one, so
//! that a write in one process wakes readers in another.
//!
//! `wake` is async-signal-safe (one system call, no lock, no allocation).
//!
//! Other systems have no futex in std's reach: there `wait` sleeps for at
//! most 1 ms and the caller re-checks (documented in the crate docs).
//! Under loom, a model of the futex: its own mutex and condition variable.

#[allow(unused_imports)]
use crate::sync::{AtomicU32, Deadline, Ordering};

/// Where the word lives, which decides the futex flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// In this process's memory only.
    Private,
    /// In memory shared between processes (a mapped file).
    #[cfg_attr(loom, allow(dead_code))]
    Shared,
}

/// Sleeps while `word` holds `expected`, until woken or `deadline`. May
/// return early (spuriously, or on a signal): callers re-check.
#[cfg(all(target_os = "linux", not(loom)))]
pub(crate) fn wait(word: &AtomicU32, expected: u32, deadline: Deadline, scope: Scope) {
    let op = match scope {
        Scope::Private => libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
        Scope::Shared => libc::FUTEX_WAIT,
    };
    let ts = deadline.left().map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64 / 2) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a live, aligned u32 for the duration of the call;
    // the timeout, if any, points to a timespec on this stack frame. The
    // kernel only reads both. EINTR, EAGAIN and ETIMEDOUT all mean "re-check".
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), op, expected, ts_ptr, std::ptr::null::<u32>(), 0u32);
    }
}

/// Wakes up to `n` threads sleeping on `word`: one system call.
#[cfg(all(target_os = "linux", not(loom)))]
fn wake(word: &AtomicU32, scope: Scope, n: i32) {
    let op = match scope {
        Scope::Private => libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
        Scope::Shared => libc::FUTEX_WAKE,
    };
    // SAFETY: `word` is a live, aligned u32; FUTEX_WAKE does not touch memory.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            op,
            n,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes every thread sleeping on `word`: one system call.
#[cfg(all(target_os = "linux", not(loom)))]
pub(crate) fn wake_all(word: &AtomicU32, scope: Scope) {
    wake(word, scope, i32::MAX);
}

/// Wakes one thread sleeping on `word`: one system call.
#[cfg(all(target_os = "linux", not(loom)))]
pub(crate) fn wake_one(word: &AtomicU32, scope: Scope) {
    wake(word, scope, 1);
}

#[cfg(all(not(target_os = "linux"), not(loom)))]
pub(crate) fn wait(word: &AtomicU32, expected: u32, deadline: Deadline, _scope: Scope) {
    if word.load(Ordering::Acquire) == expected {
        let slice = std::time::Duration::from_millis(1);
        std::thread::sleep(deadline.left().map_or(slice, |l| l.min(slice)));
    }
}

#[cfg(all(not(target_os = "linux"), not(loom)))]
pub(crate) fn wake_all(_word: &AtomicU32, _scope: Scope) {}

#[cfg(all(not(target_os = "linux"), not(loom)))]
pub(crate) fn wake_one(_word: &AtomicU32, _scope: Scope) {}

/// loom's futex: one per region (`Waiters`), a mutex and a condition
/// variable around the check of the word.
#[cfg(loom)]
pub(crate) struct Waiters {
    lock: loom::sync::Mutex<()>,
    cv: loom::sync::Condvar,
}

#[cfg(loom)]
impl Waiters {
    pub(crate) fn new() -> Waiters {
        Waiters { lock: loom::sync::Mutex::new(()), cv: loom::sync::Condvar::new() }
    }

    pub(crate) fn wait(&self, word: &AtomicU32, expected: u32, deadline: Deadline) {
        let guard = self.lock.lock().unwrap();
        // loom has no clock: a bounded wait is modelled as "the time ran out
        // at once", so models exercise the re-check after a timeout.
        if word.load(Ordering::Acquire) == expected && deadline == Deadline::Never {
            drop(self.cv.wait(guard).unwrap());
        }
    }

    pub(crate) fn wake_all(&self) {
        let _guard = self.lock.lock().unwrap();
        self.cv.notify_all();
    }

    pub(crate) fn wake_one(&self) {
        let _guard = self.lock.lock().unwrap();
        self.cv.notify_one();
    }
}
