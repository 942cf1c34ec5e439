//! Readers: independent cursors that never hold writers back.

use std::io;
use std::time::Duration;

use crate::error::Error;
use crate::frame::{self, Frame, HEADER_LEN};
use crate::registry::Slot;
use crate::shared::{pos_of, Peek, Shared};
use crate::sync::{Arc, Deadline, Ordering, Spin};

/// Where a new reader starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// At the oldest record the ring retains: replay, then follow.
    Oldest,
    /// After the newest record: only records written from now on (`tail -f`).
    Newest,
    /// At the record with this seq. If it was evicted already, at the oldest
    /// retained record, with the gap reported as `lost`; if it is not
    /// written yet, the reader waits for it.
    Seq(u64),
}

/// One record as a reader returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The record's sequence number.
    pub seq: u64,
    /// Records this reader lost to overwriting just before this one.
    pub lost: u64,
    /// The bytes written.
    pub data: Vec<u8>,
}

/// What a read into a caller's buffer produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordInfo {
    /// Bytes copied (the record's length).
    pub len: usize,
    /// The record's sequence number.
    pub seq: u64,
    /// Records this reader lost to overwriting just before this one.
    pub lost: u64,
}

/// An independent cursor over a ring.
///
/// A reader sees every record from its start on, in order, each whole; when
/// writers overwrite records it had not read yet, the next record it returns
/// says how many it lost (`lost`), and reading goes on from the oldest
/// retained record. For a reader that started at seq `s`, the records read
/// plus the `lost` reported always add up to every record written since `s`.
///
/// Reading blocks ([`Iterator::next`], [`io::Read`]), waits up to a timeout
/// ([`Reader::next_timeout`]) or only polls ([`Reader::try_next`]); waiting
/// readers sleep and cost writers nothing. A reader keeps the ring's memory
/// alive: it may outlive every [`Ring`](crate::Ring) handle, and then reads
/// what the ring holds and reaches the end.
///
/// A reader is used by one thread at a time (`&mut self`); it can move
/// between threads.
pub struct Reader {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    /// Position of the next record to look at (a record boundary).
    pos: u64,
    /// Seq of the next record owed to the user. Records before it are
    /// skipped silently (a `Start::Seq` in the future); a record after it
    /// means the ones between were lost.
    want: u64,
    /// Records lost before the record at `pos`, not yet reported.
    lost_pending: u64,
    /// Records lost so far, reported or not.
    lost_total: u64,
    /// Bytes of the record at `pos` already returned by the byte stream.
    stream_off: u64,
    /// The `want` last published to `slot` (for flush).
    published: u64,
    /// `head` as last read: records below it are committed, so the reader
    /// reads `head` (a line every commit changes) only when it gets there.
    head_seen: u64,
}

impl Shared {
    /// Position and seq for a reader that wants only records written after
    /// now. Reads `head` (Acquire) before `next_seq`: the commit that set
    /// `head` stored `next_seq` first, so `seq` is at least the seq of the
    /// record at `pos`; records in between are skipped by `want`.
    fn newest(&self) -> (u64, u64) {
        let pos = self.head();
        let seq = self.region.header().next_seq.load(Ordering::Acquire);
        (pos, seq)
    }

    /// Position and seq of the oldest retained record.
    fn oldest(&self) -> (u64, u64) {
        loop {
            let head = self.head();
            let tail = self.tail();
            if tail < head {
                if let Peek::Record(f) = self.peek(tail) {
                    return (tail, f.seq);
                }
                continue; // evicted while we looked: again
            }
            // Nothing retained when `head` was read. `next_seq` must be read
            // against an unchanged `head`: commits in between would make it
            // run ahead of the records at `head` (a reader would then skip
            // them unseen).
            let next = self.region.header().next_seq.load(Ordering::Acquire);
            if self.head() != head {
                continue;
            }
            // With `head` unchanged, `next` is the seq of the record at
            // `head` or one more: a commit may sit between its `next_seq`
            // store and its `head` RMW. Then record `next - 1` is at `head`,
            // its header already written (the Acquire above made it
            // visible), and it belongs to this reader. Bytes left at `head`
            // by older records carry older seqs.
            if next > 0 {
                let w0 = self.region.word(head).load(Ordering::Relaxed);
                let w1 = self.region.word(head + 8).load(Ordering::Relaxed);
                if !self.valid_after(head) {
                    continue;
                }
                if frame::decode(w0, w1).is_some_and(|f| f.seq == next - 1) {
                    return (head, next - 1);
                }
            }
            return (head, next);
        }
    }
}

