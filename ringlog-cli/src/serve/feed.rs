//! One blocking reader thread per response, feeding a bounded channel.
//!
//! A [`Reader`] blocks (it sleeps on the ring's futex), so each streamed
//! response gets a thread of its own: it waits for the first record of a
//! batch, takes whatever else is committed already (up to [`BATCH_BYTES`]),
//! renders the batch in the response's format and hands it to the HTTP
//! side through a tokio channel of [`CHANNEL_BATCHES`] batches. A record
//! is therefore sent as soon as it is committed (the ring's wake-up
//! latency, no polling delay), and a busy ring goes out in 64 KiB writes.
//!
//! A client that does not read fills the channel; the thread then blocks
//! in `blocking_send` and stops reading the ring, which laps it; the next
//! record it reads carries `lost`, rendered in-stream before that record.
//! The writers never wait for any of this.
//!
//! The thread notices a client that went away within [`CHECK`] while it
//! waits for records (the channel's receiver is dropped with the
//! response), at once while it waits to send, and ends its stream when
//! the ring is closed (a clean end) or the server stops (a cut, so that a
//! client can tell it from the end of the ring).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ringbuf_core::{Error, Reader, RecordInfo};
use tokio::sync::mpsc;

use crate::output;

/// Most bytes of rendered records in one batch (one chunk of the
/// response), unless a single record is larger.
pub const BATCH_BYTES: usize = 64 * 1024;

/// Batches a response's channel holds: with [`BATCH_BYTES`], at most
/// 256 KiB rendered and waiting per client (plus the batch the thread is
/// trying to send).
pub const CHANNEL_BATCHES: usize = 4;

/// How often a thread waiting for records looks whether its client went
/// away or the server is stopping. Records wake it at once; this only
/// bounds how long a dead stream holds its reader slot.
pub const CHECK: Duration = Duration::from_millis(100);

/// How long `/snapshot` waits at a record that a writer is still writing
/// before it ends there (it never waits for records not yet written).
const SNAPSHOT_PENDING_WAIT: Duration = Duration::from_millis(50);

/// How records are rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Each record as a line of text (`output::text`); a loss as the line
    /// `ringlog: lost N records` before the record after it.
    Text,
    /// Each record as one JSON object and a newline (`output::json`), the
    /// loss in its `lost` field.
    Json,
    /// Server-sent events: `id: SEQ` and the record as `data:` lines
    /// (`json`: one `data:` line holding the JSON object); a loss as an
    /// event `lost` before the record; `event: end` when the ring is closed.
    Sse {
        /// The record as the JSON object of [`Format::Json`].
        json: bool,
    },
}

/// Where a feed stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Follow the ring until it is closed (`/records`).
    Closed,
    /// Stop before this seq, never waiting for records not written yet
    /// (`/snapshot`: what was written at the request).
    Seq(u64),
}

