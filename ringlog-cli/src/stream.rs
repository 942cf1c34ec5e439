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
use std::time::{Duration, Instant};

use ringbuf_core::{Error, Reader, STALL_UNWRITTEN};

use crate::cursor::Cursor;
use crate::fail::{is_broken_pipe, plain, Fail};
use crate::output;

/// Bytes of output gathered before one write to stdout.
const BATCH_BYTES: usize = 64 * 1024;

/// How often a waiting `tail -f` looks at its stop flag (Ctrl-C). Records
/// wake it at once; this only bounds how long Ctrl-C takes.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// How often `dump` (and `tail` without -f) waiting at the end looks
/// whether what is left are dead records the reader passed already.
const END_CHECK: Duration = Duration::from_millis(20);

/// When to stop.
pub enum Until {
    /// Stop before the record with seq `end` (what was written when the
    /// command started), the reader having started at `from`: `dump`,
    /// `tail` without `-f`.
    Seq {
        /// The seq the reader started at.
        from: u64,
        /// The first seq not to print.
        end: u64,
    },
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
    // Where the reader is: the seq after the last record printed (or the
    // start), and the losses already reported; the reader's lost_total
    // beyond those are dead records it passed since (writers killed
    // mid-record), which no record reports when none follows them.
    let mut at = match until {
        Until::Seq { from, .. } => from,
        Until::Stopped(_) => 0,
    };
    let mut reported = 0;
    let result = loop {
        match print_batch(reader, &until, &mut opts, &stdout, &mut out, &mut at, &mut reported) {
            Ok(true) => break Ok(()),
            Ok(false) => {}
            Err(e) => break Err(e),
        }
    };
    let unreported = reader.lost_total().saturating_sub(reported);
    if unreported > 0 && result.is_ok() {
        eprintln!("ringlog: {}", output::lost(unreported));
    }
    result
}

/// Gathers and prints one batch; true at the end of the stream.
#[allow(clippy::too_many_arguments)]
fn print_batch(
    reader: &mut Reader,
    until: &Until,
    opts: &mut Print<'_>,
    stdout: &std::io::Stdout,
    out: &mut Vec<u8>,
    at: &mut u64,
    reported: &mut u64,
) -> Result<bool, Fail> {
    out.clear();
    let mut next = None; // the seq after the last record gathered
    let mut first = 0; // where the batch starts (its first record, or the gap before it)
    let mut ended = false;
    while out.len() < BATCH_BYTES {
        // The first record of a batch may wait; the rest only if the
        // batch would otherwise be empty.
        let rec = match wait(reader, until, next.is_none(), (*at, *reported)) {
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
                emit(stdout, out, opts.cursor.as_deref_mut(), first, next)?;
                out.clear();
            }
            eprintln!("ringlog: {}", output::lost(rec.lost));
            *reported += rec.lost;
        }
        if out.is_empty() {
            // Where a next run starts if nobody sees this batch: before
            // the gap, which it then reports again.
            first = rec.seq - rec.lost;
        }
        if opts.json {
            output::json(out, rec.seq, rec.lost, &rec.data);
        } else {
            output::text(out, &rec.data);
        }
        next = Some(rec.seq + 1);
        *at = rec.seq + 1;
        if let Until::Seq { end, .. } = until {
            if rec.seq + 1 >= *end {
                ended = true;
                break;
            }
        }
    }
    if !out.is_empty() {
        emit(stdout, out, opts.cursor.as_deref_mut(), first, next)?;
    }
    Ok(ended)
}

/// The next record: None at the end (`until` reached, a stop, or, when
/// `block` is false, nothing committed yet). `(at, reported)`: the seq
/// after the last record printed and the losses reported so far.
fn wait(
    reader: &mut Reader,
    until: &Until,
    block: bool,
    (at, reported): (u64, u64),
) -> Result<Option<ringbuf_core::Record>, Error> {
    if !block {
        return match reader.try_next() {
            Ok(r) => Ok(Some(r)),
            Err(Error::Timeout) => Ok(None),
            Err(e) => Err(e),
        };
    }
    match until {
        Until::Seq { end, .. } => {
            // Records before the end exist: one still being written is
            // passed by the reader (as lost) once its writer is known dead,
            // or after STALL_UNWRITTEN when it never got its header. The
            // last ones may be dead records with none after them: the
            // reader has passed them when its losses reach the end.
            let give_up = Instant::now() + STALL_UNWRITTEN + Duration::from_secs(2);
            loop {
                // The seq the reader has passed: records and dead records.
                if at + reader.lost_total().saturating_sub(reported) >= *end {
                    return Ok(None);
                }
                match reader.next_timeout(END_CHECK) {
                    Ok(r) => return Ok(Some(r)),
                    Err(Error::Timeout) if Instant::now() < give_up => {}
                    Err(Error::Timeout) => {
                        eprintln!("ringlog: a record is still being written by a live process; stopping before it");
                        return Ok(None);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Until::Stopped(stop) => loop {
            if stop.load(Ordering::Relaxed) || stdout_gone() {
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

/// True when stdout is a pipe or socket whose reader went away: a
/// following tail then ends at once (as GNU tail does), instead of at the
/// next record's failed write; a shipper restarted meanwhile does not have
/// two tails on one cursor for long.
fn stdout_gone() -> bool {
    let mut p = libc::pollfd { fd: 1, events: 0, revents: 0 };
    // SAFETY: one valid pollfd, no wait (timeout 0).
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n == 1 && p.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

/// Saves the cursor (if any) as `next`, then writes the batch to stdout.
/// When stdout's reader is gone before a byte of the batch was written,
/// the cursor goes back to `first` (nobody saw the batch: the next run
/// prints it); once a byte went out, the batch counts as delivered.
fn emit(
    stdout: &std::io::Stdout,
    out: &[u8],
    cursor: Option<&mut Cursor>,
    first: u64,
    next: Option<u64>,
) -> Result<(), Fail> {
    let mut cursor = cursor;
    if let (Some(c), Some(n)) = (cursor.as_deref_mut(), next) {
        c.save(n)?;
    }
    let mut lock = stdout.lock();
    let mut done = 0;
    while done < out.len() {
        match lock.write(&out[done..]) {
            Ok(0) => return Err(Fail("writing to stdout: it accepts no more bytes".into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if is_broken_pipe(&e) => {
                if done == 0 {
                    if let Some(c) = cursor {
                        c.save(first)?;
                    }
                }
                return Err(Fail::quiet());
            }
            Err(e) => return Err(Fail(format!("writing to stdout: {}", plain(&e)))),
        }
    }
    match lock.flush() {
        Ok(()) => Ok(()),
        Err(e) if is_broken_pipe(&e) => Err(Fail::quiet()),
        Err(e) => Err(Fail(format!("writing to stdout: {}", plain(&e)))),
    }
}