impl Reader {
    pub(crate) fn new(shared: Arc<Shared>, start: Start) -> Reader {
        let (pos, want) = match start {
            Start::Oldest => shared.oldest(),
            Start::Newest => shared.newest(),
            Start::Seq(n) => {
                let (head, next) = shared.newest();
                if n >= next {
                    (head, n)
                } else {
                    // Walk from the oldest retained record; if `n` is gone,
                    // the first record found reports the gap as lost.
                    (shared.tail(), n)
                }
            }
        };
        // In the child of a fork the registry's lock may be held by a thread
        // that is gone: do not touch it (the reader refuses to read anyway).
        let slot = if shared.forked() { Slot::detached(want) } else { shared.registry.add(want) };
        Reader { shared, slot, pos, want, lost_pending: 0, lost_total: 0, stream_off: 0, published: want, head_seen: 0 }
    }

    /// Finds the next record owed to the user, waiting until `deadline`.
    /// The record stays at `self.pos` until `deliver`.
    fn locate(&mut self, deadline: Deadline) -> Result<Frame, Error> {
        if self.shared.forked() {
            return Err(Error::Forked);
        }
        let mut spin = Spin::for_reader();
        loop {
            if self.pos >= self.head_seen {
                self.head_seen = self.shared.head();
            }
            if self.pos >= self.head_seen {
                if self.shared.finished_at(self.pos) {
                    return Err(self.shared.end_error());
                }
                if deadline == Deadline::Never || !deadline.expired() {
                    if spin.spin() {
                        continue;
                    }
                    let pos = self.pos;
                    let shared = &*self.shared;
                    if shared.sleep_on_head(deadline, |word| pos_of(word) <= pos && !shared.finished_at(pos)) {
                        continue;
                    }
                }
                return Err(Error::Timeout);
            }
            match self.shared.peek(self.pos) {
                Peek::Lapped => self.lapped(),
                Peek::Record(f) if f.seq < self.want => {
                    self.pos += f.size(); // before the requested start
                }
                Peek::Record(f) => {
                    if f.seq > self.want {
                        self.lost_pending += f.seq - self.want;
                        self.lost_total += f.seq - self.want;
                        self.want = f.seq;
                    }
                    return Ok(f);
                }
            }
        }
    }

    /// The record at `pos` was evicted under us: go on from the oldest one.
    /// The seq found there tells how many were lost (`locate`).
    fn lapped(&mut self) {
        self.pos = self.shared.tail();
        self.stream_off = 0;
    }

    /// Hands the record at `pos` to the user: moves past it.
    fn deliver(&mut self, f: Frame) -> u64 {
        self.pos += f.size();
        self.want = f.seq + 1;
        self.stream_off = 0;
        self.publish();
        std::mem::take(&mut self.lost_pending)
    }

    /// Tells flushes how far this reader has read.
    fn publish(&mut self) {
        if self.published != self.want {
            self.published = self.want;
            self.slot.publish(self.want, &self.shared);
        }
    }

    /// Copies `[off, off + dst.len())` of the payload of the record at `pos`;
    /// false (and the reader moved to `tail`) when it was evicted meanwhile.
    fn copy_payload(&mut self, off: u64, dst: &mut [u8]) -> bool {
        self.shared.region.read_bytes(self.pos + HEADER_LEN + off, dst);
        if self.shared.valid_after(self.pos) {
            true
        } else {
            self.lapped();
            false
        }
    }

