//! Reading a ring's region from plain bytes: a crash dump, a copy made by
//! [`Ring::region_image`](crate::Ring::region_image), later a memory-mapped
//! ring file left behind by a crashed process.
//!
//! The parser trusts nothing: any byte string gives either an error or the
//! records that are provably whole (header check passes, seqs consecutive,
//! inside `[tail, head)`).

use std::fmt;

use crate::frame::HEADER_LEN;
use crate::region::{offsets, HEADER_SIZE, MAGIC, VERSION};
use crate::shared::{pos_of, CLOSED};
use crate::snapshot::frame_at;

/// What a region image holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dump {
    /// Data capacity of the ring, in bytes.
    pub capacity: u64,
    /// True when the ring had been closed.
    pub closed: bool,
    /// Seq the next record would have had.
    pub next_seq: u64,
    /// The whole records, oldest first: (seq, bytes).
    pub records: Vec<(u64, Vec<u8>)>,
    /// True when the walk from tail to head stopped at a record that was not
    /// whole (a torn write, or damage); `records` holds those before it.
    pub damaged: bool,
}

/// Why a byte string is not a ring region.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageError {
    /// Shorter than the header, or not header + capacity bytes long.
    Length,
    /// The first word is not the ringlog magic.
    Magic,
    /// A layout version this build does not read.
    Version(u32),
    /// The header's fields contradict each other; the text says which.
    Header(&'static str),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Length => f.write_str("image length does not match a ringlog region"),
            ImageError::Magic => f.write_str("not a ringlog region (bad magic)"),
            ImageError::Version(v) => write!(f, "unsupported ringlog region version {v}"),
            ImageError::Header(what) => write!(f, "inconsistent region header: {what}"),
        }
    }
}

impl std::error::Error for ImageError {}

fn u64_at(bytes: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(bytes[off..off + 8].try_into().expect("8 bytes"))
}

fn u32_at(bytes: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(bytes[off..off + 4].try_into().expect("4 bytes"))
}

/// Parses a region image.
///
/// # Errors
///
/// An [`ImageError`] when the header is not a valid ringlog region header.
/// Damage past the header is not an error: the records before it are
/// returned and [`Dump::damaged`] is set.
pub fn parse(bytes: &[u8]) -> Result<Dump, ImageError> {
    if bytes.len() < HEADER_SIZE {
        return Err(ImageError::Length);
    }
    if u64_at(bytes, offsets::MAGIC) != MAGIC {
        return Err(ImageError::Magic);
    }
    let version = u32_at(bytes, offsets::VERSION);
    if version != VERSION {
        return Err(ImageError::Version(version));
    }
    if u32_at(bytes, offsets::HEADER_SIZE) as usize != HEADER_SIZE {
        return Err(ImageError::Header("header size"));
    }
    let capacity = u64_at(bytes, offsets::CAPACITY);
    if !capacity.is_power_of_two() || !(64..=crate::ring::MAX_CAPACITY).contains(&capacity) {
        return Err(ImageError::Header("capacity"));
    }
    if (bytes.len() - HEADER_SIZE) as u64 != capacity {
        return Err(ImageError::Length);
    }
    let max_record = u64_at(bytes, offsets::MAX_RECORD);
    if max_record != capacity / 4 {
        return Err(ImageError::Header("max_record"));
    }
    let reserve = u64_at(bytes, offsets::RESERVE);
    let head = pos_of(u64_at(bytes, offsets::HEAD));
    let tail = u64_at(bytes, offsets::TAIL);
    if tail % 8 != 0 || tail > head || head > pos_of(reserve) || head - tail > capacity {
        return Err(ImageError::Header("positions"));
    }
    let next_seq = u64_at(bytes, offsets::NEXT_SEQ);

    // Unroll [tail, head) of the data area into a linear buffer.
    let data = &bytes[HEADER_SIZE..];
    let n = (head - tail) as usize;
    let start = (tail % capacity) as usize;
    let first = n.min(capacity as usize - start);
    let mut raw = Vec::with_capacity(n);
    raw.extend_from_slice(&data[start..start + first]);
    raw.extend_from_slice(&data[..n - first]);

    let mut records = Vec::new();
    let mut at = 0usize;
    // The seq each next record must carry: consecutive from the first.
    let mut expect: Option<u64> = None;
    while let Some(f) = frame_at(&raw, at, max_record) {
        if !records.is_empty() && expect != Some(f.seq) {
            break;
        }
        let payload = at + HEADER_LEN as usize;
        records.push((f.seq, raw[payload..payload + f.len as usize].to_vec()));
        expect = f.seq.checked_add(1);
        at += f.size() as usize;
    }
    Ok(Dump { capacity, closed: reserve & CLOSED != 0, next_seq, records, damaged: at != raw.len() })
}
