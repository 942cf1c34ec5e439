//! The region image format (version 2), written down a second time,
//! independently of ringbuf-core, from docs/FORMAT.md: the offsets, the
//! position arithmetic, the frame markers and length checks, and a
//! reference walk.
//!
//! Where it is defined: docs/FORMAT.md ("enough to write another reader"),
//! which follows `ringbuf-core/src/layout.rs` (the `Header` struct,
//! `#[repr(C, align(64))]`, whose `offset_of!` values `image::parse` reads
//! through `layout::offsets`; `slack`), `pos.rs` (positions) and `frame.rs`
//! (frames, `mask`, `check`); `image.rs` says what `parse` accepts.
//!
//! Why written down rather than imported: the region is a file format (a
//! crash dump now, a mapped ring file later), so a second reader that knows
//! only the documented format is what other tools will be. The parser's
//! offsets and formulas are crate-private (`layout::offsets` from
//! `offset_of!`, `frame::mask`, `frame::check`), and importing them would
//! make the harness agree with the library by construction: if a field of
//! `Header` moved or a formula changed, parser and harness would change
//! together and nobody would notice that existing files no longer read, or
//! that FORMAT.md went stale. Written down here, such a change makes the
//! structured mode (real images from `Ring`) fail at once: it asserts that
//! every header word of a real image is exactly what these formulas give.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "RINGLOG\0"                      (validated exactly)
//!      8     4  version = 2                            (validated exactly)
//!     12     4  header_size: 2048 in memory, 20480 in a file (validated)
//!     16     8  capacity C: power of two, 64..=2^40    (validated)
//!     24     8  max_record = C / 4                     (validated exactly)
//!     32     8  data_size D = C + slack(C)             (validated exactly)
//!     40     8  key K: random per ring, keys the frame markers
//!     48     4  flags: 0 in memory, 1 (a ring file) with header_size 20480
//!                                                      (validated exactly)
//!     64    16  claim: native-endian u128; low 64 bits the position of the
//!               end of the last claimed frame | flags (bit 0: closed; bits
//!               1-2 unused), high 64 bits the next record's seq (< 2^61)
//!    128    16  tail: the same shape: first frame not evicted, its seq
//!   2048 18432  a ring file only: tables (sessions, readers' progress)
//!     hs     D  data area, hs = header_size
//! ```
//!
//! Everything else in the header (wake-up word, sleeper counts, pins,
//! counters) and the tables are live state a reader of an image ignores.
//!
//! A ring file differs in one more way: a record's `w1` holds its writer's
//! session tag in place of the check, stored once and kept when the record
//! is committed or reaped: in a ring file the length of record, pending and
//! dead frames is read without the check (skip frames keep theirs), and
//! the keyed marker alone vouches for a frame.

/// Bytes in front of the data area of a ring in memory (the header).
pub(crate) const HEADER_SIZE: usize = 2048;
/// Bytes in front of the data area of a ring file (header and tables).
pub(crate) const FILE_HEADER_SIZE: usize = 20480;
/// `flags` of a ring file.
pub(crate) const FLAG_FILE: u32 = 1;
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"RINGLOG\0");
pub(crate) const VERSION: u32 = 2;

pub(crate) const OFF_MAGIC: usize = 0;
pub(crate) const OFF_VERSION: usize = 8;
pub(crate) const OFF_HEADER_SIZE: usize = 12;
pub(crate) const OFF_CAPACITY: usize = 16;
pub(crate) const OFF_MAX_RECORD: usize = 24;
pub(crate) const OFF_DATA_SIZE: usize = 32;
pub(crate) const OFF_KEY: usize = 40;
pub(crate) const OFF_FLAGS: usize = 48;
/// Bytes `[0, VALIDATED)`: magic, version, header size, capacity,
/// max_record, data size. Each is fully determined by the others (or a
/// constant), so any change to them must make `parse` fail. So must a
/// change to `flags` (`validated`).
pub(crate) const VALIDATED: usize = 40;

/// True for the header bytes whose every change makes `parse` fail: those
/// below `VALIDATED` and the 4 bytes of `flags` (which must match the
/// header size).
pub(crate) fn validated(i: usize) -> bool {
    i < VALIDATED || (OFF_FLAGS..OFF_FLAGS + 4).contains(&i)
}
/// A ring file's count of openers that were alone with it and recovered
/// it (live state; docs/FORMAT.md).
pub(crate) const OFF_RECOVERIES: usize = 288;
pub(crate) const OFF_CLAIM: usize = 64;
pub(crate) const OFF_TAIL: usize = 128;

