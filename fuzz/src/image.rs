//! Target `image`: `ringbuf_core::image::parse` on bytes it must not trust.
//!
//! Three modes (the input's first byte):
//! * raw: the rest of the input is the image;
//! * synthetic: a well-formed region header (capacity, positions from the
//!   input) in front of a data area holding the rest of the input, so that
//!   the fuzzer spends its time in the record walk, not on the magic;
//! * structured: a real ring's `region_image()` after writes the input
//!   chooses, checked exactly, then damaged at offsets the input chooses and
//!   parsed again.
//!
//! On every successful parse, whatever the bytes: the dump agrees with the
//! header fields, its records lie in `[tail, head)` back to back from
//! `tail`, each one's header says its seq and length, its bytes are the
//! bytes there, seqs are consecutive, no record exceeds capacity / 4, and
//! `damaged` is set exactly when the walk stopped before `head`.
//!
//! What damage can and cannot do (the structured mode asserts the "cannot"):
//! a record header carries a 24-bit check over its seq and length only; the
//! payload and the padding are not covered. So
//! * damage to payload bytes comes back as the record's bytes: undetected
//!   (asserted: only the damaged bytes differ; the seq and length stay);
//! * damage to a record header is caught unless the damaged 16 bytes
//!   happen to pass the check (about 2^-24 for random damage, but a fuzzer
//!   with comparison tracing forges a passing header easily), so after the
//!   first damaged header nothing more is asserted about the records;
//! * damage to `tail` / `head` can start the walk inside a payload whose
//!   bytes look like a header (the writer chose them): such a frame is
//!   returned if it passes the check, so records not at a true record
//!   boundary are not asserted either;
//! * with the region header intact, the data-area damage never makes parse
//!   fail, and every record before the first damaged header is returned
//!   (with its true seq and length); with no header damaged at all, every
//!   retained record is returned and `damaged` is false;
//! * damage to the validated header fields (magic, version, header size,
//!   capacity, max_record) always makes parse fail.

use std::collections::HashMap;

use ringbuf_core::image::{parse, Dump};
use ringbuf_core::{record_size, Ring, RECORD_HEADER};

use crate::input::Input;

// The region header's layout (ringbuf-core/src/region.rs, `offsets`): a file
// format, so written down here on purpose rather than imported.
const HEADER_SIZE: usize = 256;
const OFF_VERSION: usize = 8;
const OFF_HEADER_SIZE: usize = 12;
const OFF_CAPACITY: usize = 16;
const OFF_MAX_RECORD: usize = 24;
/// Bytes `[0, 32)`: magic, version, header size, capacity, max_record,
/// each checked exactly by `parse`.
const VALIDATED: usize = 32;
const OFF_RESERVE: usize = 64;
const OFF_TAIL: usize = 72;
const OFF_HEAD: usize = 128;
const OFF_NEXT_SEQ: usize = 136;
const MAGIC: u64 = u64::from_le_bytes(*b"RINGLOG\0");
/// `reserve` flag of a closed ring; `head` and `reserve` keep flags in their
/// low three bits.
const CLOSED_FLAG: u64 = 2;
const FLAGS: u64 = 7;
const LEN_MASK: u64 = (1 << 40) - 1;
const HDR: u64 = RECORD_HEADER as u64;

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

/// What every successful parse must satisfy, whatever the bytes.
fn check_dump(bytes: &[u8], d: &Dump) {
    let cap = u64_at(bytes, OFF_CAPACITY);
    assert_eq!(d.capacity, cap, "dump capacity");
    assert!(cap.is_power_of_two() && (64..=1 << 40).contains(&cap), "accepted capacity {cap}");
    assert_eq!(bytes.len() as u64, HEADER_SIZE as u64 + cap, "accepted an image of the wrong length");
    assert_eq!(u64_at(bytes, OFF_MAX_RECORD), cap / 4, "accepted max_record");
    assert_eq!(d.closed, u64_at(bytes, OFF_RESERVE) & CLOSED_FLAG != 0, "closed flag");
    assert_eq!(d.next_seq, u64_at(bytes, OFF_NEXT_SEQ), "next_seq");
    let tail = u64_at(bytes, OFF_TAIL);
    let head = u64_at(bytes, OFF_HEAD) & !FLAGS;
    assert!(tail.is_multiple_of(8) && tail <= head && head - tail <= cap, "accepted positions tail {tail} head {head}");
    let data = &bytes[HEADER_SIZE..];
    let word = |pos: u64| u64_at(data, (pos % cap) as usize);
    let mut pos = tail;
    let mut prev: Option<u64> = None;
    for (seq, payload) in &d.records {
        if let Some(p) = prev {
            assert_eq!(p.checked_add(1), Some(*seq), "seqs not consecutive");
        }
        prev = Some(*seq);
        assert!(payload.len() as u64 <= cap / 4, "record of {} bytes > max_record", payload.len());
        let size = record_size(payload.len()) as u64;
        assert!(pos.checked_add(size).is_some_and(|end| end <= head), "record {seq} reaches past head");
        assert_eq!(word(pos), *seq, "record {seq}: not the seq in its header");
        assert_eq!(word(pos + 8) & LEN_MASK, payload.len() as u64, "record {seq}: not the length in its header");
        for (j, b) in payload.iter().enumerate() {
            assert_eq!(*b, data[((pos + HDR + j as u64) % cap) as usize], "record {seq}: byte {j} is not the image's");
        }
        pos += size;
    }
    assert_eq!(d.damaged, pos != head, "damaged must say whether the walk stopped before head");
}

