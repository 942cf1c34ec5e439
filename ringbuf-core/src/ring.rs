//! `Ring`, the handle writers, flushers and reader factories hold.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::error::Error;
use crate::flush::FlushPoint;
use crate::layout::pos_of;
use crate::reader::{Reader, Start};
use crate::shared::Shared;
use crate::sync::{Arc, Deadline, Ordering};

/// Smallest capacity a ring accepts: 1 KiB.
pub const MIN_CAPACITY: usize = 1 << 10;
/// Largest capacity a ring accepts: 1 TiB.
pub const MAX_CAPACITY: u64 = 1 << 40;

/// A fixed in-memory ring of log records.
///
/// Any number of threads write through clones of a `Ring` (cloning is one
/// atomic increment); any number of [`Reader`]s read, each at its own pace.
/// A write never waits for a reader or for another writer: a reader that
/// falls behind is lapped and told how many records it lost; a writer that
/// is preempted in the middle of its record holds up no other writer.
///
/// When the last `Ring` handle is dropped nobody can write any more, so the
/// ring closes: its readers drain what it holds and then reach the end.
///
/// ```
/// use ringbuf_core::{Ring, Start};
///
/// let ring = Ring::new(64 * 1024)?;
/// let mut reader = ring.reader(Start::Oldest)?;
/// ring.write(b"hello")?;
/// let rec = reader.try_next()?;
/// assert_eq!((rec.seq, rec.lost, &rec.data[..]), (0, 0, &b"hello"[..]));
/// # Ok::<(), ringbuf_core::Error>(())
/// ```
pub struct Ring {
    shared: Arc<Shared>,
}

/// Counters describing a ring, for monitoring and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Records written (claimed) so far: the next record's seq.
    pub written: u64,
    /// Seq of the oldest retained record (`written` when none is retained).
    pub oldest_seq: u64,
    /// Bytes the retained records occupy, framing included.
    pub bytes_used: u64,
    /// Writes refused with [`Error::Busy`].
    pub dropped: u64,
    /// Readers alive now (in every process, for a ring in a file).
    pub readers: u64,
    /// The ring's capacity in bytes.
    pub capacity: u64,
    /// The largest record the ring takes, in bytes.
    pub max_record: u64,
    /// True once the ring is closed.
    pub closed: bool,
    /// Times a write or close woke sleeping readers or flushes. Writes that
    /// found nobody asleep do not count: they made no system call.
    pub wakeups: u64,
    /// A ring in a file: records whose writer's process died in the middle
    /// of them, turned into lost records.
    pub reaped: u64,
    /// A ring in a file: times an opener found no other handle with the
    /// file open, checked every frame and repaired what dead processes
    /// left (if anything).
    pub recoveries: u64,
}

impl Ring {
    /// Creates a ring of `capacity` bytes, per-record framing included,
    /// rounded up to a power of two.
    ///
    /// Each record costs its length plus 16 bytes of header plus padding to
    /// a multiple of 8 (at most 23 bytes of framing). The largest record the
    /// ring takes is [`Ring::max_record`], a quarter of the capacity. The
    /// memory used is the capacity plus a slack of capacity / 16 (at least
    /// 64 bytes, at most 4 KiB) and a 2 KiB header.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `capacity` is outside 1 KiB..=1 TiB
    /// (or the CPU has no 16-byte compare-and-swap), [`Error::NoMemory`]
    /// when the memory cannot be allocated (no abort).
    pub fn new(capacity: usize) -> Result<Ring, Error> {
        if capacity < MIN_CAPACITY || capacity as u64 > MAX_CAPACITY {
            return Err(Error::InvalidArgument("capacity must be between 1 KiB and 1 TiB"));
        }
        Self::with_capacity_unchecked(capacity as u64)
    }

