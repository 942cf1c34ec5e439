//! `Ring`, the handle writers, flushers and reader factories hold.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::error::Error;
use crate::reader::{Reader, Start};
use crate::region::Region;
use crate::registry::FlushPoint;
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
/// A write never waits for a reader: a reader that falls behind is lapped
/// and told how many records it lost.
///
/// When the last `Ring` handle is dropped nobody can write any more, so the
/// ring closes: its readers drain what it holds and then reach the end.
///
/// ```
/// use ringbuf_core::{Ring, Start};
///
/// let ring = Ring::new(64 * 1024)?;
/// let mut reader = ring.reader(Start::Oldest);
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
    /// Records written since the ring was created (the next record's seq).
    pub written: u64,
    /// Readers alive now.
    pub readers: usize,
    /// Times a write or close woke sleeping readers or flushes. Writes that
    /// found nobody asleep do not count: they made no system call.
    pub wakeups: u64,
}

impl Ring {
    /// Creates a ring of `capacity` bytes, per-record framing included,
    /// rounded up to a power of two.
    ///
    /// Each record costs its length plus 16 bytes of header plus padding to
    /// a multiple of 8 (at most 23 bytes of framing). The largest record the
    /// ring takes is [`Ring::max_record`], a quarter of the capacity.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `capacity` is outside 1 KiB..=1 TiB,
    /// [`Error::NoMemory`] when the memory cannot be allocated (no abort).
    pub fn new(capacity: usize) -> Result<Ring, Error> {
        if capacity < MIN_CAPACITY || capacity as u64 > MAX_CAPACITY {
            return Err(Error::InvalidArgument("capacity must be between 1 KiB and 1 TiB"));
        }
        Self::with_capacity_unchecked(capacity as u64)
    }

    /// Creates a ring with any power-of-two capacity, for models that need
    /// rings far smaller than users may make (loom, unit tests).
    #[doc(hidden)]
    pub fn with_capacity_unchecked(capacity: u64) -> Result<Ring, Error> {
        let capacity = capacity.clamp(64, MAX_CAPACITY).next_power_of_two();
        let region = Region::new(capacity, capacity / 4)?;
        Ok(Ring { shared: Arc::new(Shared::new(region)) })
    }

    /// The ring's size in bytes, framing included.
    pub fn capacity(&self) -> usize {
        self.shared.capacity as usize
    }

    /// The largest record the ring takes, in bytes (capacity / 4).
    pub fn max_record(&self) -> usize {
        self.shared.max_record as usize
    }

    /// Appends one record holding `data`, whole, and returns its seq. The
    /// record is visible to every reader when this returns.
    ///
    /// Never waits for a reader, never allocates; it may wait a moment for
    /// other writers. Empty records are valid.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] when `data` is longer than [`Ring::max_record`]
    /// (nothing is written), [`Error::Closed`] after [`Ring::close`].
    pub fn write(&self, data: &[u8]) -> Result<u64, Error> {
        self.shared.write(data)
    }

    /// True in the child of a fork that happened after the ring was made:
    /// the ring refuses to work there ([`Error::Forked`]; see [`crate::fork`]).
    pub fn is_forked(&self) -> bool {
        self.shared.forked()
    }

    /// True once a panic inside ringlog interrupted a write: the ring then
    /// refuses writes ([`Error::Poisoned`]) and readers end after the
    /// records committed before it.
    pub fn is_poisoned(&self) -> bool {
        self.shared.is_poisoned()
    }

    /// A new reader starting at `start`. Readers may be created at any time,
    /// also after close.
    pub fn reader(&self, start: Start) -> Reader {
        Reader::new(self.shared.clone(), start)
    }

    /// Waits until every reader that exists now has read past every record
    /// written before this call (or was lapped past it, or was dropped).
    /// Never blocks writers. Returns at once when there are no readers.
    /// In the child of a fork, returns at once without waiting.
    pub fn flush(&self) {
        self.shared.flush_until(Deadline::Never);
    }

    /// [`Ring::flush`], giving up after `timeout`; true when flushed.
    /// A zero timeout only checks. False at once in the child of a fork.
    pub fn flush_timeout(&self, timeout: Duration) -> bool {
        self.shared.flush_until(Deadline::after(Some(timeout)))
    }

    /// Starts a flush without waiting: fixes the flush point (everything
    /// written before this call) and the readers to wait for (those that
    /// exist now). Wait on it with [`Flush::wait_timeout`], as often as
    /// needed: for example in slices, checking for interrupts in between.
    pub fn start_flush(&self) -> Flush {
        Flush { shared: self.shared.clone(), point: self.shared.flush_point() }
    }

    /// Closes the ring: writes fail with [`Error::Closed`] from now on;
    /// readers read what the ring holds, then reach the end. Idempotent.
    /// Does nothing in the child of a fork.
    pub fn close(&self) {
        if !self.shared.forked() {
            self.shared.close();
        }
    }

    /// True once the ring is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Copies every retained record's bytes, oldest first, back to back:
    /// the "dump the last N bytes" call. The result never exceeds the
    /// capacity. Writers keep writing meanwhile; records they evict during
    /// the copy are left out.
    ///
    /// Allocates the copy; aborts if that fails, like any Vec. See
    /// [`Ring::try_snapshot`].
    pub fn snapshot(&self) -> Vec<u8> {
        match self.shared.snapshot() {
            Ok(v) => v,
            Err(_) => std::alloc::handle_alloc_error(std::alloc::Layout::array::<u8>(self.capacity()).expect("fits")),
        }
    }

    /// [`Ring::snapshot`], reporting [`Error::NoMemory`] when the copy
    /// cannot be allocated.
    ///
    /// # Errors
    ///
    /// [`Error::NoMemory`].
    pub fn try_snapshot(&self) -> Result<Vec<u8>, Error> {
        self.shared.snapshot()
    }

    /// A copy of the ring's whole memory region (header and data), the bytes
    /// a memory-mapped ring file would hold; [`crate::image::parse`] reads
    /// it back.
    pub fn region_image(&self) -> Vec<u8> {
        self.shared.region.image()
    }

    /// Counters describing the ring.
    pub fn stats(&self) -> Stats {
        Stats {
            written: self.shared.region.header().next_seq.load(Ordering::Acquire),
            readers: self.shared.registry.len(),
            wakeups: self.shared.wakeups.load(Ordering::Relaxed),
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
    pub fn wait(&self) {
        self.shared.flush_wait(&self.point, Deadline::Never);
    }

    /// Waits up to `timeout` for the flush to complete; true when it has.
    /// A zero timeout only checks.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
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
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 && !self.shared.forked() {
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
