//! `ringlog write FILE [MESSAGE...]`: the arguments as one record, or each
//! line of stdin as a record.

use std::io::BufRead;
use std::path::Path;

use ringbuf_core::{Error, Ring};

use crate::cli::WriteArgs;
use crate::fail::{plain, Fail};
use crate::open;

/// Writes the message, or stdin line by line.
pub fn run(args: WriteArgs) -> Result<(), Fail> {
    let ring = open::for_writing(&args.file, args.capacity)?;
    let mut sink = LineSink::new(&args.file, &ring);
    if !args.message.is_empty() {
        // Records are bytes: arguments that are not UTF-8 are written as given.
        use std::os::unix::ffi::OsStrExt;
        let mut line = args.message.join(std::ffi::OsStr::new(" ")).as_bytes().to_vec();
        line.push(b'\n');
        return match ring.write(&line) {
            Ok(_) => Ok(()),
            Err(e @ Error::TooLarge { .. }) => Err(Fail(format!("{}: {e}", args.file.display()))),
            Err(e) => Err(Fail::ring(&args.file, "write", e)),
        };
    }
    let mut stdin = std::io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match stdin.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => sink.line(&line)?,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Fail(format!("reading stdin: {}", plain(&e)))),
        }
    }
    sink.finish()
}

/// Writes lines as records: a line longer than the ring's `max_record` as
/// several records; writes refused as busy are counted, not fatal.
pub struct LineSink<'a> {
    path: &'a Path,
    ring: &'a Ring,
    dropped: u64,
}

impl<'a> LineSink<'a> {
    /// A sink for lines into `ring`.
    pub fn new(path: &'a Path, ring: &'a Ring) -> Self {
        LineSink { path, ring, dropped: 0 }
    }

    /// Writes one line (with its newline, if it has one).
    pub fn line(&mut self, line: &[u8]) -> Result<(), Fail> {
        for piece in line.chunks(self.ring.max_record().max(1)) {
            match self.ring.write(piece) {
                Ok(_) => {}
                Err(Error::Busy) => self.dropped += 1,
                Err(e) => return Err(Fail::ring(self.path, "write", e)),
            }
        }
        Ok(())
    }

    /// Reports the records the ring refused as busy, if any.
    pub fn finish(self) -> Result<(), Fail> {
        match self.dropped {
            0 => Ok(()),
            n => Err(Fail(format!(
                "{}: {n} records dropped: the ring was busy (too small for its writers)",
                self.path.display()
            ))),
        }
    }
}
