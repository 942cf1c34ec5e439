//! The region's layout: every byte a ring keeps, with no pointer in it.
//!
//! ```text
//! offset 0     Header (HEADER_SIZE bytes; fields below, one cache line per
//!              group of fields that change together)
//! HEADER_SIZE  a ring in a file only: `Tables` (the processes that have the
//!              file open, and every reader's progress, for flush)
//! header_size  data area: `data_size` bytes, frames back to back, addressed
//!              by virtual position (`pos`); `data_size` is the capacity plus
//!              a slack of capacity / 16 (at least 64 bytes, at most 4 KiB)
//! ```
//!
//! `header_size` (a header field) is where the data area starts: HEADER_SIZE
//! for a ring in memory, FILE_HEADER_SIZE for a ring in a file.
//!
//! Everything a writer, reader or flush needs lives here (positions, the
//! wake-up word, sleeper counts, pins, counters), so that the same bytes can
//! be a shared file mapped by many processes. Field offsets for readers of a
//! copied image come from the struct itself (`offset_of!`), never written
//! twice. docs/FORMAT.md describes the same layout for other tools.

use crate::sync::{AtomicPair, AtomicU32, AtomicU64, Pair};

/// "RINGLOG\0" in the region's first word.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"RINGLOG\0");
/// Version of this layout (1 was the in-order-commit protocol).
pub(crate) const VERSION: u32 = 2;
/// Bytes of the header proper.
pub(crate) const HEADER_SIZE: usize = 2048;
/// Bytes in front of the data area of a ring in a file (header and tables):
/// 20 KiB, a multiple of the page size.
pub(crate) const FILE_HEADER_SIZE: usize = HEADER_SIZE + std::mem::size_of::<Tables>();

/// `Header::flags`: the region is a file shared by processes (tables after
/// the header, pending frames carry their writer's session, `frame`).
pub(crate) const FLAG_FILE: u32 = 1;

/// A session tag (`session`): 0 for none (a ring in memory).
pub(crate) type Tag = u32;

/// Processes (open handles) that may have one ring file open at once.
pub(crate) const SESSIONS: usize = 256;
/// Readers, in all processes together, of one ring file.
pub(crate) const READER_SLOTS: usize = 256;

/// Flag in the claim's position: the ring is closed, no claim succeeds.
pub(crate) const CLOSED: u64 = 1;
/// The low bits of a position that carry flags.
pub(crate) const FLAGS: u64 = 7;

/// The position part of a claim word.
#[inline]
pub(crate) fn pos_of(p: Pair) -> u64 {
    p.pos & !FLAGS
}

/// Records stalled writers may hold at once before writes answer Busy
/// (`pins`). One bit each in `Header::pins_mask`.
#[cfg(not(loom))]
pub(crate) const PINS: usize = 64;
#[cfg(loom)]
pub(crate) const PINS: usize = 2;

/// The data area's slack for a capacity: room the eviction frontier (the
/// tail) may trail behind the retention boundary by, so that writers move
/// the tail once per slack's worth of frames instead of once per record.
/// Capacity / 16, at least 64 bytes, at most 4 KiB: one move walks at most
/// 4 KiB of frames (about 50 records of 64 bytes), which bounds the write
/// that does it.
pub(crate) const fn slack(capacity: u64) -> u64 {
    let s = capacity / 16;
    let s = if s < 64 { 64 } else { s };
    let s = if s > 4096 { 4096 } else { s };
    s & !7
}

/// One pinned stalled record (see `pins`).
#[repr(C)]
pub(crate) struct PinSlot {
    /// 0: free; 1: being filled or cleared; otherwise the pinned record's
    /// seq + 2.
    pub(crate) seq: AtomicU64,
    /// Virtual position of the first byte the stalled writer owns.
    pub(crate) pos: AtomicU64,
    /// Bytes it owns from there.
    pub(crate) ext: AtomicU64,
}

