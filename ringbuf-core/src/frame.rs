//! Frames: how the data area is cut up, and how anyone tells a whole frame
//! from stale bytes.
//!
//! ```text
//! position x (a multiple of 8)
//! +-------------------------+---------------------------+----------------+---------+
//! | w0: marker(x, seq, kind)| w1: len | check << 40     | payload (len B)| pad 0-7 |
//! +-------------------------+---------------------------+----------------+---------+
//! ```
//!
//! Frames lie back to back; a frame may wrap around the end of the data
//! area (its 8-byte words never do). Four kinds:
//!
//! * **record** `seq`: a committed record; `len` payload bytes follow.
//! * **pending** `seq`: a claimed record whose writer is still copying
//!   (`len` already says how long it is).
//! * **skip** `seq`: no record; `len` is the frame's whole size (header
//!   included). A writer that must not touch a range another writer still
//!   owns (`pins`) skips over it; the record `seq` follows the skip.
//! * **dead** `seq`: a record whose write was abandoned (a panic inside
//!   ringlog); readers count it as lost.
//!
//! `w0` is the frame's marker: `mask(key, x) ^ seq ^ KINDS[kind]`, where
//! `key` is a random number drawn when the ring is made, `mask` a bijective
//! mix of `key ^ x`, and `KINDS` four constants whose top three bits name
//! the kind and whose other bits differ in about half their places (so that
//! a flipped bit in a file never turns one valid marker into another). A reader always knows the position and seq
//! it expects, so it compares `w0` with the one value that means "this
//! frame, committed" (or pending, skip, dead). The bytes at `x` before the
//! frame was written are whatever an older lap left there: an older header
//! (its marker was computed for another position and seq, so it differs) or
//! payload, which user data fills. Payload matches only by chance, 2^-64
//! per comparison for data independent of the ring's key, which no program
//! logging through ringlog can read without reading the ring's own header.
//!
//! `w1` holds the length (40 bits: up to 1 TiB - 1) and a 24-bit check of
//! (seq, length), which catches a torn or damaged `w1` in a file image.
//! In a ring in a file, a record's `w1` holds its writer's session tag
//! (`session`) in those 24 bits instead: whoever finds the record stalled
//! (pending) can ask whether its writer's process is still there (`reap`).
//! The writer stores that `w1` once, before its pending marker, and never
//! again: a second store (the checked `w1` at commit, say) would open a
//! window in which the frame is still pending but no longer names its
//! writer, and a reaper reading the check bits as a session would take a
//! live writer's record (the writer's commit would then land in reused
//! bytes). So in a ring file the length of record, pending and dead frames
//! is read without a check; the keyed marker is what vouches for a frame.
//! Writers store `w1` first and `w0` last, with Release; a reader that sees
//! the marker (Acquire) sees the length and payload written before it.
//!
//! Framing costs a 16-byte header plus 0-7 bytes of padding: at most 23
//! bytes per record.
//!
//! Besides reading and writing one header, this module walks frames: where
//! the oldest retained frame group starts (`oldest`), and how far a claimed
//! group reaches whose writer has not written its header yet
//! (`unwritten_extent`).

use crate::layout::pos_of;
use crate::shared::Shared;
use crate::sync::{fence, Ordering, Pair};

/// Bytes of header in front of every payload.
pub(crate) const HEADER_LEN: u64 = 16;
/// Seqs stay below this (2^61: 73 years at a billion records a second).
pub(crate) const SEQ_LIMIT: u64 = 1 << KIND_SHIFT;
const KIND_SHIFT: u32 = 61;
/// Bits of `w1` that hold the length.
const LEN_BITS: u32 = 40;
const LEN_MASK: u64 = (1 << LEN_BITS) - 1;

/// Bytes a frame with a payload of `len` bytes occupies.
#[inline]
pub(crate) const fn frame_size(len: u64) -> u64 {
    HEADER_LEN + ((len + 7) & !7)
}

/// The kinds of frame, as stored in the marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Kind {
    Record = 0,
    Pending = 1,
    Skip = 2,
    Dead = 3,
}

/// A bijective 64-bit mix of `key ^ x`: one odd multiplication (spreads
/// every bit upwards), then a xor-shift (spreads the high bits, where laps
/// differ, downwards). Two positions' masks differ in a pattern a seq
/// difference matches by chance only.
#[inline]
pub(crate) fn mask(key: u64, x: u64) -> u64 {
    let z = (key ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z ^ (z >> 29)
}

/// The constant each kind mixes into its markers: the kind in the top three
/// bits, and 61 bits that differ between any two kinds in 31 to 44 places.
pub(crate) const KINDS: [u64; 4] = [
    0x0000_0000_0000_0000,
    0x2000_0000_0000_0000 | 0x1B5C_6E3A_9D27_48F1,
    0x4000_0000_0000_0000 | 0x06A9_D4C7_2E5B_B36C,
    0x6000_0000_0000_0000 | 0x1D37_A198_F4C2_6E95,
];

/// The marker of a frame of `kind` whose position has mask `mask`, in group
/// `seq`.
#[inline]
pub(crate) fn marker_masked(mask: u64, seq: u64, kind: Kind) -> u64 {
    mask ^ seq ^ KINDS[kind as usize]
}

/// The marker of a frame of `kind` at `x` in group `seq`.
#[inline]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn marker(key: u64, x: u64, seq: u64, kind: Kind) -> u64 {
    marker_masked(mask(key, x), seq, kind)
}

