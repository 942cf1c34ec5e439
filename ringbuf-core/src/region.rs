//! The ring's memory: one contiguous region with no pointers in it.
//!
//! ```text
//! offset 0    Header (256 bytes, see `Header`)
//! offset 256  data: `capacity` bytes (a power of two), records back to back,
//!             addressed by position % capacity
//! ```
//!
//! Every field is fixed-size and position-independent, and every record is
//! self-describing (`frame`), so the same bytes can later live in a
//! memory-mapped file and be read back by another process after a crash
//! (`image::parse` reads such a copy).
//!
//! Positions are byte counts since the ring was created (u64, never wrap in
//! practice). The header holds four of them:
//! `tail <= head <= reserve` and `reserve - tail <= capacity`:
//! * `tail`: start of the oldest record not evicted: bytes from `tail` up are
//!   intact until `tail` moves;
//! * `head`: end of the last committed record: everything before it is whole
//!   and readable (low bits carry waiter flags, see `ring`);
//! * `reserve`: end of the last reserved record: `[head, reserve)` is being
//!   written (low bits carry the reservation lock and the closed flag);
//! * `next_seq`: the seq the next committed record gets;
//! * `evicted`: `tail` rounded down to a multiple of capacity / 64, a hint
//!   that lets readers validate without touching the writers' cache lines.
//!
//! # Racing copies
//!
//! Writers overwrite bytes that a lapped reader may be copying at that very
//! moment; the reader then finds `tail` moved past the record and throws the
//! copy away (a seqlock). With plain `memcpy` on both sides such a race is,
//! formally, a data race, although no torn value is ever used. Builds with
//! `--cfg ringlog_checked` (and Miri and loom builds) copy word by word with
//! relaxed atomics instead: slower, and free of data races in the language's
//! model, which is what ThreadSanitizer and Miri check.

use crate::error::Error;
use crate::frame::ALIGN;
use crate::sync::{fence, AtomicU64, Ordering};

/// "RINGLOG\0" in the region's first word.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"RINGLOG\0");
/// Version of this layout.
pub(crate) const VERSION: u32 = 1;
/// Bytes in front of the data area.
pub(crate) const HEADER_SIZE: usize = 256;

/// Alignment of the region (and so of the data area).
#[cfg(not(loom))]
const CACHE_LINE: usize = 64;

/// Whether payload copies go word by word through atomics (see module doc).
pub(crate) const CHECKED_COPY: bool = cfg!(any(loom, miri, ringlog_checked));

/// The region header. Line 0 is written once before the ring is shared;
/// lines 1 and 2 are the moving positions, one cache line per writer phase.
#[repr(C, align(64))]
pub(crate) struct Header {
    pub(crate) magic: u64,
    pub(crate) version: u32,
    pub(crate) header_size: u32,
    pub(crate) capacity: u64,
    pub(crate) max_record: u64,
    _pad0: [u64; 4],
    /// Reservation phase (writers, under the reservation lock).
    pub(crate) reserve: AtomicU64,
    pub(crate) tail: AtomicU64,
    _pad1: [u64; 6],
    /// Commit phase (the writer whose turn it is).
    pub(crate) head: AtomicU64,
    pub(crate) next_seq: AtomicU64,
    _pad2: [u64; 6],
    /// `tail` rounded down to a granule, moved only when `tail` crosses
    /// one: a line readers check for every record without pulling the
    /// writers' hot lines (`Shared::valid_after`).
    pub(crate) evicted: AtomicU64,
    _pad3: [u64; 7],
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Header>() == HEADER_SIZE);

/// Field offsets in the region, for readers of a copied image.
pub(crate) mod offsets {
    pub(crate) const MAGIC: usize = 0;
    pub(crate) const VERSION: usize = 8;
    pub(crate) const HEADER_SIZE: usize = 12;
    pub(crate) const CAPACITY: usize = 16;
    pub(crate) const MAX_RECORD: usize = 24;
    pub(crate) const RESERVE: usize = 64;
    pub(crate) const TAIL: usize = 72;
    pub(crate) const HEAD: usize = 128;
    pub(crate) const NEXT_SEQ: usize = 136;
    /// `tail` rounded down to a granule (a hint for live readers; a copied
    /// image does not need it).
    #[allow(dead_code)]
    pub(crate) const EVICTED: usize = 192;
}

impl Header {
    fn new(capacity: u64, max_record: u64) -> Header {
        Header {
            magic: MAGIC,
            version: VERSION,
            header_size: HEADER_SIZE as u32,
            capacity,
            max_record,
            _pad0: [0; 4],
            reserve: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            _pad1: [0; 6],
            head: AtomicU64::new(0),
            next_seq: AtomicU64::new(0),
            _pad2: [0; 6],
            evicted: AtomicU64::new(0),
            _pad3: [0; 7],
        }
    }
}