    /// Opens the ring that lives in the file at `path`, creating it if it
    /// does not exist: the flight recorder.
    ///
    /// A missing file is created with mode 0600 and `capacity` bytes,
    /// rounded as for [`Ring::new`] (the file is 20 KiB of header and
    /// tables, then the capacity plus its slack; its size never changes).
    /// An existing ring file is opened as it is: `capacity` must be 0 or
    /// its capacity. Any number of threads in any number of processes may
    /// have the same file open, with the same semantics as a ring in memory
    /// (one order of seqs, readers woken across processes, flush waiting
    /// for readers in every process, close seen by all).
    ///
    /// Unlike a ring in memory, the ring outlives its handles and its
    /// processes: dropping the last handle does not close it, and whatever
    /// was committed stays in the file when the process crashes. A closed
    /// ring is opened again for writing (the program's next run goes on
    /// with the next seq). A writer killed in the middle of a record loses
    /// that record only: readers pass it, counted as lost, within 10 ms of
    /// its process being gone, or
    /// [`STALL_UNWRITTEN`](crate::STALL_UNWRITTEN) if it died before writing
    /// the record's header.
    ///
    /// # Errors
    ///
    /// [`Error::BadFile`] when the file is not a ring file, has another
    /// format version, is truncated or corrupt (the file is left
    /// untouched); [`Error::Io`] with the errno when a system call fails
    /// (a missing directory, no permission; a missing file with `capacity`
    /// 0); [`Error::InvalidArgument`] when `capacity` is out of range or
    /// differs from the existing ring's; [`Error::Busy`] when 255 handles
    /// have the file open already.
    #[cfg(all(unix, not(loom)))]
    pub fn open_file(path: impl AsRef<std::path::Path>, capacity: usize) -> Result<Ring, Error> {
        Self::open_file_mode(path.as_ref(), capacity, true)
    }

    /// [`Ring::open_file`] for tools that only look at a ring (dump, tail):
    /// never creates the file and leaves a closed ring closed.
    ///
    /// # Errors
    ///
    /// As [`Ring::open_file`]; a missing file is [`Error::Io`] (ENOENT).
    #[cfg(all(unix, not(loom)))]
    pub fn open_existing(path: impl AsRef<std::path::Path>) -> Result<Ring, Error> {
        Self::open_file_mode(path.as_ref(), 0, false)
    }

    #[cfg(all(unix, not(loom)))]
    fn open_file_mode(path: &std::path::Path, capacity: usize, reopen: bool) -> Result<Ring, Error> {
        if capacity != 0 && (capacity < MIN_CAPACITY || capacity as u64 > MAX_CAPACITY) {
            return Err(Error::InvalidArgument("capacity must be 0 (an existing file) or between 1 KiB and 1 TiB"));
        }
        let capacity = if capacity == 0 { 0 } else { (capacity as u64).next_power_of_two() };
        let mode = crate::file::OpenMode { capacity, reopen };
        Ok(Ring { shared: Arc::new(Shared::open_file(path, mode)?) })
    }

    /// True for a ring that lives in a file ([`Ring::open_file`]).
    pub fn is_file(&self) -> bool {
        self.shared.is_file()
    }

    /// Creates a ring with any power-of-two capacity, for models that need
    /// rings far smaller than users may make (loom, unit tests).
    #[doc(hidden)]
    pub fn with_capacity_unchecked(capacity: u64) -> Result<Ring, Error> {
        let capacity = capacity.clamp(64, MAX_CAPACITY).next_power_of_two();
        Ok(Ring { shared: Arc::new(Shared::new(capacity)?) })
    }

    /// The ring's size in bytes, framing included.
    pub fn capacity(&self) -> usize {
        self.shared.geo.cap as usize
    }

    /// The largest record the ring takes, in bytes (capacity / 4).
    pub fn max_record(&self) -> usize {
        self.shared.max_record as usize
    }

    /// Appends one record holding `data`, whole, and returns its seq. The
    /// record is visible to every reader once this returns (and every
    /// record before it is committed).
    ///
    /// Never waits for a reader or for another writer, never allocates, and
    /// makes a system call only to wake readers that sleep. Async-signal-
    /// safe. Empty records are valid.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] when `data` is longer than [`Ring::max_record`]
    /// (nothing is written), [`Error::Closed`] after [`Ring::close`],
    /// [`Error::Busy`] when the room to claim is held by records still
    /// being written and cannot be freed within
    /// [`BUSY_WAIT`](crate::BUSY_WAIT) (only in a ring too small for its
    /// writers; counted in [`Stats::dropped`]), [`Error::Forked`] in the
    /// child of a fork.
    pub fn write(&self, data: &[u8]) -> Result<u64, Error> {
        self.shared.write_parts([data], data.len() as u64)
    }

    /// Appends one record made of `parts`, back to back; as
    /// [`Ring::write`] (also async-signal-safe, no allocation).
    ///
    /// # Errors
    ///
    /// As [`Ring::write`].
    pub fn writev(&self, parts: &[&[u8]]) -> Result<u64, Error> {
        self.write_parts(parts.iter().copied())
    }

