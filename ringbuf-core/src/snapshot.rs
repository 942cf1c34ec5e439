//! Snapshots: every retained record's bytes, oldest first, back to back,
//! into a caller's buffer or a file descriptor. Both are async-signal-safe:
//! no allocation, no lock, and they never wait (a record still being written
//! is left out; a record evicted while being copied is dropped and the copy
//! goes on from the new oldest record).

use crate::error::Error;
use crate::frame::Frame;
use crate::layout::pos_of;
use crate::shared::Shared;

/// What one step of a walk over the retained records found.
enum Step {
    /// A committed record at the position, `len` payload bytes.
    Record { len: u64 },
    /// Walk on (a skip, dead or pending frame, or a record evicted before
    /// it could be copied).
    Pass,
    /// The walk cannot go on (a writer has not written its header yet).
    Stop,
}

impl Shared {
    /// Walks the records retained now, up to the claim as it was when the
    /// walk began, calling `record(x, len)` for each committed one; a
    /// record is whole if `record` copied it before `valid(x)` said so.
    /// `restart()` is called when the walk had to begin again from a newer
    /// oldest record (everything handed out so far was evicted).
    fn walk_retained(&self, mut record: impl FnMut(u64, u64) -> bool, mut restart: impl FnMut()) {
        let g = self.geo;
        let end = pos_of(self.claim_word());
        let o = self.oldest();
        let (mut x, mut s) = (o.pos, o.seq);
        while x < end {
            let f = self.frame(x, s);
            let step = match f {
                Frame::Record { len } => Step::Record { len },
                Frame::Pending { .. } | Frame::Skip { .. } | Frame::Dead { .. } => Step::Pass,
                Frame::Unwritten => Step::Stop,
            };
            let size = match step {
                Step::Record { len } => {
                    let whole = record(x, len);
                    if !whole {
                        restart();
                        let o = self.oldest();
                        if o.pos <= x {
                            return; // never hand out a record twice
                        }
                        (x, s) = (o.pos, o.seq);
                        continue;
                    }
                    f.size()
                }
                Step::Pass if self.valid(x) => f.size(),
                Step::Pass => {
                    restart();
                    let o = self.oldest();
                    if o.pos <= x {
                        return;
                    }
                    (x, s) = (o.pos, o.seq);
                    continue;
                }
                Step::Stop => match self.unwritten_extent(x, s) {
                    Some(ext) => Some(ext),
                    // A writer between its claim and its header: the walk
                    // ends here, unless the ring lapped it meanwhile (then
                    // what looked unwritten was overwritten: start again).
                    None if self.valid(x) => return,
                    None => {
                        restart();
                        let o = self.oldest();
                        if o.pos <= x {
                            return; // cannot get past a writer still at its claim
                        }
                        (x, s) = (o.pos, o.seq);
                        continue;
                    }
                },
            };
            let Some(size) = size else { return };
            x = g.advance(x, size);
            s = if matches!(step, Step::Stop) { s + 1 } else { f.next_seq(s) };
        }
    }

    /// Copies every retained record's bytes into `out`; returns their total
    /// length. Nothing is allocated.
    ///
    /// # Errors
    ///
    /// [`Error::BufSmall`] with the length needed (in `len`) when `out` is
    /// too short; [`Error::Forked`] in the child of a fork.
    pub(crate) fn snapshot_into(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.check_fork()?;
        let n = std::cell::Cell::new(0usize);
        self.walk_retained(
            |x, len| {
                let (at, len) = (n.get(), len as usize);
                if at + len <= out.len() {
                    self.read_payload(x, 0, &mut out[at..at + len]);
                }
                if !self.valid(x) {
                    return false;
                }
                n.set(at + len);
                true
            },
            || n.set(0),
        );
        let n = n.get();
        crate::fault_point!(Snapshot);
        if n > out.len() {
            return Err(Error::BufSmall { len: n, seq: 0, lost: 0 });
        }
        Ok(n)
    }