/// Flag bits in the claim's position; bit 0 is "closed".
pub(crate) const FLAGS: u64 = 7;
pub(crate) const CLOSED: u64 = 1;

/// Bytes of frame header: `w0` (marker) and `w1` (length | check).
pub(crate) const FRAME_HEADER: u64 = 16;
const KIND_SHIFT: u32 = 61;
/// Seqs are below 2^61 (the marker's top three bits hold the kind).
pub(crate) const SEQ_LIMIT: u64 = 1 << KIND_SHIFT;
const LEN_BITS: u32 = 40;
const LEN_MASK: u64 = (1 << LEN_BITS) - 1;

/// Positions (the claim, and so the tail) are below 2^62: a header with one
/// beyond is refused (the opener's arithmetic a lap further must not
/// overflow; no ring writes 2^62 bytes).
pub(crate) const POS_LIMIT: u64 = 1 << 62;

pub(crate) const MIN_CAPACITY: u64 = 64;
pub(crate) const MAX_CAPACITY: u64 = 1 << 40;

/// The data area's slack: `clamp(C / 16, 64, 4096)` rounded down to 8.
pub(crate) fn slack(capacity: u64) -> u64 {
    (capacity / 16).clamp(64, 4096) & !7
}

/// Bytes a frame with `len` payload bytes occupies: header + payload padded
/// to 8.
pub(crate) fn frame_size(len: u64) -> u64 {
    FRAME_HEADER + ((len + 7) & !7)
}

// ---- positions (pos.rs) ------------------------------------------------------

/// Virtual positions: `lap << shift | offset`, `2^(shift-1) < data <= 2^shift`,
/// `offset < data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geo {
    pub(crate) cap: u64,
    pub(crate) data: u64,
    pub(crate) shift: u32,
}

impl Geo {
    pub(crate) fn new(cap: u64, data: u64) -> Geo {
        assert!(data > 1);
        Geo { cap, data, shift: 64 - (data - 1).leading_zeros() }
    }

    pub(crate) fn off(&self, v: u64) -> u64 {
        v & ((1u64 << self.shift) - 1)
    }

    pub(crate) fn lap(&self, v: u64) -> u64 {
        v >> self.shift
    }

    /// True when `v` names a byte of the data area (its offset is used).
    pub(crate) fn valid(&self, v: u64) -> bool {
        self.off(v) < self.data
    }

    /// The position `n <= data` bytes after valid `v` (None past 2^64).
    pub(crate) fn advance(&self, v: u64, n: u64) -> Option<u64> {
        assert!(n <= self.data && self.valid(v));
        let o = self.off(v) + n;
        if o < self.data {
            v.checked_add(n)
        } else {
            self.lap(v).checked_add(1)?.checked_mul(1u64 << self.shift).map(|l| l | (o - self.data))
        }
    }

    /// The position `n <= data` bytes before valid `v`, or 0 before the
    /// first byte.
    pub(crate) fn back(&self, v: u64, n: u64) -> u64 {
        assert!(n <= self.data && self.valid(v));
        let o = self.off(v);
        if o >= n {
            v - n
        } else if self.lap(v) == 0 {
            0
        } else {
            ((self.lap(v) - 1) << self.shift) | (o + self.data - n)
        }
    }

    /// Bytes from valid `b` to valid `a >= b`.
    pub(crate) fn dist(&self, a: u64, b: u64) -> u64 {
        assert!(a >= b && self.valid(a) && self.valid(b));
        (self.lap(a) - self.lap(b)) * self.data + self.off(a) - self.off(b)
    }

    /// Index in the data area of the byte `k` bytes after the start of
    /// offset `off` (wrapping).
    pub(crate) fn idx(&self, off: u64, k: u64) -> usize {
        ((off + k % self.data) % self.data) as usize
    }
}

// ---- frames (frame.rs) ---------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Record = 0,
    Pending = 1,
    Skip = 2,
    Dead = 3,
}