/// The error that cuts a response short: the body ends without its
/// closing chunk, so the client sees an incomplete transfer rather than
/// the end of the ring.
#[derive(Debug)]
pub struct Cut(pub &'static str);

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Cut {}

/// What the channel carries: a rendered batch, or the cut.
pub type Item = Result<Bytes, Cut>;

/// Starts the thread that reads `reader` into a new channel; the receiver
/// is the response body's.
///
/// # Errors
///
/// The thread could not be created (the caller answers 503).
pub fn spawn(
    reader: Reader,
    format: Format,
    until: Until,
    stop: Arc<AtomicBool>,
) -> std::io::Result<mpsc::Receiver<Item>> {
    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    std::thread::Builder::new().name("ringlog-feed".into()).spawn(move || {
        Feed { reader, buf: vec![0; 4096], format, until, stop, tx }.run();
    })?;
    Ok(rx)
}

/// Why a feed ended.
enum End {
    /// The ring is closed and drained, or the snapshot's end reached.
    Done,
    /// The client went away (the receiver was dropped).
    Gone,
    /// The server is stopping.
    Stopping,
    /// Reading failed (not expected: a fork, say).
    Failed(Error),
}

/// The state of one feeding thread.
struct Feed {
    reader: Reader,
    /// Where records are read to (grown to the largest record met).
    buf: Vec<u8>,
    format: Format,
    until: Until,
    stop: Arc<AtomicBool>,
    tx: mpsc::Sender<Item>,
}

impl Feed {
    fn run(mut self) {
        let end = self.pump();
        match end {
            End::Done => {
                if let Format::Sse { .. } = self.format {
                    if self.until == Until::Closed {
                        let _ = self.tx.blocking_send(Ok(Bytes::from_static(b"event: end\ndata: closed\n\n")));
                    }
                }
                // Dropping the sender ends the body cleanly.
            }
            End::Gone => {}
            End::Stopping => {
                let _ = self.tx.blocking_send(Err(Cut("the server is stopping")));
            }
            End::Failed(e) => {
                let mut line = Vec::new();
                match self.format {
                    Format::Sse { .. } => line.extend_from_slice(format!("event: error\ndata: {e}\n\n").as_bytes()),
                    _ => line.extend_from_slice(format!("ringlog: reading the ring: {e}\n").as_bytes()),
                }
                let _ = self.tx.blocking_send(Ok(Bytes::from(line)));
                let _ = self.tx.blocking_send(Err(Cut("reading the ring failed")));
            }
        }
    }

    /// Reads, renders and sends batches until the feed ends.
    fn pump(&mut self) -> End {
        loop {
            let first = match self.first() {
                Ok(info) => info,
                Err(end) => return end,
            };
            let mut batch = Vec::with_capacity(BATCH_BYTES.min(2 * first.len + 256).max(4096));
            self.render(&mut batch, first);
            let mut done = self.past_end(first.seq + 1);
            while !done && batch.len() < BATCH_BYTES {
                match self.read(Some(Duration::ZERO)) {
                    Ok(info) => {
                        if self.past_end(info.seq) {
                            done = true;
                            break;
                        }
                        let mark = batch.len();
                        self.render(&mut batch, info);
                        done = self.past_end(info.seq + 1);
                        if batch.len() > BATCH_BYTES && mark > 0 {
                            // Keep batches within the bound: this record
                            // starts the next one.
                            let rest = batch.split_off(mark);
                            if let Err(end) = self.send(batch) {
                                return end;
                            }
                            batch = rest;
                        }
                    }
                    Err(Error::Timeout) => break,
                    Err(Error::Closed) => {
                        done = true;
                        break;
                    }
                    Err(e) => {
                        // What was read first, then the error.
                        if let Err(end) = self.send(batch) {
                            return end;
                        }
                        return End::Failed(e);
                    }
                }
            }
            if let Err(end) = self.send(batch) {
                return end;
            }
            if done {
                return End::Done;
            }
        }
    }

    /// The next record into `self.buf` (grown when a record does not fit).
    fn read(&mut self, timeout: Option<Duration>) -> Result<RecordInfo, Error> {
        loop {
            match self.reader.next_into(&mut self.buf, timeout) {
                Err(Error::BufSmall { len, .. }) => self.buf.resize(len, 0),
                other => return other,
            }
        }
    }

    /// Appends the record just read in the feed's format.
    fn render(&self, out: &mut Vec<u8>, info: RecordInfo) {
        render(out, self.format, info.seq, info.lost, &self.buf[..info.len]);
    }

    /// True when the record `seq` is past a snapshot's end.
    fn past_end(&self, seq: u64) -> bool {
        matches!(self.until, Until::Seq(end) if seq >= end)
    }

    /// The first record of a batch: waits for it (in slices of [`CHECK`],
    /// looking at the client and the stop flag in between), or for a
    /// snapshot only as long as a record in progress takes.
    fn first(&mut self) -> Result<RecordInfo, End> {
        loop {
            if self.tx.is_closed() {
                return Err(End::Gone);
            }
            if self.stop.load(Ordering::Relaxed) {
                return Err(End::Stopping);
            }
            let wait = match self.until {
                Until::Closed => CHECK,
                Until::Seq(_) => SNAPSHOT_PENDING_WAIT,
            };
            match self.read(Some(wait)) {
                Ok(info) if self.past_end(info.seq) => return Err(End::Done),
                Ok(info) => return Ok(info),
                Err(Error::Timeout) if self.until == Until::Closed => continue,
                // A snapshot ends at a record still being written.
                Err(Error::Timeout) | Err(Error::Closed) => return Err(End::Done),
                Err(e) => return Err(End::Failed(e)),
            }
        }
    }

    /// Hands a batch to the response; blocks while the client is behind.
    fn send(&self, batch: Vec<u8>) -> Result<(), End> {
        if batch.is_empty() {
            return Ok(());
        }
        self.tx.blocking_send(Ok(Bytes::from(batch))).map_err(|_| End::Gone)
    }
}

/// Appends one record (and the loss before it) in `format`.
pub fn render(out: &mut Vec<u8>, format: Format, seq: u64, lost: u64, data: &[u8]) {
    match format {
        Format::Text => {
            if lost > 0 {
                out.extend_from_slice(b"ringlog: ");
                out.extend_from_slice(output::lost(lost).as_bytes());
                out.push(b'\n');
            }
            output::text(out, data);
        }
        Format::Json => output::json(out, seq, lost, data),
        Format::Sse { json } => {
            if lost > 0 {
                out.extend_from_slice(format!("event: lost\ndata: {lost}\n\n").as_bytes());
            }
            out.extend_from_slice(format!("id: {seq}\n").as_bytes());
            if json {
                out.extend_from_slice(b"data: ");
                output::json(out, seq, lost, data); // ends with its newline
            } else {
                sse_data(out, data);
            }
            out.push(b'\n');
        }
    }
}

/// The record as `data:` lines: one trailing newline (`\n` or `\r\n`)
/// dropped, then one `data:` line per line (split at `\n`, `\r\n` or `\r`,
/// the line ends of the event-stream format), so that the client's event
/// data is the record without its final newline.
fn sse_data(out: &mut Vec<u8>, data: &[u8]) {
    let mut data = data.strip_suffix(b"\n").unwrap_or(data);
    data = data.strip_suffix(b"\r").unwrap_or(data);
    loop {
        out.extend_from_slice(b"data: ");
        match data.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) => {
                out.extend_from_slice(&data[..i]);
                out.push(b'\n');
                let skip = if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                data = &data[i + skip..];
            }
            None => {
                out.extend_from_slice(data);
                out.push(b'\n');
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(format: Format, seq: u64, lost: u64, data: &[u8]) -> String {
        let mut out = Vec::new();
        render(&mut out, format, seq, lost, data);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_with_loss_line() {
        assert_eq!(rendered(Format::Text, 5, 0, b"a"), "a\n");
        assert_eq!(rendered(Format::Text, 5, 3, b"b\n"), "ringlog: lost 3 records\nb\n");
    }

    #[test]
    fn json_carries_the_loss() {
        assert_eq!(rendered(Format::Json, 5, 3, b"b\n"), "{\"seq\":5,\"lost\":3,\"data\":\"b\\n\"}\n");
    }

    #[test]
    fn sse_events() {
        let f = Format::Sse { json: false };
        assert_eq!(rendered(f, 7, 0, b"hello\n"), "id: 7\ndata: hello\n\n");
        assert_eq!(rendered(f, 7, 2, b"x"), "event: lost\ndata: 2\n\nid: 7\ndata: x\n\n");
        assert_eq!(rendered(f, 8, 0, b"a\nb\r\nc\rd\r\n"), "id: 8\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
        assert_eq!(rendered(f, 9, 0, b""), "id: 9\ndata: \n\n");
        assert_eq!(rendered(f, 9, 0, b"\n\n"), "id: 9\ndata: \ndata: \n\n");
        let j = Format::Sse { json: true };
        assert_eq!(
            rendered(j, 3, 1, b"q\n"),
            "event: lost\ndata: 1\n\nid: 3\ndata: {\"seq\":3,\"lost\":1,\"data\":\"q\\n\"}\n\n"
        );
    }
}