fn raw(bytes: &[u8]) {
    if let Ok(d) = parse(bytes) {
        check_dump(bytes, &d);
    }
}

/// A valid header in front of the fuzzer's data area.
fn synthetic(inp: &mut Input) {
    let cap = 64usize << inp.choose(7);
    let mut img = vec![0u8; HEADER_SIZE + cap];
    put_u64(&mut img, 0, MAGIC);
    img[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&1u32.to_ne_bytes());
    img[OFF_HEADER_SIZE..OFF_HEADER_SIZE + 4].copy_from_slice(&(HEADER_SIZE as u32).to_ne_bytes());
    put_u64(&mut img, OFF_CAPACITY, cap as u64);
    put_u64(&mut img, OFF_MAX_RECORD, cap as u64 / 4);
    let tail = if inp.u8() & 1 == 0 { u64::from(inp.u32()) * 8 } else { inp.u64() & !7 };
    let len = (u64::from(inp.u16()) % (cap as u64 + 1)) & !7;
    let head = tail.saturating_add(len) & !FLAGS;
    let reserve = head.saturating_add(8 * u64::from(inp.u8() % 4)) | u64::from(inp.u8() & 3);
    put_u64(&mut img, OFF_TAIL, tail);
    put_u64(&mut img, OFF_HEAD, head | u64::from(inp.u8() & 3));
    put_u64(&mut img, OFF_RESERVE, reserve);
    put_u64(&mut img, OFF_NEXT_SEQ, inp.u64());
    // Now and then any value in any field, header checks included.
    if inp.u8().is_multiple_of(8) {
        let off = [0, OFF_VERSION, OFF_CAPACITY, OFF_MAX_RECORD, OFF_RESERVE, OFF_TAIL, OFF_HEAD][inp.choose(7)];
        put_u64(&mut img, off, inp.u64());
    }
    // The data area from the walk's start on, so input bytes line up with it.
    let start = (tail % cap as u64) as usize;
    for (k, b) in inp.bytes(cap).iter().enumerate() {
        img[HEADER_SIZE + (start + k) % cap] = *b;
    }
    raw(&img);
}

/// A record's payload: its first bytes from the input (so that payloads can
/// look like record headers), the rest a pattern.
fn payload(inp: &mut Input, len: usize, k: usize) -> Vec<u8> {
    let lit = inp.bytes(len.min(24));
    let mut v = lit.to_vec();
    v.extend((v.len()..len).map(|j| (j as u8).wrapping_mul(31) ^ (k as u8)));
    v
}

