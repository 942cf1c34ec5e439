//! The baselines ringlog is measured against, in the same process and run.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The physical limit: copying `size` bytes into a buffer of the ring's
/// size, at the next offset each time (as a ring writes).
pub struct Memcpy {
    dst: Vec<u8>,
    src: Vec<u8>,
    off: usize,
}

impl Memcpy {
    pub fn new(ring: usize, size: usize) -> Memcpy {
        Memcpy { dst: vec![1; ring], src: vec![7; size], off: 0 }
    }

    #[inline]
    pub fn copy(&mut self) {
        let n = self.src.len();
        if self.off + n > self.dst.len() {
            self.off = 0;
        }
        self.dst[self.off..self.off + n].copy_from_slice(black_box(&self.src));
        self.off += n;
        black_box(&mut self.dst);
    }
}

/// The first thing anyone writes: a `Mutex<VecDeque<u8>>` of length-prefixed
/// records, dropping the oldest when full.
pub struct MutexRing {
    q: Mutex<VecDeque<u8>>,
    cap: usize,
}

impl MutexRing {
    pub fn new(cap: usize) -> MutexRing {
        MutexRing { q: Mutex::new(VecDeque::with_capacity(cap)), cap }
    }

    pub fn write(&self, data: &[u8]) {
        let mut q = self.q.lock().unwrap();
        while q.len() + 4 + data.len() > self.cap {
            let mut len = [0u8; 4];
            for (i, b) in q.drain(..4).enumerate() {
                len[i] = b;
            }
            q.drain(..u32::from_le_bytes(len) as usize);
        }
        q.extend((data.len() as u32).to_le_bytes());
        q.extend(data);
    }
}

/// `ringbuf` (a well-known lock-free ring of bytes, single producer): its
/// overwriting push, no record framing.
pub struct ByteRing {
    rb: ringbuf::HeapRb<u8>,
}

impl ByteRing {
    pub fn new(cap: usize) -> ByteRing {
        ByteRing { rb: ringbuf::HeapRb::new(cap) }
    }

    #[inline]
    pub fn write(&mut self, data: &[u8]) {
        use ringbuf::traits::RingBuffer;
        self.rb.push_slice_overwrite(black_box(data));
    }
}

// ---- baselines for many writers sharing one ring ----------------------------------

/// Bytes a record of `len` payload bytes takes with ringlog's framing: a
/// 16-byte header, the payload padded to a multiple of 8.
pub const fn framed_size(len: usize) -> usize {
    16 + ((len + 7) & !7)
}

/// The floor for writers sharing a ring: the least a shared ring with
/// ringlog's framing can do per record. One relaxed `fetch_add` on the
/// shared position reserves the record, the payload is copied in (split at
/// the end of the buffer), and a release store of the header's first word
/// (the position, standing in for a seq) publishes it. No eviction (nothing
/// is ever read back), no readers, no length word, no check.
///
/// The byte copies race: a writer a lap ahead can overwrite bytes another
/// writer is still copying (only when a lap, 1 MiB, is written while one
/// copy is under way: with 32 threads on 2 cores a preempted writer can be
/// lapped), and a header word of one lap can be payload of another. Nobody
/// reads the bytes, so the race changes no result; Rust's memory model calls
/// it a data race all the same, which a benchmark of the hardware's floor
/// accepts. The buffer is `AtomicU64`s (so interior mutability makes the
/// writes through a shared reference legal, and header words are aligned).
pub struct FloorRing {
    pos: crossbeam_utils::CachePadded<AtomicU64>,
    words: Box<[AtomicU64]>,
}

impl FloorRing {
    /// `cap` bytes, a power of two.
    pub fn new(cap: usize) -> FloorRing {
        assert!(cap.is_power_of_two() && cap >= 64);
        FloorRing {
            pos: crossbeam_utils::CachePadded::new(AtomicU64::new(0)),
            words: (0..cap / 8).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    #[inline]
    pub fn write(&self, data: &[u8]) {
        let cap = self.words.len() * 8;
        let p = self.pos.fetch_add(framed_size(data.len()) as u64, Ordering::Relaxed);
        let off = p as usize & (cap - 1); // a multiple of 8, as every size is
        let at = (off + 16) & (cap - 1);
        let first = data.len().min(cap - at);
        let base = self.words.as_ptr() as *mut u8;
        // SAFETY: `at + first <= cap` and `data.len() - first < cap` bytes
        // from the start, inside the buffer of `cap` bytes; the source is a
        // separate allocation. The bytes may be written by another writer at
        // the same time (see the type's documentation): a benign race here.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), base.add(at), first);
            std::ptr::copy_nonoverlapping(data.as_ptr().add(first), base, data.len() - first);
        }
        self.words[off / 8].store(p, Ordering::Release);
    }
}

/// The floor for a reader following one writer of a [`FloorRing`] of
/// records all of one size: a load of the record's header word (its
/// position once written), a copy of the payload, a re-read of the shared
/// position to learn whether a lap overwrote the copy. No length, no
/// check, no seq, no sleeping: what any reader of a shared ring must do.
pub struct FloorReader<'a> {
    ring: &'a FloorRing,
    at: u64,
    lost: u64,
}