/// Decodes a marker read at `x`: the (seq, kind) it was written with, if it
/// is a marker at all (`None` for stale bytes, with the odds above; a wrong
/// seq for a damaged one).
#[inline]
pub(crate) fn unmark(key: u64, x: u64, w0: u64) -> Option<(u64, Kind)> {
    let v = w0 ^ mask(key, x);
    let kind = match v >> KIND_SHIFT {
        0 => Kind::Record,
        1 => Kind::Pending,
        2 => Kind::Skip,
        3 => Kind::Dead,
        _ => return None,
    };
    Some((v ^ KINDS[kind as usize], kind))
}

/// The 24-bit check of (seq, len) in `w1`: the top bits of one
/// multiplication (a torn or damaged `w1` passes with odds 2^-24).
#[inline]
fn check(seq: u64, len: u64) -> u64 {
    ((seq ^ len.rotate_left(29) ^ 0x5249_4E47_4C4F_4721).wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> LEN_BITS
    // "RINGLOG!"
}

/// `w1` for a frame of group `seq` with length `len`.
#[inline]
pub(crate) fn word1(seq: u64, len: u64) -> u64 {
    debug_assert!(len <= LEN_MASK);
    len | check(seq, len) << LEN_BITS
}

/// The length in `w1`, if its check matches `seq`.
#[inline]
pub(crate) fn len_of(seq: u64, w1: u64) -> Option<u64> {
    let len = w1 & LEN_MASK;
    (w1 >> LEN_BITS == check(seq, len)).then_some(len)
}

/// What a reader, writer or snapshot finds at a position, for the seq it
/// expects there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// Record `seq`, committed, `len` payload bytes.
    Record { len: u64 },
    /// Record `seq`, claimed and still being written; `owner` is its
    /// writer's session in a ring file (0 in memory).
    Pending { len: u64, owner: u32 },
    /// A skip frame of `size` bytes in front of record `seq`.
    Skip { size: u64 },
    /// Record `seq`, abandoned: nothing to read.
    Dead { len: u64 },
    /// No header for this seq here: not claimed yet, or claimed and its
    /// writer has not written the header yet.
    Unwritten,
}

impl Frame {
    /// Bytes the frame occupies (`None` for `Unwritten`).
    pub(crate) fn size(self) -> Option<u64> {
        match self {
            Frame::Record { len } | Frame::Pending { len, .. } | Frame::Dead { len } => Some(frame_size(len)),
            Frame::Skip { size } => Some(size),
            Frame::Unwritten => None,
        }
    }

    /// The seq after this frame (skips do not use one).
    pub(crate) fn next_seq(self, seq: u64) -> u64 {
        match self {
            Frame::Skip { .. } => seq,
            _ => seq + 1,
        }
    }
}

impl Shared {
    /// Data offset of the word 8 bytes after data offset `off`.
    #[inline]
    fn next_word(&self, off: u64) -> u64 {
        if off + 8 == self.geo.data {
            0
        } else {
            off + 8
        }
    }

    /// Reads the header at `x` for group `seq`. The answer is only as good
    /// as the frame is intact: callers that go on to use it check that the
    /// tail has not passed `x` since (`Shared::intact`).
    #[inline]
    pub(crate) fn frame(&self, x: u64, seq: u64) -> Frame {
        let off = self.geo.off(x);
        // Acquire: pairs with the Release store of the marker in
        // `put_header` / `set_kind`; the length and payload are visible.
        let w0 = self.region.word(off).load(Ordering::Acquire);
        let Some((s, kind)) = unmark(self.key, x, w0) else { return Frame::Unwritten };
        if s != seq {
            return Frame::Unwritten;
        }
        let w1 = self.region.word(self.next_word(off)).load(Ordering::Relaxed);
        if self.is_file() && kind != Kind::Skip {
            // The session's bits instead of the check (module doc).
            let len = w1 & LEN_MASK;
            return match kind {
                _ if len > self.max_record => Frame::Unwritten,
                Kind::Pending => Frame::Pending { len, owner: (w1 >> LEN_BITS) as u32 },
                Kind::Record => Frame::Record { len },
                _ => Frame::Dead { len },
            };
        }
        let Some(len) = len_of(seq, w1) else { return Frame::Unwritten };
        match kind {
            Kind::Record if len <= self.max_record => Frame::Record { len },
            Kind::Pending if len <= self.max_record => Frame::Pending { len, owner: 0 },
            Kind::Dead if len <= self.max_record => Frame::Dead { len },
            Kind::Skip if len >= HEADER_LEN && len % 8 == 0 && len <= self.geo.data => Frame::Skip { size: len },
            _ => Frame::Unwritten,
        }
    }