impl Kind {
    pub(crate) fn from_bits(b: u64) -> Option<Kind> {
        match b {
            0 => Some(Kind::Record),
            1 => Some(Kind::Pending),
            2 => Some(Kind::Skip),
            3 => Some(Kind::Dead),
            _ => None,
        }
    }
}

/// `mask(K, x) = z ^ (z >> 29)` where `z = (K ^ x) * 0x9E3779B97F4A7C15`
/// (wrapping).
pub(crate) fn mask(key: u64, x: u64) -> u64 {
    let z = (key ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z ^ (z >> 29)
}

/// `KINDS[kind]`, from docs/FORMAT.md: the kind in the top three bits.
pub(crate) const KINDS: [u64; 4] = [0x0, 0x3B5C_6E3A_9D27_48F1, 0x46A9_D4C7_2E5B_B36C, 0x7D37_A198_F4C2_6E95];

/// `w0`: `mask(key, x) ^ seq ^ KINDS[kind]`.
pub(crate) fn marker(key: u64, x: u64, seq: u64, kind: Kind) -> u64 {
    mask(key, x) ^ seq ^ KINDS[kind as usize]
}

/// The (seq, kind) a `w0` read at `x` was written with, if its kind bits
/// name a kind.
pub(crate) fn unmark(key: u64, x: u64, w0: u64) -> Option<(u64, Kind)> {
    let v = w0 ^ mask(key, x);
    let kind = Kind::from_bits(v >> KIND_SHIFT)?;
    Some((v ^ KINDS[kind as usize], kind))
}

/// `check(seq, len) = ((seq ^ rotl(len, 29) ^ 0x52494E474C4F4721) *
/// 0x9E3779B97F4A7C15) >> 40`: 24 bits.
pub(crate) fn check(seq: u64, len: u64) -> u64 {
    (seq ^ len.rotate_left(29) ^ 0x5249_4E47_4C4F_4721).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> LEN_BITS
}

/// `w1`: `len | check(seq, len) << 40` (`len` < 2^40).
pub(crate) fn word1(seq: u64, len: u64) -> u64 {
    let len = len & LEN_MASK;
    len | check(seq, len) << LEN_BITS
}

/// The length in `w1` if its check matches `seq`.
pub(crate) fn len_of(seq: u64, w1: u64) -> Option<u64> {
    let len = w1 & LEN_MASK;
    (w1 >> LEN_BITS == check(seq, len)).then_some(len)
}

// ---- bytes ---------------------------------------------------------------------

pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

/// A (position, seq) pair: native-endian u128, the position in the low half.
pub(crate) fn pair_at(b: &[u8], off: usize) -> (u64, u64) {
    let v = u128::from_ne_bytes(b[off..off + 16].try_into().expect("16 bytes"));
    (v as u64, (v >> 64) as u64)
}

pub(crate) fn put_pair(b: &mut [u8], off: usize, pos: u64, seq: u64) {
    b[off..off + 16].copy_from_slice(&((seq as u128) << 64 | pos as u128).to_ne_bytes());
}

/// The 8-byte word at data offset `off` (any offset: wraps byte by byte).
pub(crate) fn data_word(area: &[u8], g: &Geo, off: u64) -> u64 {
    let mut w = [0u8; 8];
    for (k, b) in w.iter_mut().enumerate() {
        *b = area[g.idx(off, k as u64)];
    }
    u64::from_ne_bytes(w)
}

pub(crate) fn put_data_word(area: &mut [u8], g: &Geo, off: u64, v: u64) {
    for (k, b) in v.to_ne_bytes().iter().enumerate() {
        area[g.idx(off, k as u64)] = *b;
    }
}

// ---- the reference reader --------------------------------------------------------

/// A region header that `parse` must accept.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    /// Where the data area starts (`HEADER_SIZE` or `FILE_HEADER_SIZE`).
    pub(crate) header_size: usize,
    /// A ring file (flags 1): the lengths of all but skip frames unchecked.
    pub(crate) file: bool,
    pub(crate) g: Geo,
    pub(crate) max_record: u64,
    pub(crate) key: u64,
    /// The claim's position with its flags.
    pub(crate) claim_word: u64,
    pub(crate) claim: u64,
    pub(crate) next_seq: u64,
    pub(crate) tail: u64,
    pub(crate) tail_seq: u64,
}

/// Why a header must be refused (the `ImageError` it corresponds to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    Length,
    Magic,
    Version,
    Header(&'static str),
}