/// The region header.
#[repr(C, align(64))]
pub(crate) struct Header {
    // Line 0, written once before the ring is shared.
    pub(crate) magic: u64,
    pub(crate) version: u32,
    pub(crate) header_size: u32,
    /// Retention capacity in bytes.
    pub(crate) capacity: u64,
    /// Largest payload a record may have.
    pub(crate) max_record: u64,
    /// Bytes in the data area.
    pub(crate) data_size: u64,
    /// Random per ring; keys the frame markers (`frame`).
    pub(crate) key: u64,
    /// `FLAG_FILE` or 0.
    pub(crate) flags: u32,
    _pad0a: u32,
    _pad0b: u64,

    /// Line 1: (end of the last claimed frame | flags, seq of the next
    /// record). Moved by writers with a 16-byte CAS.
    pub(crate) claim: AtomicPair,
    _pad1: [u64; 6],

    /// Line 2: (first frame not evicted, its seq). Moved by writers that
    /// need room, once per slack's worth of frames.
    pub(crate) tail: AtomicPair,
    _pad2: [u64; 6],

    // Line 3: what every writer reads after its commit.
    /// The futex word readers and flushes sleep on; bumped to wake them.
    pub(crate) wake: AtomicU32,
    /// 1: a reader sleeps (or is about to) on `wake` and no writer has
    /// woken it since. The first writer to see it clears it and wakes.
    pub(crate) sleepers: AtomicU32,
    /// The smallest claim end at which a sleeping flush completes by
    /// eviction (u64::MAX: none).
    pub(crate) flush_at: AtomicU64,
    /// Bit i set: `pins[i]` holds a stalled record.
    pub(crate) pins_mask: AtomicU64,
    /// A ring file: 1 + the position of a run of claims without headers
    /// that blocks eviction (0: none), and since when (CLOCK_MONOTONIC,
    /// ms), as the first writer to find it noted (`reap::stuck_run`).
    pub(crate) stuck_pos: AtomicU64,
    pub(crate) stuck_since: AtomicU64,
    /// A ring file: when (CLOCK_MONOTONIC, ms) a writer last asked whether
    /// the writers of pinned records are still alive (`reap`).
    pub(crate) reap_at: AtomicU64,
    _pad3: [u64; 2],

    // Line 4: counters.
    /// Writes refused with Busy.
    pub(crate) dropped: AtomicU64,
    /// Live readers.
    pub(crate) readers: AtomicU64,
    /// Times a writer or closer woke sleepers (one futex wake each).
    pub(crate) wakeups: AtomicU64,
    /// A ring in a file: readers made so far (their ids, `registry`).
    pub(crate) reader_ids: AtomicU64,
    /// A ring in a file: times an opener found itself alone and recovered
    /// what dead processes left (`file`).
    pub(crate) recoveries: AtomicU64,
    /// A ring in a file: records found pending after their writer's
    /// process died, and marked dead (`reap`).
    pub(crate) reaped: AtomicU64,
    _pad4: [u64; 2],

    pub(crate) pins: [PinSlot; PINS],
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Header>() <= HEADER_SIZE);

impl Header {
    pub(crate) fn new(capacity: u64, max_record: u64, data_size: u64, key: u64, file: bool) -> Header {
        Header {
            magic: MAGIC,
            version: VERSION,
            header_size: if file { FILE_HEADER_SIZE } else { HEADER_SIZE } as u32,
            capacity,
            max_record,
            data_size,
            key,
            flags: if file { FLAG_FILE } else { 0 },
            _pad0a: 0,
            _pad0b: 0,
            claim: AtomicPair::new(Pair { pos: 0, seq: 0 }),
            _pad1: [0; 6],
            tail: AtomicPair::new(Pair { pos: 0, seq: 0 }),
            _pad2: [0; 6],
            wake: AtomicU32::new(0),
            sleepers: AtomicU32::new(0),
            flush_at: AtomicU64::new(u64::MAX),
            pins_mask: AtomicU64::new(0),
            stuck_pos: AtomicU64::new(0),
            stuck_since: AtomicU64::new(0),
            reap_at: AtomicU64::new(0),
            _pad3: [0; 2],
            dropped: AtomicU64::new(0),
            readers: AtomicU64::new(0),
            wakeups: AtomicU64::new(0),
            reader_ids: AtomicU64::new(0),
            recoveries: AtomicU64::new(0),
            reaped: AtomicU64::new(0),
            _pad4: [0; 2],
            pins: std::array::from_fn(|_| PinSlot {
                seq: AtomicU64::new(0),
                pos: AtomicU64::new(0),
                ext: AtomicU64::new(0),
            }),
        }
    }
}

