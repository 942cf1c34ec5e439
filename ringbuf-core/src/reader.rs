//! Readers: independent cursors that never hold writers back.
//!
//! A reader walks frames in position order. At each position it knows the
//! seq the frame must carry, so it compares the frame's marker with exact
//! values (`frame`): a committed record is returned, skip and dead frames
//! are passed, anything else (pending, or not written yet) means "wait
//! here". Everything read is validated afterwards (`Shared::valid`): if the
//! tail passed the frame meanwhile, or the frame fell out of the retained
//! capacity, the copy is thrown away and the reader goes on from the oldest
//! retained record; the seqs it finds there tell how many it lost.

use std::io;
use std::time::Duration;

use crate::error::Error;
use crate::frame::{frame_size, Frame};
use crate::layout::pos_of;
use crate::shared::{ReaderSlot, Shared};
use crate::sync::{Arc, Deadline, Ordering, Spin};

/// The longest a reader sleeps at a record still being written before it
/// checks whether the ring lapped it (flushes likewise, `flush`): stalled
/// writers' claims can evict records without any commit to wake anyone.
pub(crate) const RECHECK: Duration = Duration::from_millis(10);

use crate::reap::STALL_UNWRITTEN;

/// In a ring file: the longest a reader sleeps without looking at the ring
/// (a file shrunk meanwhile is noticed then, `sigbus`).
const FILE_RECHECK: Duration = Duration::from_secs(1);

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
/// A record still being written holds the reader up at that point (records
/// come in seq order); the reader sleeps until its writer commits it.
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
    /// `None` for a reader made in the child of a fork (it refuses to read
    /// and must not touch the registry's lock).
    slot: Option<ReaderSlot>,
    /// Position of the next frame to look at (a frame boundary).
    pos: u64,
    /// The seq of the frame group at `pos`.
    next: u64,
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
    /// What was last published to `slot` (for flush): the seq before which
    /// this reader owes nothing, `max(next, want)`.
    published: u64,
    /// The last wait ended in sleep: the next one spins only briefly.
    idle: bool,
    /// Dead records passed since the last loss was accounted (`lost_total`
    /// counts them before a record after them reports them).
    dead_pending: u64,
    /// Where this reader last went to sleep at an unready frame (position,
    /// seq) and since when (a ring file's dead writers, `unstall`).
    #[cfg_attr(loom, allow(dead_code))]
    stall: Option<(u64, u64, std::time::Instant)>,
}

impl Reader {
    pub(crate) fn new(shared: Arc<Shared>, start: Start) -> Result<Reader, Error> {
        shared.check_fork()?;
        let (pos, next, want) = match start {
            Start::Oldest => {
                let o = shared.oldest();
                (o.pos, o.seq, o.seq)
            }
            Start::Newest => {
                let c = shared.claim_word();
                (pos_of(c), c.seq, c.seq)
            }
            Start::Seq(n) => {
                let c = shared.claim_word();
                if n >= c.seq {
                    (pos_of(c), c.seq, n)
                } else {
                    // From the oldest retained record; if `n` is gone, the
                    // first record found reports the gap as lost.
                    let o = shared.oldest();
                    (o.pos, o.seq, n)
                }
            }
        };
        let slot = shared.reader_add(want)?;
        Ok(Reader {
            shared,
            slot: Some(slot),
            pos,
            next,
            want,
            lost_pending: 0,
            lost_total: 0,
            stream_off: 0,
            published: want,
            idle: false,
            dead_pending: 0,
            stall: None,
        })
    }

