//! Sessions: which processes still have a ring file open, told by the
//! kernel, so that what a dead process left behind (a record it was
//! writing, a reader slot) can be recovered, and nothing a live one owns is
//! ever taken from it.
//!
//! Every handle that opens a ring file (`file`) takes one of the file's
//! `SESSIONS - 1` session slots (1..) by placing an open-file-description
//! lock (`F_OFD_SETLK`, write lock) on one byte of the file, far beyond its
//! end: byte `LOCK_BASE + i` for slot `i`. The kernel drops such a lock
//! when the last descriptor of that open file goes away, which includes
//! the process dying by any signal: no lock of ours can outlive its owner.
//! Taking the slot also bumps its generation in the file (`SessionSlot`).
//!
//! A session's *tag* is its slot and generation (8 + 16 bits). Writers of a
//! ring file put their tag into every pending frame (`frame`); readers put
//! it into their reader slot (`registry`). A tag is *alive* while its slot
//! still has that generation and its lock is held (`F_OFD_GETLK` reports a
//! conflicting lock). A dead tag never comes back to life: the slot's next
//! owner bumps the generation before it writes anything.
//!
//! Byte `LOCK_BASE` (slot 0, never a session) is the *open lock*: every
//! handle holds a read lock on it; an opener that can take it as a write
//! lock is alone with the file and may recover what dead processes left
//! (`file::recover`), then turns it into a read lock (one atomic change).
//!
//! Pids are never used to tell liveness: they are reused (a restarted
//! container's process often has the pid of the one that crashed) and mean
//! nothing across pid namespaces. Locks have neither problem.

#![cfg(not(loom))]

use std::os::fd::{AsRawFd, OwnedFd};

use crate::error::Error;
use crate::layout::{Tables, Tag, SESSIONS};
use crate::sync::Ordering;

/// Where the lock bytes start: far beyond any ring file's end (locks may lie
/// past the end of a file; they never change its size).
const LOCK_BASE: i64 = 1 << 50;

// A tag: slot in the low 8 bits, generation (mod 2^16) above.

/// A tag's slot.
fn slot_of(tag: Tag) -> usize {
    (tag & 0xff) as usize
}

/// `fcntl` with an OFD lock request on the byte `LOCK_BASE + i`.
fn lock_op(fd: &OwnedFd, cmd: libc::c_int, kind: libc::c_int, i: usize) -> Result<libc::flock, i32> {
    // SAFETY: a zeroed `flock` is a valid value (plain integers).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = LOCK_BASE + i as i64;
    fl.l_len = 1;
    fl.l_pid = 0; // required by OFD locks
                  // SAFETY: `fd` is open; `fl` is a valid flock that lives across the call.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, &mut fl as *mut libc::flock) };
    if rc == -1 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
    } else {
        Ok(fl)
    }
}

/// Takes the open lock: `Ok(true)` when this handle is alone with the file
/// (write lock held: the caller recovers, then calls `shared_open_lock`),
/// `Ok(false)` when others have it open (read lock held). Waits at most
/// `patience` for an opener that is recovering.
pub(crate) fn open_lock(fd: &OwnedFd, patience: std::time::Duration) -> Result<bool, Error> {
    match lock_op(fd, libc::F_OFD_SETLK, libc::F_WRLCK, 0) {
        Ok(_) => return Ok(true),
        Err(e) if e == libc::EAGAIN || e == libc::EACCES => {}
        Err(e) => return Err(Error::Io(e)),
    }
    let until = std::time::Instant::now() + patience;
    loop {
        match lock_op(fd, libc::F_OFD_SETLK, libc::F_RDLCK, 0) {
            Ok(_) => return Ok(false),
            Err(e) if e == libc::EAGAIN || e == libc::EACCES => {}
            Err(e) => return Err(Error::Io(e)),
        }
        if std::time::Instant::now() >= until {
            return Err(Error::Busy);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Turns the open lock from write into read (atomic for OFD locks).
pub(crate) fn shared_open_lock(fd: &OwnedFd) -> Result<(), Error> {
    lock_op(fd, libc::F_OFD_SETLK, libc::F_RDLCK, 0).map(|_| ()).map_err(Error::Io)
}

/// This handle's session in one ring file.
pub(crate) struct Session {
    /// The file, open for as long as the ring's memory is mapped: its
    /// locks are the session.
    pub(crate) fd: OwnedFd,
    pub(crate) tag: Tag,
}

impl Session {
    /// Takes a free session slot; `Busy` when all are taken by live handles.
    pub(crate) fn take(fd: OwnedFd, tables: &Tables) -> Result<Session, Error> {
        for i in 1..SESSIONS {
            match lock_op(&fd, libc::F_OFD_SETLK, libc::F_WRLCK, i) {
                Ok(_) => {
                    let slot = &tables.sessions[i];
                    // AcqRel: our bump is ordered after the previous owner's.
                    let gen = slot.gen.fetch_add(1, Ordering::AcqRel).wrapping_add(1);
                    slot.pid.store(std::process::id(), Ordering::Relaxed);
                    let tag = i as u32 | (gen & 0xffff) << 8;
                    return Ok(Session { fd, tag });
                }
                Err(e) if e == libc::EAGAIN || e == libc::EACCES => continue,
                Err(e) => return Err(Error::Io(e)),
            }
        }
        Err(Error::Busy)
    }

    /// True when `tag` belongs to a handle that still has the file open
    /// (module doc). One `fcntl` call unless the tag is ours or stale.
    /// Async-signal-safe. When the kernel cannot answer, says alive: a
    /// live writer's bytes must never be taken.
    pub(crate) fn alive(&self, tables: &Tables, tag: Tag) -> bool {
        if tag == self.tag {
            return true;
        }
        let i = slot_of(tag);
        if i == 0 || i >= SESSIONS {
            return false; // no session wrote this (damage): nobody will finish it
        }
        let gen = tables.sessions[i].gen.load(Ordering::Acquire) & 0xffff;
        if gen != tag >> 8 {
            return false; // the slot was taken again since: that owner is gone
        }
        match lock_op(&self.fd, libc::F_OFD_GETLK, libc::F_WRLCK, i) {
            Ok(fl) => fl.l_type != libc::F_UNLCK as libc::c_short,
            Err(_) => true,
        }
    }
}
