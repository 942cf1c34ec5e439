//! Record framing: how one record is laid out in the ring.
//!
//! ```text
//! position p (a multiple of 8)
//! +----------------+---------------------------+------------------+---------+
//! | word 0: seq    | word 1: len | check << 40 | payload (len B)  | pad 0-7 |
//! +----------------+---------------------------+------------------+---------+
//!   8 bytes          8 bytes                      len bytes          to 8
//! ```
//!
//! * `seq` is the record's sequence number (u64, native endian like the rest
//!   of the region).
//! * `len` takes the low 40 bits of word 1 (records up to 1 TiB - 1; the
//!   largest ring takes records of at most 256 GiB).
//! * `check` takes the high 24 bits: a hash of `seq` and `len`. A header whose
//!   check does not match is not a record: zeroed memory, a torn header, or
//!   the middle of some payload.
//!
//! Framing costs 16 bytes of header plus 0-7 bytes of padding: at most 23
//! bytes a record. Records may wrap around the end of the data area; each
//! 8-byte word sits at an 8-aligned offset, so no word ever wraps.

/// Bytes of header in front of every payload.
pub(crate) const HEADER_LEN: u64 = 16;
/// Records start at multiples of this.
pub(crate) const ALIGN: u64 = 8;
/// Bits of word 1 that hold the payload length.
const LEN_BITS: u32 = 40;
/// Mask of the length bits in word 1.
pub(crate) const LEN_MASK: u64 = (1 << LEN_BITS) - 1;

/// Bytes a record of `len` payload bytes occupies in the ring.
#[inline]
pub(crate) const fn record_size(len: u64) -> u64 {
    HEADER_LEN + ((len + ALIGN - 1) & !(ALIGN - 1))
}

/// The 24-bit check of a header. Mixes in a constant so that an all-zero
/// header (fresh memory) does not pass.
#[inline]
fn check(seq: u64, len: u64) -> u64 {
    let mut x = seq ^ len.rotate_left(29) ^ 0x5249_4E47_4C4F_4721; // "RINGLOG!"
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x >> LEN_BITS
}

/// The two header words of a record.
#[inline]
pub(crate) fn encode(seq: u64, len: u64) -> [u64; 2] {
    debug_assert!(len <= LEN_MASK);
    [seq, len | (check(seq, len) << LEN_BITS)]
}

/// A decoded, checked record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub seq: u64,
    pub len: u64,
}

impl Frame {
    /// Bytes this record occupies in the ring.
    #[inline]
    pub(crate) fn size(self) -> u64 {
        record_size(self.len)
    }
}

/// Decodes two header words; `None` when the check does not match.
#[inline]
pub(crate) fn decode(word0: u64, word1: u64) -> Option<Frame> {
    let len = word1 & LEN_MASK;
    (word1 >> LEN_BITS == check(word0, len)).then_some(Frame { seq: word0, len })
}

/// The payload length stored in header word 1, without checking it. Only for
/// headers the caller knows are whole (committed and not yet evicted).
#[inline]
pub(crate) fn len_of(word1: u64) -> u64 {
    word1 & LEN_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_aligned_and_framing_is_at_most_23_bytes() {
        for len in 0..100u64 {
            let size = record_size(len);
            assert_eq!(size % ALIGN, 0);
            assert!(size >= len + HEADER_LEN);
            assert!(size - len <= 23, "len {len}: framing {}", size - len);
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        for (seq, len) in [(0, 0), (1, 5), (u64::MAX, LEN_MASK), (12345, 1 << 30)] {
            let [w0, w1] = encode(seq, len);
            assert_eq!(decode(w0, w1), Some(Frame { seq, len }));
        }
    }

    #[test]
    fn zeroed_and_damaged_headers_are_rejected() {
        assert_eq!(decode(0, 0), None);
        let [w0, w1] = encode(7, 100);
        assert_eq!(decode(w0 ^ 1, w1), None, "seq changed");
        assert_eq!(decode(w0, w1 ^ 4), None, "len changed");
        assert_eq!(decode(w0, w1 ^ (1 << 50)), None, "check changed");
    }
}