    /// Finds the next record owed to the user, waiting until `deadline`.
    /// The record stays at `self.pos` until `deliver`; returns its length.
    fn locate(&mut self, deadline: Deadline) -> Result<u64, Error> {
        self.shared.check_fork()?;
        let mut spin = if self.idle { Spin::brief() } else { Spin::for_reader() };
        loop {
            let f = self.shared.frame(self.pos, self.next);
            match f {
                Frame::Record { len } if self.next >= self.want => {
                    // Not validated here: the copy is (`copy_payload`), and
                    // so is anything reported before one (`confirm`).
                    if self.next > self.want {
                        self.lost_pending += self.next - self.want;
                        self.lost_total += self.next - self.want;
                        self.want = self.next;
                        self.dead_pending = 0; // counted in the gap
                    }
                    return Ok(len);
                }
                // A record before the requested start, a skip, a dead
                // record: pass it, once its header is known to be whole.
                Frame::Record { .. } | Frame::Skip { .. } | Frame::Dead { .. } => {
                    if self.shared.valid(self.pos) {
                        self.pass(f);
                    } else {
                        self.evicted(f);
                    }
                }
                Frame::Pending { .. } | Frame::Unwritten => {
                    if !self.shared.valid(self.pos) && self.evicted(f) {
                        continue;
                    }
                    if self.shared.finished_at(self.pos) {
                        // The end: records lost after the last one found
                        // (dead ones, or evicted before dead ones) have no
                        // record after them to report them; count them now
                        // (the byte stream reports them, `read_timeout`).
                        if self.next > self.want {
                            self.lost_pending += self.next - self.want;
                            self.lost_total += self.next - self.want;
                            self.want = self.next;
                            self.dead_pending = 0;
                        }
                        return Err(Error::Closed);
                    }
                    if deadline.expired() {
                        return Err(Error::Timeout);
                    }
                    if spin.spin() {
                        self.idle = false;
                        continue;
                    }
                    self.idle = true;
                    if self.shared.is_file() {
                        self.shared.check_file()?;
                        if self.unstall(f) {
                            continue;
                        }
                    }
                    let (x, s, shared) = (self.pos, self.next, &*self.shared);
                    // A writer holds the frame (claimed, not committed): its
                    // commit wakes us, but so must the ring lapping it, which
                    // a claim can do without any commit (the writers
                    // stalled). Re-check at least every RECHECK then.
                    let claimed = pos_of(shared.claim_word()) > x;
                    let until = if claimed { deadline.at_most(RECHECK) } else { deadline };
                    let until = if shared.is_file() { until.at_most(FILE_RECHECK) } else { until };
                    shared.sleep(until, || {
                        !shared.unready(x, s)
                            || shared.header().tail.load(Ordering::Acquire).pos > x
                            || shared.finished_at(x)
                    });
                }
            }
        }
    }

    /// A ring file: the frame `f` at `pos` is not ready and this reader is
    /// about to sleep there. If it has waited there before: a pending record
    /// whose writer's process is gone is reaped (and then passed as dead,
    /// `reap`); a claimed frame with no header after STALL_UNWRITTEN is
    /// passed, counted as one lost record. True when the frame changed or
    /// the reader moved.
    #[cfg(not(loom))]
    fn unstall(&mut self, f: Frame) -> bool {
        if let Frame::Unwritten = f {
            // Tell writers since when this claim has had no header (they
            // pin a run of such claims once it blocked that long, `reap`).
            let _ = self.shared.stuck_run(self.pos, self.next);
        }
        let now = std::time::Instant::now();
        let waited = match self.stall {
            Some((p, s, since)) if p == self.pos && s == self.next => now.saturating_duration_since(since),
            _ => {
                self.stall = Some((self.pos, self.next, now));
                return false;
            }
        };
        match f {
            Frame::Pending { owner, .. } if waited >= RECHECK => self.shared.reap(self.pos, self.next, owner),
            Frame::Unwritten if waited >= STALL_UNWRITTEN => {
                let (x, s) = (self.pos, self.next);
                let run = self.shared.unwritten_extent(x, s).map(|e| (e, 1));
                let Some((ext, k)) = run.or_else(|| self.shared.unwritten_run(x, s)) else { return false };
                if !self.shared.valid(self.pos) {
                    return false; // lapped: `locate` finds out
                }
                self.pos = self.shared.geo.advance(self.pos, ext);
                self.next += k;
                self.stream_off = 0;
                if self.next > self.want {
                    self.dead_pending += (self.next - self.want).min(k);
                }
                self.publish();
                true
            }
            _ => false,
        }
    }

    #[cfg(loom)]
    fn unstall(&mut self, _f: Frame) -> bool {
        false
    }

