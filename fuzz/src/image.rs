//! Target `image`: `ringbuf_core::image::parse` on bytes it must not trust.
//!
//! The format (layout version 2) is written down independently in
//! `format.rs`, with a reference walk; see there for why.
//!
//! Three modes (the input's first byte, `% 4`):
//! * raw (0): the rest of the input is the image;
//! * synthetic (1): a valid region header (capacity, key, positions from the
//!   input) and frames built from the input with the documented marker and
//!   check formulas (any kind, right or wrong seqs, lengths and sizes,
//!   wrapping around the data area), so that the fuzzer spends its time in
//!   the record walk and at its edges, not on the magic and the key; bit 2
//!   of the mode byte set: a ring file's layout (20480 bytes of header and
//!   tables, flags 1, record, pending and dead frames with a session tag
//!   in `w1`);
//! * structured (2, 3): a real ring (`Ring`), writes chosen by the input,
//!   also `begin_write` records left pending or dropped (dead), perhaps
//!   lapped while pending (pinned, then written around with skip frames);
//!   its `region_image()` is checked exactly against what was written, then
//!   damaged at places the input chooses and parsed again.
//!
//! On every parse, whatever the bytes (`check_parse`):
//! * `parse` accepts exactly the headers the format accepts (magic, version
//!   2, header size 2048 with flags 0 or 20480 with flags 1 (a ring file),
//!   capacity a power of two in 64..=2^40, data size = capacity + slack,
//!   length = header size + data size, max_record = capacity / 4, tail a
//!   multiple of 8, tail and claim on used offsets, tail <= claim, at most
//!   data size apart, tail seq <= next seq < 2^61), and every refusal names
//!   something that is really wrong;
//! * the dump's capacity, `closed` (claim bit 0) and `next_seq` are the
//!   header's;
//! * every record returned has a frame at a position `x` on the walk from
//!   the tail whose `w0` is exactly `marker(key, x, seq, Record)`, whose
//!   `w1` check passes for its seq (a ring file's `w1`: its length, and the
//!   writer's session tag, unchecked), whose length is at most max_record,
//!   which lies in `[tail, claim)` and is retained (starts at most capacity
//!   bytes before the claim); its bytes are the image's bytes there; seqs
//!   strictly increase (pending, dead frames use seqs too: gaps are
//!   allowed);
//! * and no more: the records are exactly the retained committed frames of
//!   the reference walk, and `damaged` is true exactly when that walk stops
//!   before the claim.
//!
//! What damage can and cannot do (structured mode; the key is random per
//! ring, so input bytes never forge a marker):
//! * damage to payload or padding bytes is not detected: the record comes
//!   back with the damaged bytes, same seq, same length, `damaged` false;
//! * damage to a frame header on the walk stops the walk there (records
//!   before it come back, `damaged` is set) when the marker no longer says
//!   (this position, this seq) or `w1` fails its check; a `w1` that still
//!   passes (2^-24 for random damage; the fuzzer forges it at will, the
//!   check being unkeyed) changes the length, and what follows is only what
//!   the walk says;
//! * the kind is protected like the seq: each kind mixes its own 64-bit
//!   constant into the marker (`KINDS`), so flipped kind bits leave no valid
//!   marker for (this position, this seq) and the walk stops there;
//! * with key, tail and claim intact, every record before the first damaged
//!   header comes back; with key and claim intact, a record whose header
//!   bytes are intact is one of the original dump's, same seq and length
//!   (nothing evicted, pending or invented is ever returned);
//! * damage to the key empties the dump (`damaged`) unless nothing was
//!   there; damage to a validated header field makes parse fail; damage
//!   anywhere but there and in the claim and tail never makes it fail.

use std::collections::HashMap;

use ringbuf_core::image::{parse, Dump, ImageError};
use ringbuf_core::{Error, Ring};

use crate::format::{
    self, data_word, frame_size, len_of, marker, mask, put_data_word, put_pair, put_u32, put_u64, u32_at, u64_at,
    unmark, word1, Geo, Header, Kind, Walk, FLAGS, FRAME_HEADER, HEADER_SIZE, OFF_CAPACITY, OFF_CLAIM, OFF_DATA_SIZE,
    OFF_HEADER_SIZE, OFF_KEY, OFF_MAGIC, OFF_MAX_RECORD, OFF_TAIL, OFF_VERSION, SEQ_LIMIT, VALIDATED,
};
use crate::input::{tracing, Input};

macro_rules! trace {
    ($($t:tt)*) => {
        if tracing() {
            eprintln!($($t)*);
        }
    };
}