impl<'a> FloorReader<'a> {
    /// A reader of the records written from now on.
    pub fn new(ring: &'a FloorRing) -> FloorReader<'a> {
        FloorReader { ring, at: ring.pos.load(Ordering::Acquire), lost: 0 }
    }

    /// The next record (all records are `buf.len()` bytes) copied into
    /// `buf`: `Some(records lost before it)`, or `None` when it is not
    /// written yet. A reader lapped by the writer goes on at the newest.
    pub fn try_next(&mut self, buf: &mut [u8]) -> Option<u64> {
        let cap = self.ring.words.len() * 8;
        let f = framed_size(buf.len()) as u64;
        let off = self.at as usize & (cap - 1);
        let h = self.ring.words[off / 8].load(Ordering::Acquire);
        if h < self.at {
            return None;
        }
        if h == self.at {
            let at = (off + 16) & (cap - 1);
            let first = buf.len().min(cap - at);
            let base = self.ring.words.as_ptr() as *const u8;
            // SAFETY: inside the buffer, as in `FloorRing::write`; a writer a
            // lap ahead may be writing these bytes (the same benign race):
            // the position re-read below tells, and the copy is discarded.
            unsafe {
                std::ptr::copy_nonoverlapping(base.add(at), buf.as_mut_ptr(), first);
                std::ptr::copy_nonoverlapping(base, buf.as_mut_ptr().add(first), buf.len() - first);
            }
            std::sync::atomic::fence(Ordering::Acquire);
            if self.ring.pos.load(Ordering::Relaxed) <= self.at + cap as u64 {
                self.at += f;
                return Some(std::mem::take(&mut self.lost));
            }
        }
        // Lapped: on from the newest record.
        let head = self.ring.pos.load(Ordering::Acquire);
        self.lost += (head - self.at) / f;
        self.at = head;
        None
    }
}

/// What users write first for many writers: a `std::sync::Mutex` around a
/// byte ring with ringlog's framing (16-byte header: seq and length; payload
/// padded to 8) that evicts whole old records, whose starts it keeps in a
/// `VecDeque` (allocated once, large enough for a ring full of empty
/// records, so writes never allocate).
pub struct FramedMutexRing {
    inner: Mutex<Framed>,
}

struct Framed {
    buf: Box<[u8]>,
    /// Where the next record goes (grows forever; modulo the capacity).
    head: u64,
    /// Starts of the records kept, oldest first.
    starts: VecDeque<u64>,
    seq: u64,
}

impl FramedMutexRing {
    /// `cap` bytes, a power of two.
    pub fn new(cap: usize) -> FramedMutexRing {
        assert!(cap.is_power_of_two() && cap >= 64);
        let starts = VecDeque::with_capacity(cap / 16 + 1);
        FramedMutexRing { inner: Mutex::new(Framed { buf: vec![0; cap].into_boxed_slice(), head: 0, starts, seq: 0 }) }
    }

    #[inline]
    pub fn write(&self, data: &[u8]) {
        let size = framed_size(data.len()) as u64;
        let mut r = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let cap = r.buf.len() as u64;
        assert!(size <= cap);
        // Evict the oldest records until the new one fits.
        while let Some(&oldest) = r.starts.front() {
            if r.head + size - oldest <= cap {
                break;
            }
            r.starts.pop_front();
        }
        let (head, seq) = (r.head, r.seq);
        let off = (head & (cap - 1)) as usize;
        let mut header = [0u8; 16];
        header[..8].copy_from_slice(&seq.to_ne_bytes());
        header[8..].copy_from_slice(&(data.len() as u64).to_ne_bytes());
        copy_wrapping(&mut r.buf, off, &header);
        copy_wrapping(&mut r.buf, (off + 16) & (cap as usize - 1), data);
        r.starts.push_back(head);
        r.head = head + size;
        r.seq = seq + 1;
    }
}

/// Copies `src` into the ring `buf` at `off`, going on at the start.
#[inline]
fn copy_wrapping(buf: &mut [u8], off: usize, src: &[u8]) {
    let first = src.len().min(buf.len() - off);
    buf[off..off + first].copy_from_slice(&src[..first]);
    buf[..src.len() - first].copy_from_slice(&src[first..]);
}
