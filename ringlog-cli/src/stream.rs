//! Printing a reader's records to stdout: what `dump` and `tail` share.
//!
//! Records are printed in batches (up to `BATCH_BYTES`), one `write` to
//! stdout a batch, so a fast ring is not printed a syscall per record and
//! a slow one shows each record as soon as it is committed. With a cursor,
//! the seq after the batch is saved *before* the batch is written: a record
//! is never printed by two runs (at most the batch being written when the
//! process was killed is in flight, like the bytes in the pipe it writes
//! to).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ringbuf_core::{Error, Reader, STALL_UNWRITTEN};

use crate::cursor::Cursor;
use crate::fail::{is_broken_pipe, plain, Fail};
use crate::output;

/// Bytes of output gathered before one write to stdout.
const BATCH_BYTES: usize = 64 * 1024;

/// How often a waiting `tail -f` looks at its stop flag (Ctrl-C). Records
/// wake it at once; this only bounds how long Ctrl-C takes.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// When to stop.
pub enum Until {
    /// Stop before the record with this seq (what was written when the
    /// command started): `dump`, `tail` without `-f`.
    Seq(u64),
    /// Follow until the ring is closed or `stop` is set (a signal).
    Stopped(&'static AtomicBool),
}

/// Output options.
pub struct Print<'a> {
    /// One JSON object per record instead of the record's text.
    pub json: bool,
    /// Where to save the next seq (tail --cursor).
    pub cursor: Option<&'a mut Cursor>,
}

/// Prints the reader's records until `until`; losses are reported on
/// stderr as `ringlog: lost N records`.
pub fn print(reader: &mut Reader, until: Until, mut opts: Print<'_>) -> Result<(), Fail> {
    let stdout = std::io::stdout();
    let mut out = Vec::with_capacity(BATCH_BYTES + 4096);
    loop {
        out.clear();
        let mut next = None; // the seq after the last record gathered
        let mut ended = false;
        while out.len() < BATCH_BYTES {
            // The first record of a batch may wait; the rest only if the
            // batch would otherwise be empty.
            let rec = match wait(reader, &until, next.is_none()) {
                Ok(Some(rec)) => rec,
                Ok(None) => {
                    ended = next.is_none();
                    break;
                }
                Err(Error::Closed) => {
                    ended = true;
                    break;
                }
                Err(e) => return Err(Fail(format!("reading the ring: {e}"))),
            };
            if rec.lost > 0 {
                // Said before the records after the gap reach the terminal.
                if !out.is_empty() {
                    emit(&stdout, &out, opts.cursor.as_deref_mut(), next)?;
                    out.clear();
                }
                eprintln!("ringlog: {}", output::lost(rec.lost));
            }
            if opts.json {
                output::json(&mut out, rec.seq, rec.lost, &rec.data);
            } else {
                output::text(&mut out, &rec.data);
            }
            next = Some(rec.seq + 1);
            if let Until::Seq(end) = until {
                if rec.seq + 1 >= end {
                    ended = true;
                    break;
                }
            }
        }
        if !out.is_empty() {
            emit(&stdout, &out, opts.cursor.as_deref_mut(), next)?;
        }
        if ended {
            return Ok(());
        }
    }
}

/// The next record: None at the end (`until` reached, a stop, or, when
/// `block` is false, nothing committed yet).
fn wait(reader: &mut Reader, until: &Until, block: bool) -> Result<Option<ringbuf_core::Record>, Error> {
    if !block {
        return match reader.try_next() {
            Ok(r) => Ok(Some(r)),
            Err(Error::Timeout) => Ok(None),
            Err(e) => Err(e),
        };
    }
    match until {
        Until::Seq(_) => {
            // Records before the end exist; one still being written is
            // passed by the reader (as lost) once its writer is known dead,
            // or after STALL_UNWRITTEN when it never got its header.
            match reader.next_timeout(STALL_UNWRITTEN + Duration::from_secs(2)) {
                Ok(r) => Ok(Some(r)),
                Err(Error::Timeout) => {
                    eprintln!("ringlog: a record is still being written by a live process; stopping before it");
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        }
        Until::Stopped(stop) => loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            match reader.next_timeout(STOP_CHECK) {
                Ok(r) => return Ok(Some(r)),
                Err(Error::Timeout) => continue,
                Err(e) => return Err(e),
            }
        },
    }
}

/// Saves the cursor (if any) as `next`, then writes the batch to stdout.
fn emit(stdout: &std::io::Stdout, out: &[u8], cursor: Option<&mut Cursor>, next: Option<u64>) -> Result<(), Fail> {
    if let (Some(c), Some(n)) = (cursor, next) {
        c.save(n)?;
    }
    let mut lock = stdout.lock();
    match lock.write_all(out).and_then(|()| lock.flush()) {
        Ok(()) => Ok(()),
        Err(e) if is_broken_pipe(&e) => Err(Fail::quiet()),
        Err(e) => Err(Fail(format!("writing to stdout: {}", plain(&e)))),
    }
}