/// Checks one `parse` result against the format, whatever the bytes; the
/// reference header and walk when parse accepted.
fn check_parse(bytes: &[u8], result: &Result<Dump, ImageError>) -> Option<(Header, Walk)> {
    let reference = format::header(bytes);
    match result {
        Ok(d) => trace!(
            "parse: {} records {:?}, damaged {}, next_seq {}, closed {}",
            d.records.len(),
            d.records.iter().map(|r| (r.0, r.1.len())).collect::<Vec<_>>(),
            d.damaged,
            d.next_seq,
            d.closed
        ),
        Err(e) => trace!("parse: {e} (reference: {reference:?})"),
    }
    let d = match (result, reference) {
        (Err(e), Err(_)) => {
            // A refusal must be true (which of several faults it names is
            // the parser's choice).
            match e {
                ImageError::Length => {
                    // Short, or not header_size + data_size bytes long.
                    let sizes = (bytes.len() >= HEADER_SIZE)
                        .then(|| (u64::from(u32_at(bytes, OFF_HEADER_SIZE)), u64_at(bytes, OFF_DATA_SIZE)));
                    assert!(
                        sizes.is_none_or(|(hs, d)| hs.checked_add(d) != Some(bytes.len() as u64)),
                        "parse said Length for a {}-byte image with header size and data size {sizes:?}",
                        bytes.len()
                    );
                }
                ImageError::Magic => assert_ne!(u64_at(bytes, OFF_MAGIC), format::MAGIC, "parse said Magic"),
                ImageError::Version(v) => {
                    assert_eq!(*v, u32_at(bytes, OFF_VERSION), "parse's Version names another version");
                    assert_ne!(*v, format::VERSION, "parse refused the current version");
                }
                // Header(what): fields contradict each other; the
                // reference refused the header too.
                _ => {}
            }
            return None;
        }
        (Err(e), Ok(h)) => panic!("parse refused a valid header ({e}); reference: {h:?}"),
        (Ok(_), Err(why)) => panic!("parse accepted a header the format refuses: {why:?}"),
        (Ok(d), Ok(_)) => d,
    };
    let h = reference.expect("checked");
    let g = h.g;
    let area = &bytes[h.header_size..];
    assert_eq!(d.capacity, g.cap, "dump capacity is not the header's");
    assert_eq!(d.closed, h.claim_word & format::CLOSED != 0, "dump closed is not the claim's flag");
    assert_eq!(d.next_seq, h.next_seq, "dump next_seq is not the claim's seq");

    let w = format::walk(&h, area);
    trace!(
        "walk from {} (seq {}) to {}: {:?}{}",
        h.tail,
        h.tail_seq,
        h.claim,
        w.frames.iter().map(|f| (f.x, f.seq, f.kind, f.len)).collect::<Vec<_>>(),
        if w.stopped { ", stopped" } else { "" }
    );
    let at: HashMap<u64, format::Frame> =
        w.frames.iter().map(|f| (f.seq, *f)).filter(|(_, f)| f.kind == Kind::Record).collect();
    let mut prev: Option<u64> = None;
    for (seq, payload) in &d.records {
        if let Some(p) = prev {
            assert!(*seq > p, "record seqs do not increase: {p} then {seq}");
        }
        prev = Some(*seq);
        let f = at.get(seq).unwrap_or_else(|| {
            panic!(
                "record {seq} ({} bytes): no whole committed frame with that seq on the walk from the tail",
                payload.len()
            )
        });
        let off = g.off(f.x);
        assert_eq!(
            data_word(area, &g, off),
            marker(h.key, f.x, *seq, Kind::Record),
            "record {seq}: w0 is not its marker"
        );
        let w1 = data_word(area, &g, off + 8);
        // A ring file's records: `len | session tag << 40`, unchecked.
        let len = if h.file { Some(w1 & ((1 << 40) - 1)) } else { len_of(*seq, w1) };
        assert_eq!(len, Some(payload.len() as u64), "record {seq}: w1");
        assert!(payload.len() as u64 <= h.max_record, "record {seq} longer than max_record");
        assert!(h.tail <= f.x && g.dist(h.claim, f.x) >= frame_size(f.len), "record {seq} not within [tail, claim)");
        assert!(format::retained(&h, f.x), "record {seq} at {} is not retained (claim {})", f.x, h.claim);
        for (j, i) in f.payload_idx(&g).enumerate() {
            assert_eq!(payload[j], area[i], "record {seq}: byte {j} is not the image's");
        }
    }
    let want: Vec<(u64, Vec<u8>)> = w.records(&h, area).into_iter().map(|(_, s, b)| (s, b)).collect();
    let got_seqs: Vec<u64> = d.records.iter().map(|r| r.0).collect();
    let want_seqs: Vec<u64> = want.iter().map(|r| r.0).collect();
    assert_eq!(got_seqs, want_seqs, "parse's records are not the retained committed frames of the walk");
    assert_eq!(d.damaged, w.stopped, "damaged must say whether the walk stopped before the claim");
    Some((h, w))
}

fn raw(bytes: &[u8]) {
    let result = parse(bytes);
    check_parse(bytes, &result);
}