    /// The size of the frame at `x` if it is record `seq`, committed: the
    /// usual frame of an eviction walk, told with one comparison. Of `w1`
    /// only the bounds are checked: the marker, loaded with Acquire, was
    /// stored after it by the same writer (the check bits guard images).
    #[inline]
    pub(crate) fn committed_size(&self, x: u64, seq: u64) -> Option<u64> {
        let off = self.geo.off(x);
        let w0 = self.region.word(off).load(Ordering::Acquire);
        if w0 != marker_masked(mask(self.key, x), seq, Kind::Record) {
            return None;
        }
        let len = self.region.word(self.next_word(off)).load(Ordering::Relaxed) & LEN_MASK;
        (len <= self.max_record).then_some(frame_size(len))
    }

    /// Writes a header: `w1` (length), then the marker with Release.
    /// `mask` is `mask(key, x)`. A pending header in a ring file carries
    /// this handle's session instead of the check, for good (module doc).
    #[inline]
    pub(crate) fn put_header(&self, x: u64, mask: u64, seq: u64, kind: Kind, len: u64) {
        let w1 = if kind == Kind::Pending && self.is_file() {
            debug_assert!(len <= LEN_MASK);
            len | u64::from(self.owner) << LEN_BITS
        } else {
            word1(seq, len)
        };
        self.region.word(self.next_word(self.geo.off(x))).store(w1, Ordering::Relaxed);
        self.set_kind(x, mask, seq, kind);
    }