/// Reads and validates the header as the format (and image.rs) defines it.
/// When several things are wrong, the first in the parser's documented
/// order is named, but callers only rely on "refused or not" and on each
/// refusal being true.
pub(crate) fn header(b: &[u8]) -> Result<Header, Refused> {
    if b.len() < HEADER_SIZE {
        return Err(Refused::Length);
    }
    if u64_at(b, OFF_MAGIC) != MAGIC {
        return Err(Refused::Magic);
    }
    if u32_at(b, OFF_VERSION) != VERSION {
        return Err(Refused::Version);
    }
    let header_size = u32_at(b, OFF_HEADER_SIZE) as usize;
    let file = match (u32_at(b, OFF_FLAGS), header_size) {
        (0, HEADER_SIZE) => false,
        (FLAG_FILE, FILE_HEADER_SIZE) => true,
        _ => return Err(Refused::Header("header size or flags")),
    };
    let cap = u64_at(b, OFF_CAPACITY);
    if !cap.is_power_of_two() || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&cap) {
        return Err(Refused::Header("capacity"));
    }
    let data = u64_at(b, OFF_DATA_SIZE);
    if data != cap + slack(cap) {
        return Err(Refused::Header("data size"));
    }
    if b.len() as u64 != header_size as u64 + data {
        return Err(Refused::Length);
    }
    let max_record = u64_at(b, OFF_MAX_RECORD);
    if max_record != cap / 4 {
        return Err(Refused::Header("max_record"));
    }
    let g = Geo::new(cap, data);
    let (claim_word, next_seq) = pair_at(b, OFF_CLAIM);
    let (tail, tail_seq) = pair_at(b, OFF_TAIL);
    let claim = claim_word & !FLAGS;
    let ok = tail % 8 == 0
        && g.valid(tail)
        && g.valid(claim)
        && tail <= claim
        && g.dist(claim, tail) <= data
        && tail_seq <= next_seq
        && next_seq < SEQ_LIMIT
        && claim < POS_LIMIT;
    if !ok {
        return Err(Refused::Header("positions"));
    }
    Ok(Header {
        header_size,
        file,
        g,
        max_record,
        key: u64_at(b, OFF_KEY),
        claim_word,
        claim,
        next_seq,
        tail,
        tail_seq,
    })
}

/// A whole frame on the walk from the tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) x: u64,
    pub(crate) seq: u64,
    pub(crate) kind: Kind,
    /// Payload length (skip: the frame's whole size).
    pub(crate) len: u64,
    pub(crate) size: u64,
}

impl Frame {
    /// Bytes `[x, x + 16)`, the frame header, as data-area indexes.
    pub(crate) fn header_idx(&self, g: &Geo) -> impl Iterator<Item = usize> + '_ {
        let off = g.off(self.x);
        let g = *g;
        (0..FRAME_HEADER).map(move |k| g.idx(off, k))
    }

    /// The payload bytes' data-area indexes (records, pending, dead).
    pub(crate) fn payload_idx(&self, g: &Geo) -> impl Iterator<Item = usize> + '_ {
        let off = g.off(self.x);
        let g = *g;
        let n = if self.kind == Kind::Skip { 0 } else { self.len };
        (0..n).map(move |k| g.idx(off, FRAME_HEADER + k))
    }
}

/// The walk from the tail to the claim: every whole frame in order, and
/// whether it stopped before the claim.
#[derive(Clone, Debug)]
pub(crate) struct Walk {
    pub(crate) frames: Vec<Frame>,
    pub(crate) stopped: bool,
}

impl Walk {
    /// The committed, retained records: (position, seq, bytes).
    pub(crate) fn records(&self, h: &Header, area: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
        self.frames
            .iter()
            .filter(|f| f.kind == Kind::Record && retained(h, f.x))
            .map(|f| (f.x, f.seq, f.payload_idx(&h.g).map(|i| area[i]).collect()))
            .collect()
    }
}

/// Retained: the frame starts within the newest `capacity` bytes before the
/// claim.
pub(crate) fn retained(h: &Header, x: u64) -> bool {
    h.g.dist(h.claim, x) <= h.g.cap
}

