//! A writer for logging libraries: one `write` call, one record, cut to
//! fit instead of refused.
//!
//! Logging frameworks format an event into a buffer and hand it to an
//! [`io::Write`] in one `write_all`: `tracing_subscriber::fmt().with_writer`,
//! `env_logger`'s `Target::Pipe`, `slog`'s and `fern`'s writers. `&Ring` is
//! such a writer already, but an event longer than the ring's `max_record`
//! fails there with `TooLarge`, which the framework reports on stderr and
//! drops. [`LogWriter`] writes it cut to `max_record` instead, ending in
//! the marker `…[truncated N bytes]` (and the event's newline, if it had
//! one), so the log keeps the start of the event and says what is missing.

use std::io;

use crate::{Error, Ring};

/// The marker's fixed text; followed by the count and `]`.
const MARKER_HEAD: &str = "\u{2026}[truncated ";

/// Longest marker: the head, a 20-digit count, " bytes]", a newline.
const MARKER_MAX: usize = MARKER_HEAD.len() + 20 + " bytes]".len() + 1;

/// An [`io::Write`] that makes each `write` call one record of its ring,
/// cutting a record longer than `max_record` (see the module docs).
///
/// Made by [`Ring::log_writer`]; holds the ring open while it exists. With
/// the `tracing` feature it is also a `tracing_subscriber` `MakeWriter`:
///
/// ```
/// # #[cfg(feature = "tracing")] {
/// let ring = ringbuf_core::Ring::new(1 << 20).unwrap();
/// let subscriber = tracing_subscriber::fmt().with_writer(ring.log_writer()).with_ansi(false).finish();
/// tracing::subscriber::with_default(subscriber, || tracing::info!(user = "ada", "logged in"));
/// let text = String::from_utf8(ring.snapshot().unwrap()).unwrap();
/// assert!(text.contains("INFO") && text.contains("logged in user=\"ada\""));
/// # }
/// ```
///
/// With `env_logger`: `builder.target(env_logger::Target::Pipe(Box::new(ring.log_writer())))`.
#[derive(Clone, Debug)]
pub struct LogWriter {
    ring: Ring,
}

impl Ring {
    /// A writer for logging libraries: each `write` one record, cut to
    /// `max_record` with a marker instead of refused ([`LogWriter`]).
    pub fn log_writer(&self) -> LogWriter {
        LogWriter { ring: self.clone() }
    }
}

impl LogWriter {
    /// The ring written to.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// Writes `buf` as one record, cut to fit; the seq of the record.
    ///
    /// # Errors
    ///
    /// What [`Ring::write`] returns but `TooLarge`: `Closed`, `Busy` (the
    /// drop is counted in the stats), `Forked`.
    pub fn write_record(&self, buf: &[u8]) -> Result<u64, Error> {
        let max = self.ring.max_record();
        if buf.len() <= max {
            return self.ring.write(buf);
        }
        // The marker, formatted on the stack (no allocation).
        let newline = buf.last() == Some(&b'\n');
        let mut marker = [0u8; MARKER_MAX];
        let mut keep = max.saturating_sub(MARKER_MAX);
        // Cut at a character boundary when the text is UTF-8: step back
        // over at most three continuation bytes.
        for _ in 0..3 {
            if keep > 0 && keep < buf.len() && buf[keep] & 0xC0 == 0x80 {
                keep -= 1;
            }
        }
        let cut = buf.len() - keep;
        let m = format_marker(&mut marker, cut as u64, newline);
        self.ring.writev(&[&buf[..keep], &marker[..m]])
    }
}

/// Writes `…[truncated N bytes]` (and a newline) into `out`; its length.
fn format_marker(out: &mut [u8; MARKER_MAX], n: u64, newline: bool) -> usize {
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        out[len..len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len();
    };
    put(MARKER_HEAD.as_bytes());
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(&digits[i..]);
    put(b" bytes]");
    if newline {
        put(b"\n");
    }
    len
}

impl io::Write for &LogWriter {
    /// One record of `buf` (cut to fit); reports all of `buf` written, so
    /// that `write_all` never splits an event into two records.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_record(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::Write::write(&mut &*self, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "tracing")]
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = &'a LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        let mut m = [0u8; MARKER_MAX];
        let n = format_marker(&mut m, 0, false);
        assert_eq!(std::str::from_utf8(&m[..n]).unwrap(), "\u{2026}[truncated 0 bytes]");
        let n = format_marker(&mut m, u64::MAX, true);
        assert_eq!(std::str::from_utf8(&m[..n]).unwrap(), format!("\u{2026}[truncated {} bytes]\n", u64::MAX));
        assert_eq!(n, MARKER_MAX);
    }
}
