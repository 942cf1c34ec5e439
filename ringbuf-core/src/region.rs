//! Owner of a region's memory: the header, the words and bytes of the data
//! area, and the copies in and out of it. The memory is either the heap (a
//! ring in memory) or a shared mapping of a file (`file`).
//!
//! # Racing copies
//!
//! A writer copies its payload into bytes that a lapped reader may be
//! copying out at that very moment; the reader then finds the tail moved
//! past the frame and throws the copy away (a seqlock, see `read`). With
//! plain `memcpy` on both sides such a race is, formally, a data race,
//! although no torn value is ever used. Builds with `--cfg ringlog_checked`
//! (and Miri and loom builds) copy word by word with relaxed atomics
//! instead: slower, and free of data races in the language's model, which
//! is what ThreadSanitizer and Miri check.

use crate::error::Error;
use crate::layout::Header;
#[cfg(not(loom))]
use crate::layout::{Tables, HEADER_SIZE};
use crate::sync::{AtomicU64, Ordering};

/// Alignment of the region (and so of the data area).
#[cfg(not(loom))]
const CACHE_LINE: usize = 64;

/// Whether payload copies go word by word through atomics (module doc).
pub(crate) const CHECKED_COPY: bool = cfg!(any(loom, miri, ringlog_checked));

/// Where a region's memory comes from, and how it goes back.
#[cfg(not(loom))]
enum Backing {
    /// The heap: the allocation as the allocator returned it, and its layout.
    Heap { raw: std::ptr::NonNull<u8>, layout: std::alloc::Layout },
    /// A shared mapping of `len` bytes at `base` (a file), guarded against
    /// SIGBUS in slot `guard` of the guard's table (`sigbus`).
    Map { len: usize, guard: Option<usize> },
}