    /// [`Ring::writev`] over any iterator of parts (iterated twice: once
    /// for the length, once to copy), e.g. over a C array of slices.
    ///
    /// # Errors
    ///
    /// As [`Ring::write`].
    pub fn write_parts<'p, I>(&self, parts: I) -> Result<u64, Error>
    where
        I: IntoIterator<Item = &'p [u8]> + Clone,
    {
        let len = parts.clone().into_iter().try_fold(0u64, |n, p| n.checked_add(p.len() as u64)).unwrap_or(u64::MAX);
        self.shared.write_parts(parts, len)
    }

    /// True in the child of a fork that happened after the ring was made:
    /// the ring refuses to work there ([`Error::Forked`]; see [`crate::fork`]).
    pub fn is_forked(&self) -> bool {
        self.shared.forked()
    }

    /// A new reader starting at `start`. Readers may be created at any time,
    /// also after close.
    ///
    /// # Errors
    ///
    /// [`Error::Forked`] in the child of a fork.
    pub fn reader(&self, start: Start) -> Result<Reader, Error> {
        Reader::new(self.shared.clone(), start)
    }

    /// Waits until every reader that exists now has read past every record
    /// written before this call (or was lapped past it, or was dropped).
    /// Never blocks writers. Returns at once when there are no readers.
    ///
    /// # Errors
    ///
    /// [`Error::Forked`] in the child of a fork.
    pub fn flush(&self) -> Result<(), Error> {
        self.start_flush()?.wait()
    }

    /// [`Ring::flush`], giving up after `timeout`. A zero timeout only
    /// checks.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the readers did not catch up in time,
    /// [`Error::Forked`] in the child of a fork.
    pub fn flush_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.start_flush()?.wait_timeout(timeout)
    }

    /// Starts a flush without waiting: fixes the flush point (everything
    /// written before this call) and the readers to wait for (those that
    /// exist now). Wait on it with [`Flush::wait_timeout`], as often as
    /// needed: for example in slices, checking for interrupts in between.
    ///
    /// # Errors
    ///
    /// [`Error::Forked`] in the child of a fork.
    pub fn start_flush(&self) -> Result<Flush, Error> {
        Ok(Flush { shared: self.shared.clone(), point: self.shared.flush_point()? })
    }

    /// Closes the ring: writes fail with [`Error::Closed`] from now on;
    /// readers read what the ring holds, then reach the end. Idempotent.
    ///
    /// # Errors
    ///
    /// [`Error::Forked`] in the child of a fork.
    pub fn close(&self) -> Result<(), Error> {
        self.shared.check_fork()?;
        self.shared.close();
        Ok(())
    }

    /// True once the ring is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Copies every retained record's bytes, oldest first, back to back:
    /// the "dump the last N bytes" call. The result never exceeds the
    /// capacity. Writers keep writing meanwhile; records they evict during
    /// the copy are left out, and so are records still being written.
    ///
    /// # Errors
    ///
    /// [`Error::NoMemory`] when the copy cannot be allocated,
    /// [`Error::Forked`] in the child of a fork.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        self.shared.snapshot()
    }

    /// [`Ring::snapshot`] into `buf`, without allocating: returns the
    /// length copied. Async-signal-safe.
    ///
    /// # Errors
    ///
    /// [`Error::BufSmall`] (with the length needed in `len`) when `buf` is
    /// too short; [`Error::Forked`] in the child of a fork.
    pub fn snapshot_into(&self, buf: &mut [u8]) -> Result<usize, Error> {
        self.shared.snapshot_into(buf)
    }

    /// Writes the snapshot to the file descriptor `fd` with `write(2)`
    /// only: no allocation, no lock, async-signal-safe (the crash
    /// handler's call). Records up to 4 KiB are written whole or not at
    /// all; a longer one evicted while it is being written appears cut.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] with the errno when `write(2)` fails, [`Error::Forked`]
    /// in the child of a fork.
    #[cfg(unix)]
    pub fn dump_fd(&self, fd: std::os::fd::RawFd) -> Result<(), Error> {
        self.shared.dump_fd(fd)
    }

    /// A copy of the ring's whole memory region (header and data), the bytes
    /// a mapped ring file would hold; [`crate::image::parse`] reads it back.
    #[cfg(not(loom))]
    pub fn region_image(&self) -> Vec<u8> {
        self.shared.image()
    }

    /// Counters describing the ring.
    pub fn stats(&self) -> Stats {
        let sh = &self.shared;
        let h = sh.header();
        let c = sh.claim_word();
        let oldest = sh.oldest();
        let end = pos_of(sh.claim_word()).max(oldest.pos);
        Stats {
            written: c.seq,
            oldest_seq: oldest.seq.min(c.seq),
            bytes_used: sh.geo.dist(end, oldest.pos),
            dropped: h.dropped.load(Ordering::Relaxed),
            readers: sh.readers_count(),
            capacity: sh.geo.cap,
            max_record: sh.max_record,
            closed: c.pos & crate::layout::CLOSED != 0,
            wakeups: h.wakeups.load(Ordering::Relaxed),
            reaped: h.reaped.load(Ordering::Relaxed),
            recoveries: h.recoveries.load(Ordering::Relaxed),
        }
    }
}