/// The synthetic mode (module doc), in memory's layout or a ring file's.
fn synthetic(inp: &mut Input, file: bool) {
    raw(&synthetic_image(inp, file));
}

// ---- synthetic -------------------------------------------------------------------

/// A valid header with the input's key and positions, and frames from the
/// input laid out from the tail with valid markers and checks (mostly).
/// `file`: a ring file's layout (20480 bytes before the data, flags 1;
/// pending and dead frames may carry a session tag in place of the check),
/// which takes a few more input bytes (the in-memory layout reads exactly
/// what it always did, so kept inputs keep their meaning).
pub(crate) fn synthetic_image(inp: &mut Input, file: bool) -> Vec<u8> {
    let cap = 64u64 << inp.choose(12); // 64 B to 128 KiB (the slack is capped from 64 KiB on)
    let data = cap + format::slack(cap);
    let g = Geo::new(cap, data);
    let hs = if file { format::FILE_HEADER_SIZE } else { HEADER_SIZE };
    let mut img = vec![0u8; hs + data as usize];
    put_u64(&mut img, OFF_MAGIC, format::MAGIC);
    put_u32(&mut img, OFF_VERSION, format::VERSION);
    put_u32(&mut img, OFF_HEADER_SIZE, hs as u32);
    if file {
        put_u32(&mut img, format::OFF_FLAGS, format::FLAG_FILE);
    }
    put_u64(&mut img, OFF_CAPACITY, cap);
    put_u64(&mut img, OFF_MAX_RECORD, cap / 4);
    put_u64(&mut img, OFF_DATA_SIZE, data);
    let key = inp.u64();
    put_u64(&mut img, OFF_KEY, key);
    // Background bytes of the data area: zeros, a pattern, or the input.
    match inp.choose(3) {
        0 => {}
        1 => {
            let b = inp.u8();
            img[hs..].iter_mut().enumerate().for_each(|(i, v)| *v = (i as u8).wrapping_mul(b));
        }
        _ => {
            let n = usize::from(inp.u8()) * 4;
            for (k, b) in inp.bytes(n).iter().enumerate() {
                img[hs + k % data as usize] = *b;
            }
        }
    }
    let tail_off = (u64::from(inp.u16()) % data) & !7;
    let tail = match inp.choose(4) {
        0 => tail_off,
        1 | 2 => (u64::from(inp.u8() % 8) << g.shift) | tail_off,
        _ => (inp.u64() << g.shift) | tail_off,
    };
    let tail_seq = match inp.choose(4) {
        0 => 0,
        1 => u64::from(inp.u16()),
        2 => SEQ_LIMIT - 1 - u64::from(inp.u8()),
        _ => inp.u64(),
    };
    let max_record = cap / 4;
    let area_len = data;
    let (mut x, mut s) = (tail, tail_seq);
    let nframes = inp.choose(24);
    for _ in 0..nframes {
        let kind_bits = match inp.choose(16) {
            0..=8 => 0,
            9 | 10 => 1,
            11 | 12 => 2,
            13 | 14 => 3,
            _ => 4 + u64::from(inp.u8() % 4),
        };
        // (Bytes past the end of the input read as 0: 0 means the right
        // thing throughout.)
        let fseq = match inp.choose(16) {
            13 => s.wrapping_add(1),
            14 => s.wrapping_sub(1),
            15 => inp.u64(),
            _ => s,
        };
        let len = match inp.choose(10) {
            0 => 0,
            1 => u64::from(inp.u8() % 32),
            2 => max_record,
            3 => max_record + 1 + u64::from(inp.u8() % 8),
            4 if kind_bits == 2 => FRAME_HEADER + 8 * u64::from(inp.u8()),
            5 if kind_bits == 2 => u64::from(inp.u16()), // any size, aligned or not
            6 => u64::from(inp.u16()) % (max_record + 1),
            7 => inp.u64(),
            _ => u64::from(inp.u8()) % (max_record + 1),
        };
        let off = g.off(x);
        // Kinds 0-3 with their documented constants (`KINDS`); 4-7: kind
        // bits no marker has.
        let w0 = match Kind::from_bits(kind_bits) {
            Some(kind) => marker(key, x, fseq & (SEQ_LIMIT - 1), kind),
            None => mask(key, x) ^ ((fseq & (SEQ_LIMIT - 1)) | kind_bits << 61),
        };
        let w1 = if inp.u8() < 0xF0 {
            // A ring file's record, pending and dead frames: the writer's
            // session tag where the check was.
            if file && matches!(kind_bits, 0 | 1 | 3) && inp.u8() & 1 == 1 {
                (len & ((1 << 40) - 1)) | u64::from(inp.u16()) << 40
            } else {
                word1(fseq & (SEQ_LIMIT - 1), len)
            }
        } else {
            inp.u64()
        };
        let area = &mut img[hs..];
        put_data_word(area, &g, off, w0);
        put_data_word(area, &g, off + 8, w1);
        let size = if kind_bits == 2 { len & ((1 << 40) - 1) } else { frame_size(len & ((1 << 40) - 1)) };
        let payload_len = if kind_bits == 2 { 0 } else { (len & ((1 << 40) - 1)).min(area_len) };
        let lit = inp.bytes(payload_len.min(64) as usize);
        for k in 0..payload_len {
            let b = lit.get(k as usize).copied().unwrap_or((k as u8).wrapping_mul(29) ^ 0x5A);
            area[g.idx(off, FRAME_HEADER + k)] = b;
        }
        if size > data || size == 0 {
            break;
        }
        match g.advance(x, size) {
            Some(next) => x = next,
            None => break,
        }
        if kind_bits != 2 {
            s = s.wrapping_add(1);
        }
    }
    // The claim: where the frames end, or near it, or anywhere.
    let claim = match inp.choose(6) {
        0..=2 => x,
        3 => x.wrapping_add(8 * u64::from(inp.u8() % 8)),
        4 => x.wrapping_sub(8 * u64::from(inp.u8() % 8)),
        _ => inp.u64(),
    };
    let flags = u64::from(inp.u8()) & FLAGS;
    let next_seq = match inp.choose(4) {
        0..=1 => s,
        2 => s.wrapping_add(u64::from(inp.u8())),
        _ => inp.u64(),
    };
    put_pair(&mut img, OFF_CLAIM, (claim & !FLAGS) | flags, next_seq);
    put_pair(&mut img, OFF_TAIL, tail, tail_seq);
    // Now and then any value in a header field, validated ones included.
    if inp.u8() >= 0xE8 {
        let field = [
            OFF_MAGIC,
            OFF_VERSION,
            OFF_CAPACITY,
            OFF_MAX_RECORD,
            OFF_DATA_SIZE,
            OFF_CLAIM,
            OFF_CLAIM + 8,
            OFF_TAIL,
            OFF_TAIL + 8,
        ][inp.choose(9)];
        put_u64(&mut img, field, inp.u64());
    }
    if file && inp.u8() >= 0xF0 {
        // The fields that tell a ring file: flags, header size.
        let field = [format::OFF_FLAGS, OFF_HEADER_SIZE][inp.choose(2)];
        put_u32(&mut img, field, inp.u32());
    }
    img
}