/// Walks the frames from the tail as the format defines them: at position
/// `x` (a multiple of 8) with expected seq `s`, a frame is whole when `w0`
/// is a marker for exactly (`x`, `s`) of some kind, `s` below the claim's
/// next seq, `w1`'s check matches
/// `s` (in a ring file, all but skip frames: not checked, `w1`'s low 40
/// bits are the length), and its size fits before the claim; a record, pending or dead
/// frame's length is at most `max_record`; a skip frame's size (its `len`)
/// is at least 16 and a multiple of 8, since every frame starts at a
/// multiple of 8. Record, pending and dead frames use one seq each; a skip
/// frame carries the seq of the frame after it.
pub(crate) fn walk(h: &Header, area: &[u8]) -> Walk {
    let g = h.g;
    let mut frames = Vec::new();
    let (mut x, mut s) = (h.tail, h.tail_seq);
    while x < h.claim {
        let w0 = data_word(area, &g, g.off(x));
        let w1 = data_word(area, &g, g.off(x) + 8);
        let stop = |why: String| {
            if crate::input::tracing() {
                eprintln!("reference walk stops at {x} (seq {s}): {why}");
            }
        };
        let Some((seq, kind)) = unmark(h.key, x, w0).filter(|&(seq, _)| seq == s && seq < h.next_seq) else {
            stop(format!("w0 decodes to {:?}", unmark(h.key, x, w0)));
            break;
        };
        let unchecked = h.file && kind != Kind::Skip;
        let len = if unchecked { Some(w1 & LEN_MASK) } else { len_of(seq, w1) };
        let Some(len) = len else {
            stop(format!("w1 {w1:#x} fails its check"));
            break;
        };
        let room = g.dist(h.claim, x);
        let size = match kind {
            Kind::Skip if len >= FRAME_HEADER && len % 8 == 0 => len,
            _ if kind != Kind::Skip && len <= h.max_record => frame_size(len),
            _ => {
                stop(format!("{kind:?} frame of length {len}"));
                break;
            }
        };
        if size > room {
            stop(format!("{kind:?} frame of {size} bytes, {room} before the claim"));
            break;
        }
        frames.push(Frame { x, seq, kind, len, size });
        x = g.advance(x, size).expect("within the claim");
        if kind != Kind::Skip {
            s += 1;
        }
    }
    Walk { stopped: x < h.claim, frames }
}

// ---- what an opener of a ring file must accept -----------------------------------

/// The seq that follows the walk's last frame (a skip keeps its seq).
pub(crate) fn walk_end_seq(h: &Header, w: &Walk) -> u64 {
    w.frames.last().map_or(h.tail_seq, |f| if f.kind == Kind::Skip { f.seq } else { f.seq + 1 })
}

/// A ring file that an opener alone with it must open (docs/FORMAT.md, "What
/// a crash leaves"): a ring file's header, and every frame from the tail to
/// the claim whole (the walk reaches the claim, with the claim's seq), so
/// that nothing needs explaining as a dead writer's. One more rule of the
/// opener's (`Repairs::find` in ringbuf-core/src/file.rs): the bytes a
/// frame covers whose length no check vouches for (in a ring file, every
/// frame but a skip frame) hold no marker made for a position among them
/// with a seq within 2 of the frame's (that would be a frame the length
/// swallowed); such a file may be refused. Nor may the claim position hold a marker
/// made for it with a seq within 2 of the claim's (nothing was claimed
/// there: the claim went back, and readers would read on past it).
pub(crate) fn opener_must_accept(h: &Header, area: &[u8], w: &Walk) -> bool {
    if !h.file || w.stopped || walk_end_seq(h, w) != h.next_seq {
        return false;
    }
    let g = h.g;
    let at_claim = data_word(area, &g, g.off(h.claim));
    if unmark(h.key, h.claim, at_claim).is_some_and(|(q, _)| q.abs_diff(h.next_seq) <= 2) {
        return false;
    }
    w.frames.iter().filter(|f| f.kind != Kind::Skip).all(|f| {
        let mut y = f.x;
        loop {
            y = g.advance(y, 8).expect("within the claim");
            if g.dist(y, f.x) >= f.size {
                return true;
            }
            let w0 = data_word(area, &g, g.off(y));
            if unmark(h.key, y, w0).is_some_and(|(q, _)| q.abs_diff(f.seq) <= 2) {
                return false;
            }
        }
    })
}