    /// The snapshot in a new buffer.
    pub(crate) fn snapshot(&self) -> Result<Vec<u8>, Error> {
        let mut buf = Vec::new();
        loop {
            match self.snapshot_into(&mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Err(Error::BufSmall { len, .. }) => {
                    // Writers may add more meanwhile: room for a little more.
                    let want = (len + len / 8 + 64).min(self.geo.cap as usize);
                    buf.try_reserve_exact(want.saturating_sub(buf.len())).map_err(|_| Error::NoMemory)?;
                    buf.resize(want.max(len), 0);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes every retained record's bytes to `fd` with `write(2)`,
    /// through a 4 KiB buffer on the stack: async-signal-safe. A record of
    /// up to 4 KiB is checked whole before any of it is written; a longer
    /// one is written in checked 4 KiB pieces, so if writers evict it
    /// meanwhile the dump holds its beginning only, and goes on with the
    /// oldest record left.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `write(2)` fails (errno says why), [`Error::Forked`]
    /// in the child of a fork.
    #[cfg(unix)]
    pub(crate) fn dump_fd(&self, fd: std::os::fd::RawFd) -> Result<(), Error> {
        self.check_fork()?;
        let mut buf = [0u8; 4096];
        let mut failed = None;
        self.walk_retained(
            |x, len| {
                let mut off = 0u64;
                while off < len && failed.is_none() {
                    let n = (len - off).min(buf.len() as u64) as usize;
                    self.read_payload(x, off, &mut buf[..n]);
                    if !self.valid(x) {
                        return false;
                    }
                    if let Err(e) = write_all(fd, &buf[..n]) {
                        failed = Some(e);
                    }
                    off += n as u64;
                }
                true
            },
            || {},
        );
        match failed {
            Some(errno) => Err(Error::Io(errno)),
            None => Ok(()),
        }
    }
}

/// `write(2)` until all of `bytes` is written; the errno on failure.
#[cfg(unix)]
fn write_all(fd: std::os::fd::RawFd, mut bytes: &[u8]) -> Result<(), i32> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid buffer of its length; write(2) only
        // reads it.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
            if errno == libc::EINTR {
                continue;
            }
            return Err(errno);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

#[cfg(not(loom))]
impl Shared {
    /// `Region::image`, with every frame that was not committed before the
    /// copy began shown as pending in the image: a frame committed during
    /// the copy may have had its payload copied before it was written.
    /// Frames committed before the copy cannot change until the tail passes
    /// them, and the image's tail is read after the copy.
    pub(crate) fn image(&self) -> Vec<u8> {
        use crate::frame::{len_of, marker_masked, unmark, Kind, HEADER_LEN};
        use crate::layout::{offsets, HEADER_SIZE};
        let g = self.geo;
        // Committed before the copy: walk from the tail to the claim.
        let t = self.header().tail.load(crate::sync::Ordering::Acquire);
        let end = pos_of(self.claim_word());
        let mut committed = std::collections::HashSet::new();
        let (mut x, mut s) = (t.pos, t.seq);
        while x < end {
            let f = self.frame(x, s);
            if matches!(f, Frame::Record { .. }) {
                committed.insert(x);
            }
            let Some(size) = f.size().or_else(|| self.unwritten_extent(x, s)) else { break };
            s = if matches!(f, Frame::Unwritten) { s + 1 } else { f.next_seq(s) };
            x = g.advance(x, size);
        }
        let mut img = self.region.image();
        // Walk the image from its tail; demote records committed since.
        let pair = |off: usize| {
            let v = u128::from_ne_bytes(img[off..off + 16].try_into().expect("16 bytes"));
            (v as u64, (v >> 64) as u64)
        };
        let (tail, tail_seq) = pair(offsets::TAIL);
        let claim = pair(offsets::CLAIM).0 & !crate::layout::FLAGS;
        let word = |img: &[u8], x: u64| {
            let at = HEADER_SIZE + g.off(x) as usize;
            u64::from_ne_bytes(img[at..at + 8].try_into().expect("8 bytes"))
        };
        let (mut x, mut s) = (tail, tail_seq);
        while x < claim {
            let Some((seq, kind)) = unmark(self.key, x, word(&img, x)).filter(|(seq, _)| *seq == s) else { break };
            let Some(len) = len_of(seq, word(&img, g.advance(x, 8))) else { break };
            if kind == Kind::Record && !committed.contains(&x) {
                let at = HEADER_SIZE + g.off(x) as usize;
                let pending = marker_masked(self.mask_at(x), seq, Kind::Pending);
                img[at..at + 8].copy_from_slice(&pending.to_ne_bytes());
            }
            let size = if kind == Kind::Skip { len } else { crate::frame::frame_size(len) };
            if size < HEADER_LEN || size % 8 != 0 || size > g.data {
                break;
            }
            x = g.advance(x, size);
            if kind != Kind::Skip {
                s += 1;
            }
        }
        img
    }
}