    /// Reads the next record into `buf`.
    ///
    /// `timeout`: `None` waits for as long as it takes, `Some(ZERO)` only
    /// polls. On success the record's bytes are in `buf[..info.len]`.
    ///
    /// # Errors
    ///
    /// * [`Error::BufSmall`] when `buf` is too short: it carries the length
    ///   needed, and the record stays next (with its `lost`);
    /// * [`Error::Timeout`] when no record came in time;
    /// * [`Error::Closed`] at the end of a closed ring.
    pub fn next_into(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<RecordInfo, Error> {
        let deadline = Deadline::after(timeout);
        loop {
            let f = self.locate(deadline)?;
            let len = f.len as usize;
            if len > buf.len() {
                return Err(Error::BufSmall { len, seq: f.seq, lost: self.lost_pending });
            }
            if self.copy_payload(0, &mut buf[..len]) {
                crate::fault_point!(ReaderBeforeDeliver);
                let lost = self.deliver(f);
                return Ok(RecordInfo { len, seq: f.seq, lost });
            }
        }
    }

    fn next_record(&mut self, deadline: Deadline) -> Result<Record, Error> {
        let mut data = Vec::new();
        loop {
            let f = self.locate(deadline)?;
            data.resize(f.len as usize, 0);
            if self.copy_payload(0, &mut data) {
                crate::fault_point!(ReaderBeforeDeliver);
                let lost = self.deliver(f);
                return Ok(Record { seq: f.seq, lost, data });
            }
        }
    }

    /// Waits up to `timeout` for the next record.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when none came in time, [`Error::Closed`] at the
    /// end of a closed ring.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Record, Error> {
        self.next_record(Deadline::after(Some(timeout)))
    }

    /// Returns the next record if there is one now.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when there is none yet, [`Error::Closed`] at the
    /// end of a closed ring.
    pub fn try_next(&mut self) -> Result<Record, Error> {
        self.next_record(Deadline::poll())
    }

    /// Reads the byte stream: the payloads of consecutive records back to
    /// back, a record possibly split across calls. Waits up to `timeout`
    /// for the first byte (`None`: forever), then returns what is there
    /// without waiting more. `Ok(0)` only for an empty `buf`.
    ///
    /// # Errors
    ///
    /// * [`Error::Lost`] once when records were overwritten before this
    ///   reader read them (also in the middle of a record); the next call
    ///   goes on from the start of the oldest retained record;
    /// * [`Error::Timeout`], [`Error::Closed`] as for [`Reader::next_into`].
    pub fn read_timeout(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut deadline = Deadline::after(timeout);
        let mut n = 0;
        loop {
            let f = match self.locate(deadline) {
                Ok(f) => f,
                Err(e) if n == 0 => return Err(e),
                Err(_) => return Ok(n),
            };
            if self.lost_pending > 0 {
                if n > 0 {
                    return Ok(n); // the bytes first, the loss on the next call
                }
                return Err(Error::Lost { records: std::mem::take(&mut self.lost_pending) });
            }
            let take = (f.len - self.stream_off).min((buf.len() - n) as u64) as usize;
            let off = self.stream_off;
            if !self.copy_payload(off, &mut buf[n..n + take]) {
                continue; // `locate` finds the loss
            }
            n += take;
            self.stream_off += take as u64;
            if self.stream_off == f.len {
                self.deliver(f);
            }
            if n == buf.len() {
                return Ok(n);
            }
            if n > 0 {
                deadline = Deadline::poll(); // have bytes: do not wait for more
            }
        }
    }

    /// Records this reader has lost to overwriting since it was created.
    pub fn lost_total(&self) -> u64 {
        self.lost_total
    }

    /// True in the child of a fork that happened after the ring was made:
    /// the reader refuses to read ([`Error::Forked`]).
    pub fn is_forked(&self) -> bool {
        self.shared.forked()
    }
}

impl Iterator for Reader {
    type Item = Record;

    /// Blocks until the next record; `None` at the end of a closed ring.
    fn next(&mut self) -> Option<Record> {
        self.next_record(Deadline::Never).ok()
    }
}

impl io::Read for Reader {
    /// The byte stream, blocking until there is a byte. `Ok(0)` at the end
    /// of a closed ring. A loss is an error of kind `Other` wrapping
    /// [`Error::Lost`], once; reading may go on after it.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.read_timeout(buf, None) {
            Ok(n) => Ok(n),
            Err(Error::Closed) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if !self.shared.forked() {
            self.shared.registry.remove(&self.slot, &self.shared);
        }
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("pos", &self.pos).field("want", &self.want).finish_non_exhaustive()
    }
}