// ---- structured ---------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Committed,
    Pending,
    Dead,
}

impl St {
    fn kind(self) -> Kind {
        match self {
            St::Committed => Kind::Record,
            St::Pending => Kind::Pending,
            St::Dead => Kind::Dead,
        }
    }
}

/// A record the ring gave a seq (its index in `Model::recs`).
struct Rec {
    data: Vec<u8>,
    st: St,
    /// Its position, while the model follows positions.
    x: Option<u64>,
}

/// What was written, and (until a pending record is lapped and pinned,
/// after which the ring writes around it with skip frames) where.
struct Model {
    g: Geo,
    recs: Vec<Rec>,
    closed: bool,
    busy: u64,
    /// The model follows positions: no pin has been made.
    exact: bool,
    claim: u64,
    tail: u64,
    tail_seq: u64,
}

/// What the model expects of a claim.
enum Predict {
    /// The frame goes at this position (tail and claim updated on success).
    At { x: u64, tail: u64, tail_seq: u64 },
    /// The claim evicts up to a pending record: the ring pins it and writes
    /// around it from now on; positions are no longer modelled.
    Pins,
    /// The model no longer follows positions.
    Unknown,
}

impl Model {
    fn size(&self, seq: usize) -> u64 {
        frame_size(self.recs[seq].data.len() as u64)
    }

    /// The claim of a `len`-byte frame, as write.rs describes it: at the
    /// claim; if it would end more than `data - 16` bytes after the tail,
    /// the tail first moves to the first frame boundary at or after the
    /// claim end minus the capacity.
    fn predict(&self, len: usize) -> Predict {
        if !self.exact {
            return Predict::Unknown;
        }
        let g = self.g;
        let end = g.advance(self.claim, frame_size(len as u64)).expect("small positions");
        let (mut t, mut ts) = (self.tail, self.tail_seq);
        if g.dist(end, t) + FRAME_HEADER > g.data {
            let target = g.back(end, g.cap);
            while t < target {
                let s = ts as usize;
                if self.recs[s].st == St::Pending {
                    return Predict::Pins;
                }
                t = g.advance(t, self.size(s)).expect("small positions");
                ts += 1;
            }
        }
        Predict::At { x: self.claim, tail: t, tail_seq: ts }
    }