    /// Moves past frame `f` at `pos`. Past a dead record (its loss is
    /// reported with the next record), flushes learn that this reader owes
    /// nothing before it: a dead record at the end must not hold them up.
    fn pass(&mut self, f: Frame) {
        if let Some(size) = f.size() {
            self.pos = self.shared.geo.advance(self.pos, size);
            self.next = f.next_seq(self.next);
            self.stream_off = 0;
            if matches!(f, Frame::Dead { .. }) {
                if self.next > self.want {
                    self.dead_pending += 1;
                }
                self.publish();
            }
        }
    }

    /// The frame at `pos` (read as `f`) was evicted, or fell out of the
    /// retained capacity: go on from the oldest retained record (its seq
    /// tells what was lost, `locate`). When the oldest cannot be found past
    /// `pos` (a writer between here and the retention boundary has not
    /// written its header yet), the frame is only out of the capacity, still
    /// intact: pass it if its size is known. False when the reader did not
    /// move (it waits for that writer).
    fn evicted(&mut self, f: Frame) -> bool {
        let o = self.shared.oldest();
        if o.pos > self.pos {
            self.pos = o.pos;
            self.next = o.seq;
            self.stream_off = 0;
            self.publish();
            return true;
        }
        if f.size().is_some() {
            self.pass(f);
            return true;
        }
        false
    }

    /// Before reporting anything about the record `locate` found (a loss, a
    /// BufSmall answer) without copying it: is it still there? If not, the
    /// reader moves on (the report would be stale) and says false.
    fn confirm(&mut self, len: u64) -> bool {
        if self.shared.valid(self.pos) {
            return true;
        }
        self.evicted(Frame::Record { len });
        false
    }

    /// Hands the record at `pos` (of `len` bytes) to the user: moves past it.
    fn deliver(&mut self, len: u64) -> u64 {
        self.pos = self.shared.geo.advance(self.pos, frame_size(len));
        self.want = self.next + 1;
        self.next += 1;
        self.stream_off = 0;
        self.publish();
        std::mem::take(&mut self.lost_pending)
    }

    /// Tells flushes how far this reader has read.
    /// Records before `max(next, want)` were read, skipped (before a
    /// `Start::Seq`) or lost (reported or about to be).
    fn publish(&mut self) {
        let past = self.next.max(self.want);
        if self.published != past {
            self.published = past;
            if let Some(slot) = &self.slot {
                if self.shared.reader_publish(slot, past) {
                    self.shared.wake();
                }
            }
        }
    }

