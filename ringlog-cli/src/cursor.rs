//! `tail --cursor PATH`: the seq to resume from, saved in a small file.
//!
//! The file holds the next seq to print, in decimal, and a newline. It is
//! replaced whole (written to `PATH.tmp`, then renamed over PATH), so a
//! process killed at any point leaves either the old or the new value.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::fail::{plain, Fail};

/// A cursor file.
#[derive(Debug)]
pub struct Cursor {
    path: PathBuf,
    tmp: PathBuf,
    saved: Option<u64>,
}

impl Cursor {
    /// Reads the cursor at `path`: `saved()` is None when there is no file
    /// yet (the first run).
    pub fn load(path: &Path) -> Result<Cursor, Fail> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let saved = match std::fs::read_to_string(path) {
            Ok(text) => Some(text.trim().parse::<u64>().map_err(|_| {
                Fail(format!("{}: not a ringlog cursor (it should hold one seq, a number)", path.display()))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Fail::io(path, "read the cursor", e)),
        };
        Ok(Cursor { path: path.to_path_buf(), tmp: PathBuf::from(tmp), saved })
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
        assert_eq!(Cursor::load(&p).unwrap().saved(), Some(42));
        std::fs::write(&p, "x").unwrap();
        assert!(Cursor::load(&p).unwrap_err().0.contains("not a ringlog cursor"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