    /// The ring answered a claim for `data` with `r` (a seq or an error).
    fn claimed(&mut self, ring: &Ring, data: &[u8], st: St, r: &Result<u64, Error>, what: &str) {
        let max = self.g.cap as usize / 4;
        if data.len() > max {
            assert!(matches!(r, Err(Error::TooLarge { .. })), "{what} of {} > max_record: {r:?}", data.len());
            return;
        }
        if self.closed {
            assert_eq!(r.as_ref().err(), Some(&Error::Closed), "{what} after close");
            return;
        }
        let p = self.predict(data.len());
        match r {
            Ok(seq) => {
                assert_eq!(*seq, self.recs.len() as u64, "{what}: seqs are given in order");
                let x = match p {
                    Predict::At { x, tail, tail_seq } => {
                        self.tail = tail;
                        self.tail_seq = tail_seq;
                        self.claim = self.g.advance(x, frame_size(data.len() as u64)).expect("small");
                        Some(x)
                    }
                    Predict::Pins | Predict::Unknown => {
                        self.exact = false;
                        None
                    }
                };
                self.recs.push(Rec { data: data.to_vec(), st, x });
            }
            Err(Error::Busy) => {
                // Only a stalled (pinned) record can make a write Busy; one
                // thread has no other.
                assert!(!matches!(p, Predict::At { .. }), "{what}: Busy, but no pending record is in the way");
                assert!(ring.pins_in_use() > 0, "{what}: Busy with no pin in use");
                self.exact = false;
                self.busy += 1;
            }
            Err(e) => panic!("{what} of {} bytes: {e}", data.len()),
        }
        if self.exact {
            assert_eq!(ring.pins_in_use(), 0, "{what}: a pin the model did not expect");
        }
    }

    /// Checks `Ring::stats` against the model.
    fn check_stats(&self, ring: &Ring) {
        let s = ring.stats();
        let written = self.recs.len() as u64;
        assert_eq!(s.written, written, "stats.written");
        assert_eq!(s.dropped, self.busy, "stats.dropped counts the Busy writes");
        assert_eq!((s.readers, s.closed), (0, self.closed), "stats.readers / closed");
        assert_eq!((s.capacity, s.max_record), (self.g.cap, self.g.cap / 4), "stats.capacity / max_record");
        assert!(s.oldest_seq <= s.written && s.bytes_used <= s.capacity, "stats inconsistent: {s:?}");
        if self.exact {
            let g = self.g;
            let target = g.back(self.claim, g.cap);
            let oldest = (self.tail_seq..written)
                .map(|q| (self.recs[q as usize].x.expect("exact"), q))
                .find(|&(x, _)| x >= target)
                .unwrap_or((self.claim, written));
            assert_eq!(s.oldest_seq, oldest.1, "stats.oldest_seq");
            assert_eq!(s.bytes_used, g.dist(self.claim, oldest.0), "stats.bytes_used");
        }
    }
}

/// A record's payload: its first bytes from the input (so that payloads may
/// look like frame headers), the rest a pattern.
fn payload(inp: &mut Input, len: usize, k: usize) -> Vec<u8> {
    let mut v = inp.bytes(len.min(24)).to_vec();
    v.extend((v.len()..len).map(|j| (j as u8).wrapping_mul(31) ^ (k as u8)));
    v
}

fn record_len(inp: &mut Input, max: usize) -> usize {
    match inp.choose(8) {
        0 => 0,
        1 => inp.choose(32),
        2 => usize::from(inp.u8()).min(max),
        3 => max,
        4 => max.saturating_sub(inp.choose(8)),
        5 if inp.u8() < 16 => max + 1, // refused
        _ => usize::from(inp.u16()) % (max + 1),
    }
}

/// Pending writes held at once (the ring has 64 pin slots).
const MAX_PENDING: usize = 6;