/// Owner of the region's memory.
pub(crate) struct Region {
    /// The allocation, as the allocator returned it.
    #[cfg(not(loom))]
    raw: std::ptr::NonNull<u8>,
    /// The region: `raw` rounded up to a cache line.
    #[cfg(not(loom))]
    base: std::ptr::NonNull<u8>,
    #[cfg(not(loom))]
    layout: std::alloc::Layout,
    #[cfg(loom)]
    header: Header,
    #[cfg(loom)]
    words: Box<[AtomicU64]>,
    mask: u64,
}

// SAFETY: the region is plain memory owned by `Region`; all shared access to
// it goes through atomics or through the validated racing copies described
// in the module doc, so it may be sent to and shared between threads.
#[cfg(not(loom))]
unsafe impl Send for Region {}
// SAFETY: see `Send` above.
#[cfg(not(loom))]
unsafe impl Sync for Region {}

impl Region {
    /// Allocates a zeroed region for `capacity` data bytes (a power of two,
    /// a multiple of 8). Reports NoMemory instead of aborting.
    pub(crate) fn new(capacity: u64, max_record: u64) -> Result<Region, Error> {
        debug_assert!(capacity.is_power_of_two() && capacity >= 2 * ALIGN);
        #[cfg(not(loom))]
        {
            // Over-allocate by one cache line and align by hand: an alignment
            // of 16 lets the allocator use calloc, whose fresh pages are zero
            // already (a large ring costs no memset at creation).
            let size = usize::try_from(capacity)
                .ok()
                .and_then(|c| c.checked_add(HEADER_SIZE + CACHE_LINE))
                .ok_or(Error::NoMemory)?;
            let layout = std::alloc::Layout::from_size_align(size, 16).map_err(|_| Error::NoMemory)?;
            // SAFETY: the layout has a non-zero size (at least HEADER_SIZE).
            let raw = std::ptr::NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) }).ok_or(Error::NoMemory)?;
            let skip = raw.as_ptr().align_offset(CACHE_LINE);
            // SAFETY: `skip < CACHE_LINE`, so `base` and the HEADER_SIZE +
            // capacity bytes after it stay inside the allocation.
            let base = unsafe { raw.add(skip) };
            // SAFETY: `base` is valid for HEADER_SIZE bytes, 64-aligned like
            // `Header`, and not yet shared.
            unsafe { base.cast::<Header>().as_ptr().write(Header::new(capacity, max_record)) };
            Ok(Region { raw, base, layout, mask: capacity - 1 })
        }
        #[cfg(loom)]
        {
            let words = (0..capacity / ALIGN).map(|_| AtomicU64::new(0)).collect();
            Ok(Region { header: Header::new(capacity, max_record), words, mask: capacity - 1 })
        }
    }

    /// The region header.
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        #[cfg(not(loom))]
        // SAFETY: initialised in `new`, lives as long as `self`, and only
        // accessed through shared references (its mutable fields are atomics).
        return unsafe { self.base.cast::<Header>().as_ref() };
        #[cfg(loom)]
        return &self.header;
    }

    /// Data capacity in bytes.
    #[inline]
    pub(crate) fn capacity(&self) -> u64 {
        self.mask + 1
    }

    #[cfg(not(loom))]
    #[inline]
    fn data(&self) -> *mut u8 {
        // SAFETY: the allocation is HEADER_SIZE + capacity bytes long.
        unsafe { self.base.as_ptr().add(HEADER_SIZE) }
    }

    /// The 8-byte word at `pos` (a multiple of 8; taken modulo capacity).
    #[inline]
    pub(crate) fn word(&self, pos: u64) -> &AtomicU64 {
        debug_assert_eq!(pos % ALIGN, 0);
        let off = (pos & self.mask) as usize;
        #[cfg(not(loom))]
        // SAFETY: `off` is 8-aligned and below capacity, so the word lies in
        // the data area, which is 64-aligned; AtomicU64 has u64's layout and
        // every access to region words goes through atomics or the racing
        // copies described in the module doc.
        return unsafe { AtomicU64::from_ptr(self.data().add(off).cast::<u64>()) };
        #[cfg(loom)]
        return &self.words[off / ALIGN as usize];
    }

    /// Copies `src` into the ring at `pos` (a multiple of 8), wrapping at the
    /// end of the data area. The caller owns `[pos, pos + len)`: it reserved
    /// those bytes and evicted whatever they held before.
    pub(crate) fn write_bytes(&self, pos: u64, src: &[u8]) {
        debug_assert_eq!(pos % ALIGN, 0);
        debug_assert!(src.len() as u64 <= self.capacity());
        if CHECKED_COPY {
            for (i, chunk) in src.chunks(ALIGN as usize).enumerate() {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                self.word(pos + (i as u64) * ALIGN).store(u64::from_ne_bytes(word), Ordering::Relaxed);
            }
            return;
        }
        #[cfg(not(loom))]
        {
            let off = (pos & self.mask) as usize;
            let first = src.len().min(self.capacity() as usize - off);
            // SAFETY: `off + first <= capacity` and the rest goes to the
            // start of the data area, so both copies stay inside it; `src` is
            // a different allocation. Readers may be copying these bytes at
            // the same time; they discard what they copied (module doc).
            unsafe {
                std::ptr::copy_nonoverlapping(src.as_ptr(), self.data().add(off), first);
                if first < src.len() {
                    std::ptr::copy_nonoverlapping(src.as_ptr().add(first), self.data(), src.len() - first);
                }
            }
        }
    }

    /// Copies ring bytes `[pos, pos + dst.len())` (any alignment, wrapping at
    /// the end) into `dst`. The bytes may be overwritten while they are being
    /// copied: the caller must check `tail` afterwards and throw the copy
    /// away if the record was evicted (`Shared::valid_after`).
    pub(crate) fn read_bytes(&self, pos: u64, dst: &mut [u8]) {
        debug_assert!(dst.len() as u64 <= self.capacity());
        if CHECKED_COPY {
            let mut done = 0usize;
            while done < dst.len() {
                let at = pos + done as u64;
                let word_pos = at & !(ALIGN - 1);
                let skip = (at - word_pos) as usize;
                let bytes = self.word(word_pos).load(Ordering::Relaxed).to_ne_bytes();
                let n = (8 - skip).min(dst.len() - done);
                dst[done..done + n].copy_from_slice(&bytes[skip..skip + n]);
                done += n;
            }
            return;
        }
        #[cfg(not(loom))]
        {
            let off = (pos & self.mask) as usize;
            let first = dst.len().min(self.capacity() as usize - off);
            // SAFETY: both source ranges lie inside the data area (see
            // `write_bytes`); `dst` is the caller's own buffer. A racing
            // writer can change the source bytes during the copy; the caller
            // validates before using them.
            unsafe {
                std::ptr::copy_nonoverlapping(self.data().add(off), dst.as_mut_ptr(), first);
                if first < dst.len() {
                    std::ptr::copy_nonoverlapping(self.data(), dst.as_mut_ptr().add(first), dst.len() - first);
                }
            }
        }
    }

    /// A byte copy of the whole region, header first, as a crash dump or a
    /// memory-mapped file would hold it. Racing writers may tear records in
    /// the copy; `image::parse` tells whole records from torn ones.
    pub(crate) fn image(&self) -> Vec<u8> {
        let cap = self.capacity() as usize;
        let mut out = vec![0u8; HEADER_SIZE + cap];
        let h = self.header();
        let put = |out: &mut [u8], off: usize, v: u64| out[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        put(&mut out, offsets::MAGIC, h.magic);
        out[offsets::VERSION..offsets::VERSION + 4].copy_from_slice(&h.version.to_ne_bytes());
        out[offsets::HEADER_SIZE..offsets::HEADER_SIZE + 4].copy_from_slice(&h.header_size.to_ne_bytes());
        put(&mut out, offsets::CAPACITY, h.capacity);
        put(&mut out, offsets::MAX_RECORD, h.max_record);
        // head before the data (Acquire: the records before it are written),
        // tail after it (fence + load, as in `Shared::valid_after`): records
        // in [tail, head) of the copy are whole even if writers ran meanwhile.
        let head = h.head.load(Ordering::Acquire);
        put(&mut out, offsets::HEAD, head);
        put(&mut out, offsets::NEXT_SEQ, h.next_seq.load(Ordering::Relaxed));
        put(&mut out, offsets::RESERVE, h.reserve.load(Ordering::Relaxed));
        self.read_bytes(0, &mut out[HEADER_SIZE..]);
        fence(Ordering::Acquire);
        let tail = h.tail.load(Ordering::Relaxed);
        // Lapped during the copy: nothing in it is known to be whole.
        put(&mut out, offsets::TAIL, tail.min(head & !(ALIGN - 1)));
        out
    }
}

#[cfg(not(loom))]
impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; nothing refers to the
        // region any more (`Region` is owned by the last `Shared`).
        unsafe { std::alloc::dealloc(self.raw.as_ptr(), self.layout) };
    }
}
