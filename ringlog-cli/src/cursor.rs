//! `tail --cursor PATH`: the seq to resume from, saved in a small file.
//!
//! The file holds the next seq to print, in decimal, and a newline. It is
//! replaced whole (written to `PATH.tmp`, then renamed over PATH), so a
//! process killed at any point leaves either the old or the new value.
//!
//! One process at a time uses a cursor: it holds an exclusive `flock` on
//! `PATH.lock` while it runs. A second `tail` on the same cursor (a log
//! shipper restarted while its old tail has not noticed yet) waits up to
//! `LOCK_WAIT` for it, then gives up with an error: two tails moving one
//! cursor could print records twice.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::fail::{plain, Fail};

/// How long a tail waits for another process to let go of the cursor.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A cursor file, locked for this process.
#[derive(Debug)]
pub struct Cursor {
    path: PathBuf,
    tmp: PathBuf,
    saved: Option<u64>,
    /// `PATH.lock`, flock'ed while the cursor is used.
    _lock: std::fs::File,
}

/// Takes the exclusive lock of the cursor at `path` (`PATH.lock`).
fn lock(path: &Path, wait: std::time::Duration) -> Result<std::fs::File, Fail> {
    use std::os::fd::AsRawFd;
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Fail::io(&lock_path, "create the cursor's lock file", e))?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(file);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(Fail::io(&lock_path, "lock the cursor", e));
        }
        if std::time::Instant::now() >= deadline {
            return Err(Fail(format!(
                "{}: the cursor is in use by another process (a running ringlog tail)",
                path.display()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

impl Cursor {
    /// Reads the cursor at `path`: `saved()` is None when there is no file
    /// yet (the first run).
    pub fn load(path: &Path) -> Result<Cursor, Fail> {
        let lock = lock(path, LOCK_WAIT)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let saved = match std::fs::read_to_string(path) {
            Ok(text) => Some(text.trim().parse::<u64>().map_err(|_| {
                Fail(format!("{}: not a ringlog cursor (it should hold one seq, a number)", path.display()))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Fail::io(path, "read the cursor", e)),
        };
        Ok(Cursor { path: path.to_path_buf(), tmp: PathBuf::from(tmp), saved, _lock: lock })
    }

    /// The seq saved by the last run, if any.
    pub fn saved(&self) -> Option<u64> {
        self.saved
    }

    /// Saves `next` as the seq to resume from (nothing when unchanged).
    pub fn save(&mut self, next: u64) -> Result<(), Fail> {
        if self.saved == Some(next) {
            return Ok(());
        }
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&self.tmp)?;
            writeln!(f, "{next}")?;
            drop(f);
            std::fs::rename(&self.tmp, &self.path)
        };
        write().map_err(|e| Fail(format!("{}: cannot save the cursor: {}", self.path.display(), plain(&e))))?;
        self.saved = Some(next);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn save_and_load() {
        let dir = std::env::temp_dir().join(format!("ringlog-cursor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c");
        let mut c = Cursor::load(&p).unwrap();
        assert_eq!(c.saved(), None);
        c.save(42).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "42\n");
        drop(c);
        assert_eq!(Cursor::load(&p).unwrap().saved(), Some(42));
        std::fs::write(&p, "x").unwrap();
        assert!(Cursor::load(&p).unwrap_err().0.contains("not a ringlog cursor"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_process_at_a_time() {
        let dir = std::env::temp_dir().join(format!("ringlog-cursor-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c");
        let held = Cursor::load(&p).unwrap();
        // flock locks belong to the open file: a second open is refused
        // like another process would be.
        let e = super::lock(&p, std::time::Duration::from_millis(100)).unwrap_err();
        assert!(e.0.contains("in use by another process"), "{e}");
        drop(held);
        assert!(super::lock(&p, std::time::Duration::from_millis(100)).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