fn structured(inp: &mut Input) {
    let cap = [64u64, 128, 256, 1024, 2048, 4096][inp.choose(6)];
    let ring = if cap >= 1024 { Ring::new(cap as usize) } else { Ring::with_capacity_unchecked(cap) }.expect("a ring");
    assert_eq!(ring.capacity() as u64, cap);
    let max = ring.max_record();
    let g = Geo::new(cap, cap + format::slack(cap));
    let mut m = Model { g, recs: Vec::new(), closed: false, busy: 0, exact: true, claim: 0, tail: 0, tail_seq: 0 };
    // (PendingWrite, seq): the type is not exported, only inferred.
    let mut pending = Vec::new();
    let n = usize::from(inp.u8());
    for k in 0..n {
        match inp.choose(10) {
            0..=3 => {
                let len = record_len(inp, max);
                let data = payload(inp, len, k);
                let r = ring.write(&data);
                m.claimed(&ring, &data, St::Committed, &r, "write");
            }
            4 => {
                let parts: Vec<Vec<u8>> = (0..inp.choose(4))
                    .map(|_| {
                        let len = inp.choose(max / 3 + 1);
                        payload(inp, len, k)
                    })
                    .collect();
                let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
                let r = ring.writev(&refs);
                m.claimed(&ring, &parts.concat(), St::Committed, &r, "writev");
            }
            5 | 6 if pending.len() < MAX_PENDING => {
                let len = record_len(inp, max);
                let data = payload(inp, len, k);
                let r = ring.begin_write(&data);
                let seq = r.as_ref().map(|_| m.recs.len() as u64).map_err(Clone::clone);
                m.claimed(&ring, &data, St::Pending, &seq, "begin_write");
                if let Ok(p) = r {
                    pending.push((p, seq.expect("ok")));
                }
            }
            7 if !pending.is_empty() => {
                let (p, seq) = pending.remove(inp.choose(pending.len()));
                assert_eq!(p.commit(), seq, "commit returns the record's seq");
                m.recs[seq as usize].st = St::Committed;
            }
            8 if !pending.is_empty() => {
                let (p, seq) = pending.remove(inp.choose(pending.len()));
                drop(p); // abandoned: dead
                m.recs[seq as usize].st = St::Dead;
            }
            9 if inp.u8() < 48 => {
                ring.close().expect("close");
                m.closed = true;
            }
            _ => {
                let len = inp.choose(64).min(max);
                let data = payload(inp, len, k);
                let r = ring.write(&data);
                m.claimed(&ring, &data, St::Committed, &r, "write");
            }
        }
        m.check_stats(&ring);
    }
    if inp.u8() & 1 == 1 {
        ring.close().expect("close");
        m.closed = true;
    }
    for (p, seq) in &pending {
        assert!(p.intact(), "pending record {seq}: its payload was written over");
    }
    trace!(
        "ring of {cap}: {} claimed {:?}, {} busy, closed {}, positions {}",
        m.recs.len(),
        m.recs.iter().map(|r| r.st).collect::<Vec<_>>(),
        m.busy,
        m.closed,
        if m.exact { "modelled" } else { "from the image (something was pinned)" }
    );
    let orig = ring.region_image();
    let (h, w) = check_real_image(&orig, &m);
    drop(pending);
    drop(ring);
    damage(inp, orig, &h, &w);
}

/// The untouched image of a real ring: exactly what the model says.
fn check_real_image(img: &[u8], m: &Model) -> (Header, Walk) {
    let result = parse(img);
    let d = match &result {
        Ok(d) => d.clone(),
        Err(e) => panic!("a real ring's region image does not parse: {e}"),
    };
    let (h, w) = check_parse(img, &result).expect("parsed");
    let g = h.g;
    let area = &img[HEADER_SIZE..];
    let written = m.recs.len() as u64;
    assert_eq!((h.next_seq, h.claim_word & format::CLOSED != 0), (written, m.closed), "claim seq / closed flag");
    assert_eq!(h.claim_word & (FLAGS & !format::CLOSED), 0, "unused claim flags set");
    if m.exact {
        assert_eq!((h.claim, h.tail, h.tail_seq), (m.claim, m.tail, m.tail_seq), "claim / tail of the image");
        // The header words are exactly the documented formulas', and the
        // payloads (committed, pending or dead) what was written.
        for (seq, r) in m.recs.iter().enumerate().skip(m.tail_seq as usize) {
            let x = r.x.expect("exact");
            let off = g.off(x);
            let len = r.data.len() as u64;
            assert_eq!(
                data_word(area, &g, off),
                marker(h.key, x, seq as u64, r.st.kind()),
                "record {seq}: w0 in the image is not marker(key, x, seq, kind)"
            );
            assert_eq!(
                data_word(area, &g, off + 8),
                word1(seq as u64, len),
                "record {seq}: w1 in the image is not len | check << 40"
            );
            for (j, b) in r.data.iter().enumerate() {
                assert_eq!(area[g.idx(off, FRAME_HEADER + j as u64)], *b, "record {seq}: payload byte {j}");
            }
        }
    }
    // The walk covers every claimed frame from the tail to the claim, each
    // as the model says; skip frames only once something was pinned.
    assert!(
        !w.stopped,
        "the walk of a real image stops at {} before the claim {}",
        w.frames.last().map_or(h.tail, |f| f.x + f.size),
        h.claim
    );
    let mut seq = h.tail_seq;
    for f in &w.frames {
        if f.kind == Kind::Skip {
            assert!(!m.exact, "a skip frame at {} although nothing was pinned", f.x);
            continue;
        }
        assert_eq!(f.seq, seq);
        let r = &m.recs[seq as usize];
        assert_eq!((f.kind, f.len), (r.st.kind(), r.data.len() as u64), "record {seq}: kind / length in the image");
        if let Some(x) = r.x {
            assert_eq!(f.x, x, "record {seq}: position");
        }
        let bytes: Vec<u8> = f.payload_idx(&g).map(|i| area[i]).collect();
        assert!(bytes == r.data, "record {seq}: payload in the image is not what was written");
        seq += 1;
    }
    assert_eq!(seq, written, "the walk ends at the claim's seq");
    assert!(g.dist(h.claim, h.tail) + FRAME_HEADER <= g.data, "tail too far behind the claim");
    // The dump: the committed records among the newest frames that fit in
    // the capacity (pending and dead ones take room but are left out).
    let want: Vec<(u64, Vec<u8>)> = w
        .frames
        .iter()
        .filter(|f| f.kind != Kind::Skip && format::retained(&h, f.x))
        .filter(|f| m.recs[f.seq as usize].st == St::Committed)
        .map(|f| (f.seq, m.recs[f.seq as usize].data.clone()))
        .collect();
    if m.exact {
        let target = g.back(h.claim, g.cap);
        let model: Vec<u64> = (0..written)
            .filter(|&q| m.recs[q as usize].st == St::Committed && m.recs[q as usize].x.expect("exact") >= target)
            .collect();
        assert_eq!(want.iter().map(|r| r.0).collect::<Vec<_>>(), model, "retained records");
    }
    assert!(!d.damaged, "a real image is not damaged");
    assert!(d.records == want, "the dump of a real image is not the retained committed records as written");
    (h, w)
}