/// A flush in progress; see [`Ring::start_flush`].
pub struct Flush {
    shared: Arc<Shared>,
    point: FlushPoint,
}

impl Flush {
    /// Waits for the flush to complete, for as long as it takes.
    ///
    /// # Errors
    ///
    /// [`Error::Forked`] in the child of a fork.
    pub fn wait(&self) -> Result<(), Error> {
        self.shared.flush_wait(&self.point, Deadline::Never)
    }

    /// Waits up to `timeout` for the flush to complete. A zero timeout only
    /// checks.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when it did not complete in time,
    /// [`Error::Forked`] in the child of a fork.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.shared.flush_wait(&self.point, Deadline::after(Some(timeout)))
    }
}

impl fmt::Debug for Flush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flush").finish_non_exhaustive()
    }
}

impl Clone for Ring {
    /// Another handle to the same ring.
    fn clone(&self) -> Ring {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Ring { shared: self.shared.clone() }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // AcqRel: the last handle's close sees every other handle's writes.
        // A ring in a file outlives its handles (and its processes).
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 && !self.shared.forked() && !self.shared.is_file() {
            self.shared.close();
        }
    }
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("capacity", &self.capacity())
            .field("max_record", &self.max_record())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// `io::Write` on a ring: each `write` call appends exactly one record, and
/// each `write!` / `writeln!` is formatted whole first, so it too becomes one
/// record (into a 1 KiB stack buffer; longer lines allocate).
///
/// `io::Write::flush` does nothing: the record is in the ring once `write`
/// returns. To wait for readers, call [`Ring::flush`].
impl io::Write for &Ring {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ring::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        if let Some(s) = args.as_str() {
            Ring::write(self, s.as_bytes())?;
            return Ok(());
        }
        let mut line = crate::line::Line::new();
        fmt::Write::write_fmt(&mut line, args).map_err(|_| io::Error::other("formatting failed"))?;
        Ring::write(self, line.as_bytes())?;
        Ok(())
    }
}

/// Same as `io::Write for &Ring`.
impl io::Write for Ring {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::Write::write(&mut &*self, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        io::Write::write_fmt(&mut &*self, args)
    }
}

/// A record claimed and written but not committed: the state of a writer
/// stopped in the middle of its write. For tests (loom models, stalled
/// writers); not part of the API.
#[doc(hidden)]
pub struct PendingWrite {
    shared: Arc<Shared>,
    claim: Option<crate::write::Claim>,
    data: Vec<u8>,
}

impl Ring {
    /// Claims and writes a record without committing it.
    ///
    /// # Errors
    ///
    /// As [`Ring::write`].
    #[doc(hidden)]
    pub fn begin_write(&self, data: &[u8]) -> Result<PendingWrite, Error> {
        let claim = self.shared.begin(data.len() as u64, false)?;
        self.shared.copy_parts(claim, [data], data.len() as u64);
        Ok(PendingWrite { shared: self.shared.clone(), claim: Some(claim), data: data.to_vec() })
    }

    /// 1 when a reader announced it sleeps and no write has woken it since
    /// (tests).
    #[doc(hidden)]
    pub fn sleeping_readers(&self) -> u32 {
        self.shared.header().sleepers.load(Ordering::Acquire)
    }

    /// Pins in use (stalled records the ring writes around).
    #[doc(hidden)]
    pub fn pins_in_use(&self) -> u32 {
        self.shared.header().pins_mask.load(Ordering::Acquire).count_ones()
    }
}

impl PendingWrite {
    /// Commits the record; its seq.
    pub fn commit(mut self) -> u64 {
        self.shared.commit(self.claim.take().expect("not committed yet"))
    }

    /// True when nobody wrote over the record's payload.
    pub fn intact(&self) -> bool {
        self.claim.is_some_and(|c| self.shared.intact_payload(c, &[&self.data]))
    }
}

impl Drop for PendingWrite {
    fn drop(&mut self) {
        if let Some(c) = self.claim.take() {
            self.shared.abandon(c);
        }
    }
}