/// A region: on the heap or mapped from a file.
pub(crate) struct Region {
    #[cfg(not(loom))]
    backing: Backing,
    /// The region: 64-aligned (a heap allocation rounded up to a cache
    /// line, or a page-aligned mapping).
    #[cfg(not(loom))]
    base: std::ptr::NonNull<u8>,
    /// Bytes in front of the data area (`Header::header_size`).
    #[cfg(not(loom))]
    data_off: usize,
    #[cfg(loom)]
    header: Box<Header>,
    #[cfg(loom)]
    words: Box<[AtomicU64]>,
    /// loom's model of the futex on `Header::wake`.
    #[cfg(loom)]
    pub(crate) waiters: crate::futex::Waiters,
    data: u64,
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
    /// Allocates a zeroed region whose header is `header` and whose data
    /// area has `header.data_size` bytes. Reports NoMemory instead of
    /// aborting.
    pub(crate) fn new(header: Header) -> Result<Region, Error> {
        let data = header.data_size;
        debug_assert!(data % 8 == 0);
        #[cfg(not(loom))]
        {
            // Over-allocate by one cache line and align by hand: an alignment
            // of 16 lets the allocator use calloc, whose fresh pages are zero
            // already (a large ring costs no memset at creation).
            let size = usize::try_from(data)
                .ok()
                .and_then(|c| c.checked_add(HEADER_SIZE + CACHE_LINE))
                .ok_or(Error::NoMemory)?;
            let layout = std::alloc::Layout::from_size_align(size, 16).map_err(|_| Error::NoMemory)?;
            // SAFETY: the layout has a non-zero size (at least HEADER_SIZE).
            let raw = std::ptr::NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) }).ok_or(Error::NoMemory)?;
            let skip = raw.as_ptr().align_offset(CACHE_LINE);
            // SAFETY: `skip < CACHE_LINE`, so `base` and the HEADER_SIZE +
            // data bytes after it stay inside the allocation.
            let base = unsafe { raw.add(skip) };
            // SAFETY: `base` is valid for HEADER_SIZE bytes, 64-aligned like
            // `Header`, and not yet shared.
            unsafe { base.cast::<Header>().as_ptr().write(header) };
            Ok(Region { backing: Backing::Heap { raw, layout }, base, data_off: HEADER_SIZE, data })
        }
        #[cfg(loom)]
        {
            let words = (0..data / 8).map(|_| AtomicU64::new(0)).collect();
            Ok(Region { header: Box::new(header), words, waiters: crate::futex::Waiters::new(), data })
        }
    }

    /// A region in `len` bytes of shared memory at `base` (a mapping made
    /// by `file`, unmapped when the region drops), laid out as its header
    /// says; the caller validated the header against `len`.
    ///
    /// # Safety
    ///
    /// `base` is a page-aligned `MAP_SHARED` mapping of `len` bytes that
    /// nothing else unmaps, holding a validated header whose `header_size +
    /// data_size` is `len`. The region guards it against SIGBUS from now
    /// on, and unmaps it when dropped.
    #[cfg(not(loom))]
    pub(crate) unsafe fn mapped(base: std::ptr::NonNull<u8>, len: usize) -> Region {
        // SAFETY: by the caller, the header is valid and lives in the mapping.
        let h = unsafe { base.cast::<Header>().as_ref() };
        let data_off = h.header_size as usize;
        let data = h.data_size;
        debug_assert_eq!(data_off as u64 + data, len as u64);
        let guard = crate::sigbus::watch(base.as_ptr() as usize, len);
        Region { backing: Backing::Map { len, guard }, base, data_off, data }
    }

    /// True when the file under a mapped region was shrunk and a page of
    /// it faulted (`sigbus`).
    #[cfg(not(loom))]
    #[inline]
    pub(crate) fn broken(&self) -> bool {
        matches!(self.backing, Backing::Map { guard: Some(slot), .. } if crate::sigbus::broken(slot))
    }

    /// The tables of a ring in a file (`None` in memory).
    #[cfg(not(loom))]
    pub(crate) fn tables(&self) -> Option<&Tables> {
        match self.backing {
            // SAFETY: a file region's header is followed by its tables
            // (`layout`), inside the mapping, 64-aligned; every field is an
            // atomic.
            Backing::Map { .. } => unsafe { self.base.as_ptr().add(HEADER_SIZE).cast::<Tables>().as_ref() },
            Backing::Heap { .. } => None,
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

    #[cfg(not(loom))]
    #[inline]
    fn data_ptr(&self) -> *mut u8 {
        // SAFETY: the allocation or mapping is data_off + data bytes long.
        unsafe { self.base.as_ptr().add(self.data_off) }
    }

    /// The 8-byte word at data offset `off` (a multiple of 8, below the
    /// data size).
    #[inline]
    pub(crate) fn word(&self, off: u64) -> &AtomicU64 {
        debug_assert!(off % 8 == 0 && off < self.data);
        #[cfg(not(loom))]
        // SAFETY: `off` is 8-aligned and inside the data area, which is
        // 64-aligned; AtomicU64 has u64's layout and every access to region
        // words goes through atomics or the racing copies of the module doc.
        return unsafe { AtomicU64::from_ptr(self.data_ptr().add(off as usize).cast::<u64>()) };
        #[cfg(loom)]
        return &self.words[(off / 8) as usize];
    }

    /// Copies `src` into the data area from offset `off` (any alignment),
    /// wrapping at its end. The caller owns those bytes (it claimed them,
    /// and every 8-byte word they touch lies within its frame).
    #[cfg_attr(loom, allow(clippy::needless_return))]
    pub(crate) fn write_bytes(&self, off: u64, src: &[u8]) {
        debug_assert!(off < self.data && src.len() as u64 <= self.data);
        if CHECKED_COPY {
            let mut done = 0usize;
            while done < src.len() {
                let at = (off + done as u64) % self.data;
                let word_at = at & !7;
                let skip = (at - word_at) as usize;
                let n = (8 - skip).min(src.len() - done);
                let word = self.word(word_at);
                // A partial word keeps its other bytes (ours too: earlier
                // parts of the same record).
                let mut bytes = if n == 8 { [0u8; 8] } else { word.load(Ordering::Relaxed).to_ne_bytes() };
                bytes[skip..skip + n].copy_from_slice(&src[done..done + n]);
                word.store(u64::from_ne_bytes(bytes), Ordering::Relaxed);
                done += n;
            }
            return;
        }
        #[cfg(not(loom))]
        {
            let off = off as usize;
            let first = src.len().min(self.data as usize - off);
            // SAFETY: `off + first <= data` and the rest goes to the start of
            // the data area, so both copies stay inside it; `src` is another
            // allocation. Readers may be copying these bytes at the same
            // time; they discard what they copied (module doc).
            unsafe {
                std::ptr::copy_nonoverlapping(src.as_ptr(), self.data_ptr().add(off), first);
                if first < src.len() {
                    std::ptr::copy_nonoverlapping(src.as_ptr().add(first), self.data_ptr(), src.len() - first);
                }
            }
        }
    }

    /// Copies data bytes from offset `off` (any alignment, wrapping at the
    /// end) into `dst`. The bytes may be overwritten while they are being
    /// copied: the caller validates afterwards and throws the copy away if
    /// the frame was evicted.
    #[cfg_attr(loom, allow(clippy::needless_return))]
    pub(crate) fn read_bytes(&self, off: u64, dst: &mut [u8]) {
        debug_assert!(off < self.data && dst.len() as u64 <= self.data);
        if CHECKED_COPY {
            let mut done = 0usize;
            while done < dst.len() {
                let at = (off + done as u64) % self.data;
                let word_at = at & !7;
                let skip = (at - word_at) as usize;
                let bytes = self.word(word_at).load(Ordering::Relaxed).to_ne_bytes();
                let n = (8 - skip).min(dst.len() - done);
                dst[done..done + n].copy_from_slice(&bytes[skip..skip + n]);
                done += n;
            }
            return;
        }
        #[cfg(not(loom))]
        {
            let off = off as usize;
            let first = dst.len().min(self.data as usize - off);
            // SAFETY: both source ranges lie inside the data area (see
            // `write_bytes`); `dst` is the caller's own buffer. A racing
            // writer can change the source bytes during the copy; the caller
            // validates before using them.
            unsafe {
                std::ptr::copy_nonoverlapping(self.data_ptr().add(off), dst.as_mut_ptr(), first);
                if first < dst.len() {
                    std::ptr::copy_nonoverlapping(self.data_ptr(), dst.as_mut_ptr().add(first), dst.len() - first);
                }
            }
        }
    }

    /// A byte copy of the whole region (header fields and data area), as a
    /// crash dump or a mapped file would hold it. The tail is read after the
    /// data (as a reader validates a copy), so no frame from it on was
    /// overwritten during the copy; but a frame committed during the copy
    /// may show its marker over a payload copied before it was written:
    /// `Shared::image` fixes those up.
    #[cfg(not(loom))]
    pub(crate) fn image(&self) -> Vec<u8> {
        use crate::layout::offsets;
        let mut out = vec![0u8; self.data_off + self.data as usize];
        let h = self.header();
        let put = |out: &mut [u8], off: usize, bytes: &[u8]| out[off..off + bytes.len()].copy_from_slice(bytes);
        put(&mut out, offsets::MAGIC, &h.magic.to_ne_bytes());
        put(&mut out, offsets::VERSION, &h.version.to_ne_bytes());
        put(&mut out, offsets::HEADER_SIZE, &h.header_size.to_ne_bytes());
        put(&mut out, offsets::CAPACITY, &h.capacity.to_ne_bytes());
        put(&mut out, offsets::MAX_RECORD, &h.max_record.to_ne_bytes());
        put(&mut out, offsets::DATA_SIZE, &h.data_size.to_ne_bytes());
        put(&mut out, offsets::KEY, &h.key.to_ne_bytes());
        put(&mut out, offsets::FLAGS, &h.flags.to_ne_bytes());
        let claim = h.claim.load(Ordering::Acquire);
        self.read_bytes(0, &mut out[self.data_off..]);
        crate::sync::fence(Ordering::Acquire);
        let tail = h.tail.load(Ordering::Relaxed);
        let pair = |p: crate::sync::Pair| ((p.seq as u128) << 64 | p.pos as u128).to_ne_bytes();
        put(&mut out, offsets::CLAIM, &pair(claim));
        put(&mut out, offsets::TAIL, &pair(tail));
        out
    }
}

#[cfg(not(loom))]
impl Drop for Region {
    fn drop(&mut self) {
        match self.backing {
            // SAFETY: allocated in `new` with this layout; nothing refers to
            // the region any more (`Region` is owned by the last `Shared`).
            Backing::Heap { raw, layout } => unsafe { std::alloc::dealloc(raw.as_ptr(), layout) },
            Backing::Map { len, guard } => {
                if let Some(slot) = guard {
                    crate::sigbus::forget(slot);
                }
                // SAFETY: the mapping of `mapped`, unmapped once, here; nothing
                // refers to it any more.
                unsafe { libc::munmap(self.base.as_ptr().cast(), len) };
            }
        }
    }
}