/// Damages a real image at places the input chooses and checks what
/// `parse` makes of it (module doc).
fn damage(inp: &mut Input, orig: Vec<u8>, h: &Header, w: &Walk) {
    let g = h.g;
    let d0 = parse(&orig).expect("parsed before");
    let mut img = orig.clone();
    let frames = &w.frames;
    let data_idx = |x: u64, k: u64| HEADER_SIZE + g.idx(g.off(x), k);
    let mut tail_to: Option<(u64, u64)> = None;
    for _ in 0..1 + inp.choose(4) {
        let pick = |inp: &mut Input| (!frames.is_empty()).then(|| frames[inp.choose(frames.len())]);
        let op = inp.choose(11);
        trace!("damage op {op}");
        match op {
            0 => {
                // A byte of a frame's payload or padding.
                if let Some(f) = pick(inp).filter(|f| f.size > FRAME_HEADER) {
                    let o = data_idx(f.x, FRAME_HEADER + u64::from(inp.u16()) % (f.size - FRAME_HEADER));
                    img[o] ^= inp.u8().max(1);
                }
            }
            1 => {
                // A byte of a frame header on the walk.
                if let Some(f) = pick(inp) {
                    let o = data_idx(f.x, u64::from(inp.u8() % 16));
                    img[o] ^= inp.u8().max(1);
                }
            }
            2 => {
                // Flip the kind bits of a marker (unprotected: see the doc).
                if let Some(f) = pick(inp) {
                    let o = HEADER_SIZE + g.off(f.x) as usize;
                    let v = u64_at(&img, o) ^ (u64::from(1 + inp.u8() % 3) << 61);
                    put_u64(&mut img, o, v);
                }
            }
            3 => {
                // A w1 with a valid check for another length: a forgery
                // (the check is unkeyed).
                if let Some(f) = pick(inp) {
                    let o = g.off(f.x) + 8;
                    put_data_word(&mut img[HEADER_SIZE..], &g, o, word1(f.seq, u64::from(inp.u16())));
                }
            }
            4 => {
                // The tail to another frame on the walk (or the claim).
                let (x, s) = pick(inp).map_or((h.claim, h.next_seq), |f| (f.x, f.seq));
                put_pair(&mut img, OFF_TAIL, x, s);
                tail_to = Some((x, s));
            }
            5 => {
                // The claim's or tail's position (by 8s) or seq moved.
                let field = [OFF_CLAIM, OFF_CLAIM + 8, OFF_TAIL, OFF_TAIL + 8][inp.choose(4)];
                let delta = i64::from(inp.u8() as i8) * if field.is_multiple_of(16) { 8 } else { 1 };
                let v = u64_at(&img, field).wrapping_add_signed(delta);
                put_u64(&mut img, field, v);
            }
            6 => {
                // Another key.
                let v = u64_at(&img, OFF_KEY) ^ inp.u64().max(1);
                put_u64(&mut img, OFF_KEY, v);
            }
            7 => {
                // A validated header field.
                let o = inp.choose(VALIDATED);
                img[o] ^= inp.u8().max(1);
            }
            8 => {
                // A byte anywhere, flipped.
                let o = inp.u32() as usize % img.len();
                img[o] ^= inp.u8().max(1);
            }
            9 => {
                // An aligned word anywhere.
                let o = inp.u32() as usize % (img.len() / 8) * 8;
                put_u64(&mut img, o, inp.u64());
            }
            _ => {
                // A byte anywhere, set.
                let o = inp.u32() as usize % img.len();
                img[o] = inp.u8();
            }
        }
    }
    let changed: Vec<bool> = img.iter().zip(&orig).map(|(a, b)| a != b).collect();
    let any = |r: std::ops::Range<usize>| changed[r].iter().any(|&c| c);
    let validated = changed.iter().take(64).enumerate().any(|(i, &c)| c && format::validated(i));
    let key = any(OFF_KEY..OFF_KEY + 8);
    let claim = any(OFF_CLAIM..OFF_CLAIM + 16);
    let tail = any(OFF_TAIL..OFF_TAIL + 16);
    let hdr_changed = |f: &format::Frame| f.header_idx(&g).any(|i| changed[HEADER_SIZE + i]);

    let result = parse(&img);
    if validated {
        assert!(
            result.is_err(),
            "parse accepted an image whose magic/version/size/capacity/max_record/data size was damaged"
        );
    }
    if !validated && !claim && !tail {
        if let Err(e) = &result {
            panic!("parse refused an image whose validated fields and positions are intact: {e}");
        }
    }
    let Some((h2, w2)) = check_parse(&img, &result) else { return };
    let d = result.expect("parsed");
    let sl = |d: &Dump| d.records.iter().map(|(s, b)| (*s, b.len())).collect::<Vec<_>>();
    let orig_at: HashMap<u64, &format::Frame> = frames.iter().map(|f| (f.x, f)).collect();
    let orig_rec: HashMap<u64, usize> = d0.records.iter().map(|(s, b)| (*s, b.len())).collect();

    if !key && !claim {
        // No invention: a record whose header bytes are intact is one the
        // ring wrote there, committed and retained: one of the original
        // dump's, same seq and length.
        let pos: HashMap<u64, u64> =
            w2.frames.iter().filter(|f| f.kind == Kind::Record).map(|f| (f.seq, f.x)).collect();
        for (seq, bytes) in &d.records {
            let x = pos[seq];
            let hdr_intact = (0..FRAME_HEADER).all(|k| !changed[data_idx(x, k)]);
            if hdr_intact {
                let f = orig_at.get(&x).unwrap_or_else(|| {
                    panic!("record {seq} at {x}: an intact header that is not on the original walk")
                });
                assert_eq!(
                    (f.seq, f.len),
                    (*seq, bytes.len() as u64),
                    "record at {x}: an intact header read differently"
                );
                assert_eq!(
                    orig_rec.get(seq),
                    Some(&bytes.len()),
                    "record {seq}: intact header, but not in the original dump"
                );
            }
        }
    }
    if !key && !claim && !tail {
        // No loss before the first damaged header; a damaged header stops
        // the walk unless it still is a marker for (x, seq) with a valid
        // kind and its w1 still passes the check.
        let j = frames.iter().position(hdr_changed);
        let before: Vec<(u64, usize)> =
            sl(&d0).into_iter().filter(|(s, _)| j.is_none_or(|j| *s < frames[j].seq)).collect();
        assert!(
            sl(&d).starts_with(&before),
            "records before the first damaged header were lost: {:?} vs {:?}",
            sl(&d),
            before
        );
        match j {
            None => {
                assert_eq!(sl(&d), sl(&d0), "payload damage only: the same records (undetected)");
                assert!(!d.damaged, "payload damage only: not detectable, yet damaged");
            }
            Some(j) => {
                let f = frames[j];
                let area = &img[HEADER_SIZE..];
                let w0 = data_word(area, &g, g.off(f.x));
                let w1 = data_word(area, &g, g.off(f.x) + 8);
                let still = unmark(h.key, f.x, w0).is_some_and(|(s, _)| s == f.seq) && len_of(f.seq, w1).is_some();
                if !still {
                    assert_eq!(sl(&d), before, "a header damaged at record {}: the walk must stop there", f.seq);
                    assert!(d.damaged, "a header damaged at {}: damaged must be set", f.seq);
                }
            }
        }
    }
    let no_header_damage = !frames.iter().any(hdr_changed);
    if let Some((x, s)) = tail_to.filter(|&t| (h2.tail, h2.tail_seq) == t && !key && !claim && no_header_damage) {
        // The tail moved to a frame of the walk (with its seq): the
        // records from there on.
        let want: Vec<(u64, usize)> = frames
            .iter()
            .filter(|f| f.x >= x && f.kind == Kind::Record && format::retained(h, f.x))
            .map(|f| (f.seq, f.len as usize))
            .collect();
        assert_eq!(sl(&d), want, "tail moved to frame {s} at {x}: the records from there");
        assert!(!d.damaged, "tail moved to frame {s} at {x}: not damaged");
    }
    if key && !claim && !tail && !frames.is_empty() {
        // Another key: no marker matches (2^-62 per frame), nothing is read.
        assert!(d.records.is_empty() && d.damaged, "a damaged key still read records: {:?}", sl(&d));
    }
}

/// Runs one input. Format: byte 0 picks the mode (`% 4`: 0 raw, 1
/// synthetic, 2-3 structured; in synthetic mode bit 2 picks a ring file's
/// layout); the rest is that mode's.
pub fn run(data: &[u8]) {
    let mut inp = Input::new(data);
    let mode = inp.u8();
    match mode % 4 {
        0 => raw(inp.bytes(usize::MAX)),
        1 => synthetic(&mut inp, mode & 4 != 0),
        _ => structured(&mut inp),
    }
}