fn structured(inp: &mut Input) {
    let cap = [1024usize, 2048, 4096][inp.choose(3)];
    let ring = Ring::new(cap).expect("Ring::new");
    let capacity = ring.capacity() as u64;
    let max = ring.max_record();
    let n = usize::from(inp.u8());
    let mut written: Vec<Vec<u8>> = Vec::with_capacity(n);
    for k in 0..n {
        let len = match inp.choose(5) {
            0 => 0,
            1 => inp.choose(32),
            2 => usize::from(inp.u8()).min(max),
            3 => max,
            _ => usize::from(inp.u16()) % (max + 1),
        };
        let data = payload(inp, len, k);
        ring.write(&data).expect("write");
        written.push(data);
    }
    let closed = inp.u8() & 1 == 1;
    if closed {
        ring.close();
    }
    let orig = ring.region_image();

    // Where each record went, and which are retained: the newest whose
    // framed sizes fit the capacity.
    let mut starts = Vec::with_capacity(n + 1);
    let mut pos = 0u64;
    for w in &written {
        starts.push(pos);
        pos += record_size(w.len()) as u64;
    }
    starts.push(pos);
    let head = pos;
    let first = (0..=n).find(|&i| head - starts[i] <= capacity).expect("the empty suffix fits");

    // The untouched image parses to exactly the retained records.
    let d0 = parse(&orig).unwrap_or_else(|e| panic!("a real ring's region image does not parse: {e}"));
    check_dump(&orig, &d0);
    assert_eq!(u64_at(&orig, OFF_TAIL), starts[first], "tail of the image");
    assert_eq!(u64_at(&orig, OFF_HEAD) & !FLAGS, head, "head of the image");
    assert_eq!((d0.capacity, d0.closed, d0.next_seq, d0.damaged), (capacity, closed, n as u64, false));
    assert_eq!(d0.records.len(), n - first, "the image holds the retained records");
    for (i, (seq, bytes)) in (first..n).zip(&d0.records) {
        assert_eq!(*seq, i as u64, "retained record seq");
        assert!(*bytes == written[i], "record {i}: the bytes in the image are not those written");
    }

    // Damage.
    let mut img = orig.clone();
    let data_at = |pos: u64| HEADER_SIZE + (pos % capacity) as usize;
    for _ in 0..1 + inp.choose(6) {
        match inp.choose(7) {
            0 => {
                let o = usize::from(inp.u16()) % img.len();
                img[o] ^= inp.u8().max(1);
            }
            1 => {
                let o = usize::from(inp.u16()) % (img.len() / 8) * 8;
                put_u64(&mut img, o, inp.u64());
            }
            2 => {
                let field = [OFF_RESERVE, OFF_TAIL, OFF_HEAD, OFF_NEXT_SEQ][inp.choose(4)];
                let delta = i64::from(inp.u8() as i8) * 8;
                let v = u64_at(&img, field).wrapping_add_signed(delta);
                put_u64(&mut img, field, v);
            }
            3 | 4 if first < n => {
                // A byte of a retained record: its header (3) or anywhere (4).
                let r = first + inp.choose(n - first);
                let span = if inp.u8() & 1 == 0 { HDR } else { record_size(written[r].len()) as u64 };
                let o = data_at(starts[r] + u64::from(inp.u16()) % span);
                img[o] ^= inp.u8().max(1);
            }
            5 => {
                // tail (and perhaps head) to another record's start, evicted or not.
                let j = inp.choose(n + 1);
                put_u64(&mut img, OFF_TAIL, starts[j]);
                if inp.u8() & 1 == 1 {
                    put_u64(&mut img, OFF_HEAD, starts[inp.choose(n + 1)]);
                }
            }
            _ => {
                let o = usize::from(inp.u16()) % img.len();
                img[o] = inp.u8();
            }
        }
    }
    let damaged: Vec<bool> = img.iter().zip(&orig).map(|(a, b)| a != b).collect();
    let header_damaged = damaged[..HEADER_SIZE].iter().any(|&d| d);
    let hdr_damaged = |pos: u64| (0..HDR).any(|b| damaged[data_at(pos + b)]);
    let result = parse(&img);
    if damaged[..VALIDATED].iter().any(|&d| d) {
        assert!(result.is_err(), "parse accepted an image whose magic/version/size/capacity/max_record was damaged");
    }
    let d = match result {
        Err(e) => {
            assert!(header_damaged, "parse refused an image whose region header is intact: {e}");
            return;
        }
        Ok(d) => d,
    };
    check_dump(&img, &d);

    // Records found at true record boundaries with intact headers are the
    // records written there: same seq, same length, same bytes except where
    // the payload itself was damaged (undetectable: no payload check).
    let boundary: HashMap<u64, usize> = (first..n).map(|i| (starts[i] % capacity, i)).collect();
    let tail_m = u64_at(&img, OFF_TAIL);
    let head_m = u64_at(&img, OFF_HEAD) & !FLAGS;
    let mut pos = tail_m;
    for (seq, bytes) in &d.records {
        let Some(&i) = boundary.get(&(pos % capacity)) else { break };
        if hdr_damaged(pos) {
            break; // a damaged header that passes the check: nothing more to assert
        }
        assert_eq!(
            (*seq, bytes.len()),
            (i as u64, written[i].len()),
            "an intact header at record {i}'s start came back as another record"
        );
        for (j, b) in bytes.iter().enumerate() {
            if !damaged[data_at(pos + HDR + j as u64)] {
                assert_eq!(*b, written[i][j], "record {i}: undamaged byte {j} changed");
            }
        }
        pos += record_size(bytes.len()) as u64;
    }
    // With the positions intact, the walk returns every record up to the
    // first damaged header, and all of them when no header was damaged.
    if tail_m == starts[first] && head_m == head {
        let first_bad = (first..n).find(|&i| hdr_damaged(starts[i])).unwrap_or(n);
        assert!(
            d.records.len() >= first_bad - first,
            "parse returned {} records, but the first {} have intact headers",
            d.records.len(),
            first_bad - first
        );
        if first_bad == n {
            assert_eq!(d.records.len(), n - first, "no header damaged: every retained record comes back");
            assert!(!d.damaged, "no header damaged, yet the dump says damaged");
        }
    }
}

/// Runs one input. Format: byte 0 picks the mode (`% 4`: 0 raw, 1
/// synthetic, 2-3 structured); the rest is that mode's.
pub fn run(data: &[u8]) {
    let mut inp = Input::new(data);
    match inp.choose(4) {
        0 => raw(inp.bytes(usize::MAX)),
        1 => synthetic(&mut inp),
        _ => structured(&mut inp),
    }
}
