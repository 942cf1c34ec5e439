//! The command's one error type: what went wrong, as one line for stderr.

use std::fmt;
use std::path::Path;

use ringbuf_core::Error;

/// An error the command reports on one line (`ringlog: ...`) before it
/// exits with status 1.
#[derive(Debug)]
pub struct Fail(pub String);

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Fail {
    /// Stop without a message, with status 0: stdout's reader went away
    /// (`ringlog dump f | head`).
    pub fn quiet() -> Fail {
        Fail(String::new())
    }

    /// True for [`Fail::quiet`].
    pub fn is_quiet(&self) -> bool {
        self.0.is_empty()
    }

    /// A ring operation on `path` failed.
    pub fn ring(path: &Path, what: &str, e: Error) -> Fail {
        let p = path.display();
        match e {
            Error::Io(libc::ENOENT) => Fail(format!("{p}: no such file")),
            Error::BadFile(why) => Fail(format!("{p}: not a usable ring file: {why}")),
            Error::Io(errno) => {
                Fail(format!("{p}: cannot {what}: {}", plain(&std::io::Error::from_raw_os_error(errno))))
            }
            e => Fail(format!("{p}: cannot {what}: {e}")),
        }
    }

    /// A system call on `path` failed.
    pub fn io(path: &Path, what: &str, e: std::io::Error) -> Fail {
        Fail(format!("{}: cannot {what}: {}", path.display(), plain(&e)))
    }
}

/// An io::Error's text without the " (os error N)" Rust appends.
pub fn plain(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// True when writing to stdout failed because its reader went away
/// (`ringlog dump f | head`): the command then stops quietly.
pub fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}