    /// Turns the pending frame at `x` (record `seq`) of a ring file into a
    /// dead one, unless it changed meanwhile: true if this call did. For
    /// frames whose writer is known to be gone (`reap`). Only the marker
    /// changes, with one compare-and-swap: when it fails, the bytes may be
    /// someone else's already, so nothing else may be stored there; the
    /// dead frame keeps the pending `w1`, whose length a ring file reads
    /// unchecked (module doc).
    pub(crate) fn kill_pending(&self, x: u64, seq: u64) -> bool {
        debug_assert!(self.is_file());
        let m = mask(self.key, x);
        let (pending, dead) = (marker_masked(m, seq, Kind::Pending), marker_masked(m, seq, Kind::Dead));
        // AcqRel: as the Release store of a commit; reapers race here.
        self.region.word(self.geo.off(x)).compare_exchange(pending, dead, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Changes the kind of the frame at `x` (pending to record or dead):
    /// the marker alone (`w1` stays: module doc). Release: the payload
    /// written before is visible with the marker.
    #[inline]
    pub(crate) fn set_kind(&self, x: u64, mask: u64, seq: u64, kind: Kind) {
        debug_assert_eq!(mask, self::mask(self.key, x));
        self.region.word(self.geo.off(x)).store(marker_masked(mask, seq, kind), Ordering::Release);
    }

    /// `mask(key, x)` for this ring.
    #[inline]
    pub(crate) fn mask_at(&self, x: u64) -> u64 {
        mask(self.key, x)
    }

    /// Copies payload bytes of the frame at `x`, from byte `skip` of the
    /// payload on, into `dst`.
    #[inline]
    pub(crate) fn read_payload(&self, x: u64, skip: u64, dst: &mut [u8]) {
        let at = self.geo.advance(self.geo.advance(x, HEADER_LEN), skip);
        self.region.read_bytes(self.geo.off(at), dst);
    }

    /// The extent of a claimed frame group at `x` (seq `s`) whose writer
    /// has not written a header yet: up to the next group's first frame
    /// (seq `s + 1`), found through the claim word or by looking for its
    /// marker. `None` when it cannot be found yet (the next group's header
    /// is not written either).
    ///
    /// A group (a skip frame and a record) spans at most the capacity (a
    /// claim ensures it), so the search looks at most that far: its cost is
    /// at most one 8-byte word read per 8 bytes of the stalled group, and it
    /// only runs when a writer stopped between its claim and its first
    /// store for a whole lap of the ring.
    pub(crate) fn unwritten_extent(&self, x: u64, s: u64) -> Option<u64> {
        let g = self.geo;
        let c = self.claim_word();
        if c.seq <= s || pos_of(c) <= x {
            return None; // not claimed at all (or `x` is stale)
        }
        if c.seq == s + 1 {
            return Some(g.dist(pos_of(c), x)).filter(|&e| e <= g.cap);
        }
        // Another group follows: its first frame (skip, pending, record or
        // dead) carries seq s + 1.
        let end = pos_of(c).min(g.advance(x, g.cap));
        let mut y = g.advance(x, HEADER_LEN);
        while y < end {
            if !matches!(self.frame(y, s + 1), Frame::Unwritten) {
                return Some(g.dist(y, x));
            }
            y = g.advance(y, 8);
        }
        None
    }

    /// A run of claimed frame groups from `x` (seq `s` on) none of whose
    /// writers has written a header: its extent, up to the first header of
    /// a later group (or the claim), and how many groups it holds. For
    /// when `unwritten_extent` cannot tell (the next group has no header
    /// either). The groups' own boundaries are lost; only the run is known.
    /// `None` when `x` is not claimed. Costs one word read per 8 bytes up
    /// to the next header.
    pub(crate) fn unwritten_run(&self, x: u64, s: u64) -> Option<(u64, u64)> {
        let g = self.geo;
        let c = self.claim_word();
        let end = pos_of(c);
        if c.seq <= s || end <= x {
            return None;
        }
        let mut y = g.advance(x, HEADER_LEN);
        while y < end {
            let w0 = self.region.word(g.off(y)).load(Ordering::Acquire);
            // Markers are keyed by position: one for `y` with a seq after
            // `s` was written in this lap, by a later group's writer.
            if let Some((q, _)) = unmark(self.key, y, w0) {
                if q > s && q < c.seq && !matches!(self.frame(y, q), Frame::Unwritten) {
                    return Self::run_fits(g.dist(y, x), q - s);
                }
            }
            y = g.advance(y, 8);
        }
        Self::run_fits(g.dist(end, x), c.seq - s)
    }

    /// A run of `groups` claims over `ext` bytes, if they fit (every claim
    /// is at least a header long; more claims than that is damage).
    fn run_fits(ext: u64, groups: u64) -> Option<(u64, u64)> {
        (groups <= ext / HEADER_LEN).then_some((ext, groups))
    }

    /// The oldest retained frame group: the first frame boundary at or
    /// after the retention boundary (the claim minus the capacity), found by
    /// walking from the tail. Its position and seq.
    pub(crate) fn oldest(&self) -> Pair {
        let g = self.geo;
        loop {
            let t = self.header().tail.load(Ordering::Acquire);
            let target = g.back(pos_of(self.claim_word()), g.cap);
            let (mut x, mut s) = (t.pos, t.seq);
            while x < target {
                let f = self.frame(x, s);
                match f.size() {
                    Some(size) => {
                        x = g.advance(x, size);
                        s = f.next_seq(s);
                    }
                    None => match self.unwritten_extent(x, s) {
                        Some(ext) => {
                            x = g.advance(x, ext);
                            s += 1;
                        }
                        None => break, // a writer has not written its header yet
                    },
                }
            }
            // The frames walked were intact if the tail did not move.
            fence(Ordering::Acquire);
            if self.header().tail.load(Ordering::Relaxed) == t {
                return Pair { pos: x, seq: s };
            }
        }
    }

    /// True when the frame at `x` for `seq` is not ready for a reader: not
    /// written, or still pending.
    #[inline]
    pub(crate) fn unready(&self, x: u64, seq: u64) -> bool {
        matches!(self.frame(x, seq), Frame::Unwritten | Frame::Pending { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_aligned_and_framing_is_at_most_23_bytes() {
        for len in 0..100u64 {
            let size = frame_size(len);
            assert_eq!(size % 8, 0);
            assert!(size >= len + HEADER_LEN);
            assert!(size - len <= 23, "len {len}: framing {}", size - len);
        }
    }

    #[test]
    fn markers_round_trip_and_differ_by_position_seq_and_kind() {
        let key = 0x1234_5678_9abc_def0;
        for (x, seq) in [(0u64, 0u64), (8, 1), (1 << 40, SEQ_LIMIT - 1)] {
            for kind in [Kind::Record, Kind::Pending, Kind::Skip, Kind::Dead] {
                let m = marker(key, x, seq, kind);
                assert_eq!(unmark(key, x, m), Some((seq, kind)));
                assert_ne!(unmark(key, x + 8, m), Some((seq, kind)));
                // One flipped bit never gives another valid marker of this
                // position and seq.
                for bit in 0..64 {
                    let got = unmark(key, x, m ^ 1 << bit);
                    assert!(got.is_none_or(|(s, _)| s != seq), "bit {bit} of {kind:?}");
                }
            }
        }
        assert_eq!(len_of(7, word1(7, 100)), Some(100));
        assert_eq!(len_of(8, word1(7, 100)), None, "the check binds the length to the seq");
        assert_eq!(len_of(7, word1(7, 100) ^ 4), None);
    }
}
