//! Reading a ring's region from plain bytes: a crash dump, a copy made by
//! [`Ring::region_image`](crate::Ring::region_image), later a mapped ring
//! file left behind by a crashed process.
//!
//! The parser trusts nothing: any byte string gives either an error or the
//! records that are provably whole (their marker says committed for exactly
//! that position and seq, their length check passes, they lie between the
//! tail and the claim).

use std::fmt;

use crate::frame::{frame_size, len_of, unmark, Kind, HEADER_LEN};
use crate::layout::{offsets, slack, CLOSED, FILE_HEADER_SIZE, FLAG_FILE, HEADER_SIZE, MAGIC, VERSION};
use crate::pos::Geometry;

/// What a region image holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dump {
    /// Retention capacity of the ring, in bytes.
    pub capacity: u64,
    /// True when the ring had been closed.
    pub closed: bool,
    /// Seq the next record would have had.
    pub next_seq: u64,
    /// The whole records, oldest first: (seq, bytes). Records still being
    /// written when the image was taken are left out.
    pub records: Vec<(u64, Vec<u8>)>,
    /// True when the walk from the tail stopped before the claim at a frame
    /// that is not whole (a header never written, or damage); `records`
    /// holds those before it.
    pub damaged: bool,
}

/// Why a byte string is not a ring region.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageError {
    /// Shorter than the header, or not header + data bytes long.
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

/// A (position, seq) pair as the header stores it: a native-endian u128,
/// the position in its low half.
fn pair_at(bytes: &[u8], off: usize) -> (u64, u64) {
    let v = u128::from_ne_bytes(bytes[off..off + 16].try_into().expect("16 bytes"));
    (v as u64, (v >> 64) as u64)
}

/// Positions stay below this (2^62 bytes: 146 years of writing at 1 GB/s).
/// A header with a claim beyond is damaged, and position arithmetic near
/// 2^64 (a lap further) would overflow.
pub(crate) const POS_LIMIT: u64 = 1 << 62;

/// What a valid region header says.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeaderInfo {
    pub(crate) capacity: u64,
    pub(crate) max_record: u64,
    pub(crate) key: u64,
    /// Bytes in front of the data area.
    pub(crate) header_size: usize,
    pub(crate) data: u64,
    pub(crate) file: bool,
}

impl HeaderInfo {
    /// Bytes of the whole region.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn region_len(&self) -> u64 {
        self.header_size as u64 + self.data
    }
}

/// Checks the fixed fields of a region header (the first HEADER_SIZE bytes
/// of `bytes`, at least) and that the region is `len` bytes long.
pub(crate) fn check_header(bytes: &[u8], len: u64) -> Result<HeaderInfo, ImageError> {
    if bytes.len() < HEADER_SIZE || len < HEADER_SIZE as u64 {
        return Err(ImageError::Length);
    }
    if u64_at(bytes, offsets::MAGIC) != MAGIC {
        return Err(ImageError::Magic);
    }
    let version = u32_at(bytes, offsets::VERSION);
    if version != VERSION {
        return Err(ImageError::Version(version));
    }
    let header_size = u32_at(bytes, offsets::HEADER_SIZE) as usize;
    let file = match (u32_at(bytes, offsets::FLAGS), header_size) {
        (0, HEADER_SIZE) => false,
        (FLAG_FILE, FILE_HEADER_SIZE) => true,
        _ => return Err(ImageError::Header("header size or flags")),
    };
    let capacity = u64_at(bytes, offsets::CAPACITY);
    if !capacity.is_power_of_two() || !(64..=crate::ring::MAX_CAPACITY).contains(&capacity) {
        return Err(ImageError::Header("capacity"));
    }
    let data = u64_at(bytes, offsets::DATA_SIZE);
    if data != capacity + slack(capacity) {
        return Err(ImageError::Header("data size"));
    }
    if len != header_size as u64 + data {
        return Err(ImageError::Length);
    }
    let max_record = u64_at(bytes, offsets::MAX_RECORD);
    if max_record != capacity / 4 {
        return Err(ImageError::Header("max_record"));
    }
    let info = HeaderInfo { capacity, max_record, key: u64_at(bytes, offsets::KEY), header_size, data, file };
    let g = Geometry::new(capacity, data);
    let (claim_word, next_seq) = pair_at(bytes, offsets::CLAIM);
    let (tail, tail_seq) = pair_at(bytes, offsets::TAIL);
    let claim = claim_word & !7;
    let positions_ok = tail % 8 == 0
        && g.off(tail) < data
        && g.off(claim) < data
        && tail <= claim
        && g.dist(claim, tail) <= data
        && tail_seq <= next_seq
        && next_seq < crate::frame::SEQ_LIMIT
        && claim < POS_LIMIT;
    if !positions_ok {
        return Err(ImageError::Header("positions"));
    }
    Ok(info)
}

/// Parses a region image.
///
/// # Errors
///
/// An [`ImageError`] when the header is not a valid ringlog region header.
/// Damage past the header is not an error: the records before it are
/// returned and [`Dump::damaged`] is set.
pub fn parse(bytes: &[u8]) -> Result<Dump, ImageError> {
    let HeaderInfo { capacity, max_record, key, header_size, data, file } = check_header(bytes, bytes.len() as u64)?;
    let g = Geometry::new(capacity, data);
    let (claim_word, next_seq) = pair_at(bytes, offsets::CLAIM);
    let (tail, tail_seq) = pair_at(bytes, offsets::TAIL);
    let claim = claim_word & !7;
    let word = |x: u64| u64_at(bytes, header_size + g.off(x) as usize);
    let area = &bytes[header_size..];
    let mut records = Vec::new();
    let (mut x, mut s) = (tail, tail_seq);
    let mut damaged = false;
    while x < claim {
        let Some((seq, kind)) = unmark(key, x, word(x)) else {
            damaged = true;
            break;
        };
        let w1 = word(g.advance(x, 8));
        // A ring file's records carry their writer's session in place of
        // the check (`frame`): only the length is read.
        let unchecked = file && kind != Kind::Skip;
        let len = if unchecked { Some(w1 & ((1 << 40) - 1)) } else { len_of(seq, w1) };
        let Some(len) = len.filter(|_| seq == s && seq < next_seq) else {
            damaged = true;
            break;
        };
        let size = match kind {
            Kind::Skip => len,
            _ => frame_size(len),
        };
        let bad_size = match kind {
            Kind::Skip => size < HEADER_LEN || size % 8 != 0,
            _ => len > max_record,
        };
        if bad_size || size > g.dist(claim, x) {
            damaged = true;
            break;
        }
        if kind == Kind::Record {
            let mut payload = vec![0u8; len as usize];
            let start = g.off(g.advance(x, HEADER_LEN)) as usize;
            let first = payload.len().min(data as usize - start);
            payload[..first].copy_from_slice(&area[start..start + first]);
            let rest = payload.len() - first;
            payload[first..].copy_from_slice(&area[..rest]);
            // Retained: the frame starts within the newest `capacity` bytes.
            if x >= g.back(claim, capacity) {
                records.push((seq, payload));
            }
        }
        x = g.advance(x, size);
        if kind != Kind::Skip {
            s += 1;
        }
    }
    Ok(Dump { capacity, closed: claim_word & CLOSED != 0, next_seq, records, damaged })
}