/// One process's open handle of a ring file (`session`).
#[repr(C)]
pub(crate) struct SessionSlot {
    /// Bumped each time a process takes the slot: a pending frame tagged
    /// with an older generation belongs to a process that is gone.
    pub(crate) gen: AtomicU32,
    /// The process that took it last (for people reading the file).
    pub(crate) pid: AtomicU32,
}

/// One reader's progress, in a ring file (`registry`).
#[repr(C, align(64))]
pub(crate) struct ReaderSlot {
    /// `want << 1 | flush bit` (`registry`).
    pub(crate) cursor: AtomicU64,
    /// 0: free; else the reader's id (creation order, from 1).
    pub(crate) id: AtomicU64,
    /// The session (`session::Tag`) of the process that owns the reader.
    pub(crate) owner: AtomicU64,
}

/// What follows the header in a ring file.
#[repr(C, align(64))]
pub(crate) struct Tables {
    pub(crate) sessions: [SessionSlot; SESSIONS],
    pub(crate) readers: [ReaderSlot; READER_SLOTS],
}

#[cfg(not(loom))]
const _: () = assert!(FILE_HEADER_SIZE % 4096 == 0);

/// Field offsets in a region image, for `image::parse`.
pub(crate) mod offsets {
    use super::Header;
    use std::mem::offset_of;

    pub(crate) const MAGIC: usize = offset_of!(Header, magic);
    pub(crate) const VERSION: usize = offset_of!(Header, version);
    pub(crate) const HEADER_SIZE: usize = offset_of!(Header, header_size);
    pub(crate) const CAPACITY: usize = offset_of!(Header, capacity);
    pub(crate) const MAX_RECORD: usize = offset_of!(Header, max_record);
    pub(crate) const DATA_SIZE: usize = offset_of!(Header, data_size);
    pub(crate) const KEY: usize = offset_of!(Header, key);
    pub(crate) const FLAGS: usize = offset_of!(Header, flags);
    /// A 16-byte pair: position in the low 8 bytes (native endian u128).
    pub(crate) const CLAIM: usize = offset_of!(Header, claim);
    pub(crate) const TAIL: usize = offset_of!(Header, tail);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// The offsets docs/FORMAT.md gives to other tools.
    #[test]
    fn offsets_are_the_documented_ones() {
        assert_eq!(offsets::FLAGS, 48);
        assert_eq!((offsets::CLAIM, offsets::TAIL), (64, 128));
        assert_eq!(offset_of!(Header, wake), 192);
        assert_eq!((offset_of!(Header, stuck_pos), offset_of!(Header, stuck_since)), (216, 224));
        assert_eq!(offset_of!(Header, reap_at), 232);
        assert_eq!(offset_of!(Header, dropped), 256);
        assert_eq!(offset_of!(Header, reader_ids), 280);
        assert_eq!(offset_of!(Header, recoveries), 288);
        assert_eq!(offset_of!(Header, reaped), 296);
        assert_eq!(offset_of!(Header, pins), 320);
        assert_eq!(HEADER_SIZE + offset_of!(Tables, sessions), 2048);
        assert_eq!(HEADER_SIZE + offset_of!(Tables, readers), 4096);
        assert_eq!((size_of::<SessionSlot>(), size_of::<ReaderSlot>()), (8, 64));
        assert_eq!(FILE_HEADER_SIZE, 20480);
    }
}