    /// Copies `[off, off + dst.len())` of the payload of the record at `pos`;
    /// false (and the reader moved on) when it was evicted meanwhile.
    fn copy_payload(&mut self, len: u64, off: u64, dst: &mut [u8]) -> bool {
        self.shared.read_payload(self.pos, off, dst);
        if self.shared.valid(self.pos) {
            true
        } else {
            self.evicted(Frame::Record { len });
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
    /// * [`Error::Closed`] at the end of a closed ring;
    /// * [`Error::Forked`] in the child of a fork.
    pub fn next_into(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<RecordInfo, Error> {
        let deadline = Deadline::after(timeout);
        loop {
            let len = self.locate(deadline)?;
            if len as usize > buf.len() {
                if !self.confirm(len) {
                    continue;
                }
                return Err(Error::BufSmall { len: len as usize, seq: self.next, lost: self.lost_pending });
            }
            if self.copy_payload(len, 0, &mut buf[..len as usize]) {
                crate::fault_point!(ReaderBeforeDeliver);
                let seq = self.next;
                let lost = self.deliver(len);
                return Ok(RecordInfo { len: len as usize, seq, lost });
            }
        }
    }

    fn next_record(&mut self, deadline: Deadline) -> Result<Record, Error> {
        let mut data = Vec::new();
        loop {
            let len = self.locate(deadline)?;
            data.resize(len as usize, 0);
            if self.copy_payload(len, 0, &mut data) {
                crate::fault_point!(ReaderBeforeDeliver);
                let seq = self.next;
                let lost = self.deliver(len);
                return Ok(Record { seq, lost, data });
            }
        }
    }

    /// Waits for the next record, for as long as it takes.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] at the end of a closed ring, [`Error::Forked`] in
    /// the child of a fork.
    pub fn next_blocking(&mut self) -> Result<Record, Error> {
        self.next_record(Deadline::Never)
    }

    /// Waits up to `timeout` for the next record.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when none came in time, [`Error::Closed`] at the
    /// end of a closed ring, [`Error::Forked`] in the child of a fork.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Record, Error> {
        self.next_record(Deadline::after(Some(timeout)))
    }

    /// Returns the next record if there is one now.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when there is none yet, [`Error::Closed`] at the
    /// end of a closed ring, [`Error::Forked`] in the child of a fork.
    pub fn try_next(&mut self) -> Result<Record, Error> {
        self.next_record(Deadline::poll())
    }

    /// Waits up to `timeout` (`None`: forever) until the next record can be
    /// read, without reading it: the next `try_next` (or any read) returns
    /// it, with its `lost`. For event loops: a wait that is abandoned
    /// consumes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when no record came in time, [`Error::Closed`] at
    /// the end of a closed ring, [`Error::Forked`] in the child of a fork.
    pub fn wait_ready(&mut self, timeout: Option<Duration>) -> Result<(), Error> {
        self.locate(Deadline::after(timeout)).map(|_| ())
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
    /// * [`Error::Timeout`], [`Error::Closed`], [`Error::Forked`] as for
    ///   [`Reader::next_into`].
    pub fn read_timeout(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut deadline = Deadline::after(timeout);
        let mut n = 0;
        loop {
            let len = match self.locate(deadline) {
                Ok(len) => len,
                Err(_) if n > 0 => return Ok(n),
                // Records lost after the last one read (dead ones at the end
                // of a closed ring): the loss first, then the end.
                Err(Error::Closed) if self.lost_pending > 0 => {
                    self.publish();
                    return Err(Error::Lost { records: std::mem::take(&mut self.lost_pending) });
                }
                Err(e) => return Err(e),
            };
            if self.lost_pending > 0 {
                if n > 0 {
                    return Ok(n); // the bytes first, the loss on the next call
                }
                if !self.confirm(len) {
                    continue;
                }
                return Err(Error::Lost { records: std::mem::take(&mut self.lost_pending) });
            }
            let take = (len - self.stream_off).min((buf.len() - n) as u64) as usize;
            let off = self.stream_off;
            if !self.copy_payload(len, off, &mut buf[n..n + take]) {
                continue; // `locate` finds the loss
            }
            n += take;
            self.stream_off += take as u64;
            if self.stream_off == len {
                self.deliver(len);
            }
            if n == buf.len() {
                return Ok(n);
            }
            if n > 0 {
                deadline = Deadline::poll(); // have bytes: do not wait for more
            }
        }
    }

    /// Records this reader has found lost since it was created: overwritten
    /// before it read them (counted when it finds the record after them), or
    /// dead (their write failed inside ringlog; counted when it passes them,
    /// also at the end of a closed ring, where no record comes after them to
    /// report them: there, read + `lost_total` = written).
    pub fn lost_total(&self) -> u64 {
        self.lost_total + self.dead_pending
    }

    /// True in the child of a fork that happened after the ring was made:
    /// the reader refuses to read ([`Error::Forked`]).
    pub fn is_forked(&self) -> bool {
        self.shared.forked()
    }
}

impl Iterator for Reader {
    type Item = Result<Record, Error>;

    /// Blocks until the next record. `None` at the end of a closed ring;
    /// any other error (a fork, say) is an `Err` item, never the end.
    fn next(&mut self) -> Option<Result<Record, Error>> {
        match self.next_record(Deadline::Never) {
            Err(Error::Closed) => None,
            other => Some(other),
        }
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
        if self.shared.forked() {
            return; // the registry's lock may be held by a thread the child lacks
        }
        if let Some(slot) = self.slot.take() {
            if self.shared.reader_remove(&slot) {
                self.shared.wake();
            }
        }
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("pos", &self.pos).field("want", &self.want).finish_non_exhaustive()
    }
}
