//! Target `open_file`: `Ring::open_file(path, 0)` (and `Ring::open_existing`)
//! on files it must not trust, written to a temporary file.
//!
//! Three kinds of file (the input's first byte, `% 4`):
//! * raw (0): the rest of the input is the file;
//! * synthetic (1): a ring file image built from the documented format by
//!   the image target's synthetic builder (`image::synthetic_image`, ring
//!   file layout: a valid header, frames of any kind, right or wrong, with a
//!   session tag in `w1` or a check), then perhaps cut or grown
//!   and its tables (sessions, readers) filled with the input's bytes;
//! * structured (2, 3): a real ring file made by `Ring::open_file` (1 to
//!   8 KiB), written by ops from the input (`write`, `writev`, records
//!   abandoned as dead, committed late, readers that read some, `close`),
//!   dropped, then damaged at places the input chooses: any byte or word,
//!   a frame header's `w0` or `w1`, a frame's length, the claim and tail
//!   positions and seqs, a validated header field, the tables, the file's
//!   length (cut by 1 byte, 8, a page, to half; grown).
//!
//! Whatever the bytes (`check_open`):
//! * the open returns, and either fails with `BadFile` only, the file byte
//!   for byte as it was, or opens;
//! * a file whose header the format (`format::header`, written down
//!   independently of the library) refuses, or which is a region of a ring
//!   in memory (flags 0), is refused; a file the format says is a whole
//!   ring file (`format::opener_must_accept`: every frame from the tail to
//!   the claim whole) is opened;
//! * once opened: a reader from the oldest record reads with `try_next`
//!   until `Timeout` or `Closed` (at most as many records as the ring can
//!   hold), `snapshot` and `stats` answer; then, every handle dropped, the
//!   file (which the opener may have repaired: dead writers' frames) has a
//!   valid header with the same capacity, key, tail and claim position, and
//!   its frames from the tail reach the claim with the claim's seq; the
//!   records read are exactly the retained committed records of that walk,
//!   with their bytes, and the snapshot is their bytes back to back; every
//!   record `image::parse` found in the file before the open is among them,
//!   and every committed frame of the walk before the open is byte for byte
//!   where it was.
//!
//! Nothing may panic, crash or hang (the replay test bounds every input;
//! libFuzzer's `-timeout` does under `scripts/fuzz`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ringbuf_core::image::parse;
use ringbuf_core::{Error, Ring, Start};

use crate::format::{self, data_word, put_pair, put_u32, put_u64, u64_at, Kind, FRAME_HEADER, OFF_CLAIM, OFF_TAIL};
use crate::input::{tracing, Input};

macro_rules! trace {
    ($($t:tt)*) => {
        if tracing() {
            eprintln!($($t)*);
        }
    };
}

/// Where the files go (in memory when /dev/shm exists).
fn scratch_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        }
    })
}

/// A file in the scratch directory, named for this process, removed when
/// dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> TempFile {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = scratch_dir().join(format!("ringlog-fuzz-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        TempFile(p)
    }

    fn write(tag: &str, bytes: &[u8]) -> TempFile {
        let f = TempFile::new(tag);
        std::fs::write(&f.0, bytes).unwrap_or_else(|e| panic!("{}: {e}", f.0.display()));
        f
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Opens the file at `bytes` and checks everything the module doc says.
fn check_open(bytes: &[u8], existing: bool) {
    let f = TempFile::write("open", bytes);
    let reference = format::header(bytes);
    let parsed = parse(bytes);
    let opened = if existing { Ring::open_existing(&f.0) } else { Ring::open_file(&f.0, 0) };
    trace!(
        "{}-byte file: reference {:?}; parse {}; {} -> {}",
        bytes.len(),
        reference.as_ref().map(|h| (h.file, h.g.cap, h.tail, h.tail_seq, h.claim_word, h.next_seq)),
        match &parsed {
            Ok(d) => format!("{} records, damaged {}", d.records.len(), d.damaged),
            Err(e) => format!("{e}"),
        },
        if existing { "open_existing" } else { "open_file(path, 0)" },
        match &opened {
            Ok(r) => format!("opened, capacity {}", r.capacity()),
            Err(e) => format!("{e:?}"),
        }
    );
    // What the format says of the file as it is.
    let whole = reference.as_ref().ok().map(|h| {
        let area = &bytes[h.header_size..];
        let w = format::walk(h, area);
        (format::opener_must_accept(h, area, &w), w)
    });
    let ring = match opened {
        Err(e) => {
            assert!(matches!(e, Error::BadFile(_)), "opening a file that exists failed with {e:?}, not BadFile");
            let after = std::fs::read(&f.0).expect("the refused file is still there");
            if after != bytes {
                let at = bytes.iter().zip(&after).position(|(a, b)| a != b);
                panic!(
                    "the file was refused ({e}) but changed: {} bytes before, {} after, first difference at {at:?}",
                    bytes.len(),
                    after.len()
                );
            }
            if let Some((true, _)) = whole {
                panic!("a whole ring file (every frame from the tail to the claim whole) was refused: {e}");
            }
            return;
        }
        Ok(r) => r,
    };
    let h = match reference {
        Ok(h) => h,
        Err(why) => panic!("opened a file whose header the format refuses: {why:?}"),
    };
    assert!(h.file, "opened a region image of a ring in memory (flags 0) as a ring file");
    let d0 = parsed.unwrap_or_else(|e| panic!("opened a file that image::parse refuses: {e}"));
    assert_eq!(ring.capacity() as u64, h.g.cap, "the ring's capacity is not the header's");
    assert!(ring.is_file());

    // Everything it holds, polled.
    let mut rd = ring.reader(Start::Oldest).unwrap_or_else(|e| panic!("a reader of the opened ring: {e:?}"));
    let most = h.g.data / FRAME_HEADER + 1;
    let mut got: Vec<(u64, Vec<u8>)> = Vec::new();
    loop {
        match rd.try_next() {
            Ok(r) => got.push((r.seq, r.data)),
            Err(Error::Timeout | Error::Closed) => break,
            Err(e) => panic!("reading the opened ring: {e:?} after {} records", got.len()),
        }
        assert!(got.len() as u64 <= most, "the reader returns more records than the ring can hold");
    }
    let snap = ring.snapshot().unwrap_or_else(|e| panic!("snapshot of the opened ring: {e:?}"));
    let st = ring.stats();
    trace!(
        "read {:?}; snapshot {} bytes; stats {st:?}",
        got.iter().map(|r| (r.0, r.1.len())).collect::<Vec<_>>(),
        snap.len()
    );
    drop(rd);
    drop(ring);
    // Alone with the file, the opener checked and repaired it (and counted
    // a recovery). Nothing else here has the file open; a process forked
    // meanwhile could (a copy of a descriptor, until its exec): then the
    // open trusted the file as a live one, and only the above holds.
    if st.recoveries != u64_at(bytes, format::OFF_RECOVERIES).wrapping_add(1) {
        trace!("the open was not alone with the file: no recovery to check");
        return;
    }

    // The file after the open (and the opener's repairs).
    let after = std::fs::read(&f.0).expect("the file is still there");
    assert_eq!(after.len(), bytes.len(), "opening changed the file's length");
    let h2 = format::header(&after).unwrap_or_else(|why| panic!("after the open the header is refused: {why:?}"));
    assert_eq!(
        (h2.file, h2.g, h2.key, h2.tail, h2.tail_seq, h2.claim, h2.next_seq),
        (h.file, h.g, h.key, h.tail, h.tail_seq, h.claim, h.next_seq),
        "the open moved the header's positions"
    );
    if existing {
        assert_eq!(h2.claim_word, h.claim_word, "open_existing changed the claim (its closed flag)");
    } else {
        assert_eq!(h2.claim_word & format::CLOSED, 0, "open_file leaves the ring closed");
    }
    let area2 = &after[h2.header_size..];
    let w2 = format::walk(&h2, area2);
    assert!(
        !w2.stopped && format::walk_end_seq(&h2, &w2) == h2.next_seq,
        "after the open the frames from the tail do not reach the claim whole (walk stopped {}, end seq {} of {})",
        w2.stopped,
        format::walk_end_seq(&h2, &w2),
        h2.next_seq
    );
    assert!(
        w2.frames.iter().all(|f| f.kind != Kind::Pending),
        "a pending frame is left after an open alone with the file (its writer is dead)"
    );
    let want: Vec<(u64, Vec<u8>)> = w2.records(&h2, area2).into_iter().map(|(_, s, b)| (s, b)).collect();
    let seqs = |v: &[(u64, Vec<u8>)]| v.iter().map(|r| (r.0, r.1.len())).collect::<Vec<_>>();
    assert!(got == want, "records read {:?}, the retained committed records of the file {:?}", seqs(&got), seqs(&want));
    assert!(snap == concat(&want), "the snapshot is not the retained records' bytes back to back");
    for (seq, b) in &d0.records {
        assert!(got.iter().any(|(s, g)| s == seq && g == b), "record {seq} of the file before the open was not read");
    }
    // Committed frames before the open are untouched.
    if let Some((_, w)) = &whole {
        let g = h.g;
        let area = &bytes[h.header_size..];
        for fr in w.frames.iter().filter(|fr| fr.kind == Kind::Record) {
            let idx = fr.header_idx(&g).chain(fr.payload_idx(&g));
            for i in idx {
                assert_eq!(area2[i], area[i], "record {} at {}: byte changed by the open", fr.seq, fr.x);
            }
        }
    }
}

/// The records' bytes back to back, as a snapshot holds them.
fn concat(records: &[(u64, Vec<u8>)]) -> Vec<u8> {
    records.iter().flat_map(|r| r.1.iter().copied()).collect()
}

// ---- synthetic --------------------------------------------------------------------

fn synthetic(inp: &mut Input) -> Vec<u8> {
    let mut img = crate::image::synthetic_image(inp, true);
    // The tables: zeros, or the input's bytes (sessions, readers' slots).
    if inp.u8() >= 0xC0 {
        let n = usize::from(inp.u16()) % 2048;
        let at = format::HEADER_SIZE + usize::from(inp.u16()) % (format::FILE_HEADER_SIZE - format::HEADER_SIZE);
        for (k, b) in inp.bytes(n).iter().enumerate() {
            if at + k < format::FILE_HEADER_SIZE {
                img[at + k] = *b;
            }
        }
    }
    relength(inp, &mut img);
    img
}

/// Now and then another length: cut or grown (0, the default: as it is).
fn relength(inp: &mut Input, img: &mut Vec<u8>) {
    let n = img.len();
    match inp.choose(16) {
        9 => img.truncate(n - 1),
        10 => img.truncate(n.saturating_sub(8)),
        11 => img.truncate(n.saturating_sub(4096)),
        12 => img.truncate(n / 2),
        13 => img.truncate(usize::from(inp.u16())),
        14 => img.push(0),
        15 => img.resize(n + 4096, 0),
        _ => {}
    }
}

// ---- structured ---------------------------------------------------------------------

fn payload(inp: &mut Input, len: usize, k: u64) -> Vec<u8> {
    let lit = inp.bytes(len.min(32));
    (0..len).map(|i| lit.get(i).copied().unwrap_or((k as u8).wrapping_mul(31) ^ i as u8)).collect()
}

/// A real ring file, written by ops from the input; its bytes.
fn real_file(inp: &mut Input) -> Vec<u8> {
    let cap = [1024usize, 2048, 4096, 8192][inp.choose(4)];
    let f = TempFile::new("made");
    let ring = Ring::open_file(&f.0, cap).unwrap_or_else(|e| panic!("creating a ring file: {e:?}"));
    let max = ring.max_record();
    let mut held = Vec::new();
    let mut readers = Vec::new();
    let nops = inp.choose(48);
    for k in 0..nops as u64 {
        match inp.choose(12) {
            0 if held.len() < 3 => {
                let len = inp.choose(max + 1);
                let data = payload(inp, len, k);
                if let Ok(p) = ring.begin_write(&data) {
                    held.push(p);
                }
            }
            1 if !held.is_empty() => {
                let p = held.remove(inp.choose(held.len()));
                if inp.u8() & 1 == 0 {
                    p.commit();
                } else {
                    drop(p); // abandoned: dead
                }
            }
            2 => {
                let parts: Vec<Vec<u8>> = (0..1 + inp.choose(3))
                    .map(|_| {
                        let len = inp.choose(max / 3 + 1);
                        payload(inp, len, k)
                    })
                    .collect();
                let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
                let _ = ring.writev(&refs);
            }
            3 if readers.len() < 2 => {
                if let Ok(r) = ring.reader(Start::Oldest) {
                    readers.push(r);
                }
            }
            4 if !readers.is_empty() => {
                let i = inp.choose(readers.len());
                for _ in 0..inp.choose(8) {
                    let _ = readers[i].try_next();
                }
            }
            5 if inp.u8() < 24 => {
                let _ = ring.close();
            }
            6 => {
                let len = if inp.u8() < 16 { max } else { inp.choose(max.min(300) + 1) };
                let data = payload(inp, len, k);
                let _ = ring.write(&data);
            }
            _ => {
                let len = inp.choose(64);
                let data = payload(inp, len, k);
                let _ = ring.write(&data);
            }
        }
    }
    // What is still held is abandoned (dead), as a panic would leave it.
    drop(held);
    drop(readers);
    drop(ring);
    std::fs::read(&f.0).expect("the ring file")
}

/// Damages a ring file's bytes at places the input chooses.
fn damage(inp: &mut Input, img: &mut Vec<u8>) {
    let Ok(h) = format::header(img) else { return };
    let hs = h.header_size;
    let g = h.g;
    let w = format::walk(&h, &img[hs..]);
    let frames = w.frames.clone();
    for _ in 0..inp.choose(4) {
        let pick = |inp: &mut Input| (!frames.is_empty()).then(|| frames[inp.choose(frames.len())]);
        let op = inp.choose(11);
        trace!("damage op {op}");
        match op {
            0 => {
                // A byte of a frame header on the walk (w0 or w1).
                if let Some(f) = pick(inp) {
                    let i = hs + g.idx(g.off(f.x), u64::from(inp.u8() % 16));
                    img[i] ^= inp.u8().max(1);
                }
            }
            1 => {
                // A frame's length bits, moved by a multiple of 8 or 1.
                if let Some(f) = pick(inp) {
                    let o = g.off(f.x) + 8;
                    let area = &mut img[hs..];
                    let w1 = data_word(area, &g, o);
                    let d = i64::from(inp.u8() as i8) * if inp.u8() & 1 == 0 { 8 } else { 1 };
                    let len = (w1 & ((1 << 40) - 1)).wrapping_add_signed(d) & ((1 << 40) - 1);
                    format::put_data_word(area, &g, o, (w1 & !((1 << 40) - 1)) | len);
                }
            }
            2 => {
                // The claim's or tail's position (by 8s) or seq moved.
                let field = [OFF_CLAIM, OFF_CLAIM + 8, OFF_TAIL, OFF_TAIL + 8][inp.choose(4)];
                let delta = i64::from(inp.u8() as i8) * if field.is_multiple_of(16) { 8 } else { 1 };
                let v = u64_at(img, field).wrapping_add_signed(delta);
                put_u64(img, field, v);
            }
            3 => {
                // The tail to another frame on the walk (with or without its seq).
                if let Some(f) = pick(inp) {
                    let s = if inp.u8() & 1 == 0 { f.seq } else { f.seq.wrapping_add(1) };
                    put_pair(img, OFF_TAIL, f.x, s);
                }
            }
            4 => {
                // A validated header field, or the flags.
                let o = if inp.u8() & 1 == 0 { inp.choose(format::VALIDATED) } else { format::OFF_FLAGS };
                img[o] ^= inp.u8().max(1);
            }
            5 => {
                // Bytes of the tables (sessions, readers).
                let o = format::HEADER_SIZE + usize::from(inp.u16()) % (format::FILE_HEADER_SIZE - format::HEADER_SIZE);
                let v = inp.u64();
                let o = o.min(img.len() - 8) & !7;
                put_u64(img, o, v);
            }
            6 => {
                // A payload byte.
                if let Some(f) = pick(inp).filter(|f| f.size > FRAME_HEADER) {
                    let i = hs + g.idx(g.off(f.x), FRAME_HEADER + u64::from(inp.u16()) % (f.size - FRAME_HEADER));
                    img[i] ^= inp.u8().max(1);
                }
            }
            7 => {
                // A frame header zeroed.
                if let Some(f) = pick(inp) {
                    for k in 0..FRAME_HEADER {
                        img[hs + g.idx(g.off(f.x), k)] = 0;
                    }
                }
            }
            8 => {
                // An aligned word anywhere.
                let o = inp.u32() as usize % (img.len() / 8) * 8;
                put_u64(img, o, inp.u64());
            }
            9 => {
                // The version.
                put_u32(img, format::OFF_VERSION, inp.u32());
            }
            _ => {
                // A byte anywhere.
                let o = inp.u32() as usize % img.len();
                img[o] ^= inp.u8().max(1);
            }
        }
    }
    relength(inp, img);
}

/// Runs one input. Format: byte 0 picks the kind of file (`% 4`: 0 raw, 1
/// synthetic, 2-3 structured) and, in bit 2, `open_existing` instead of
/// `open_file(path, 0)`; the rest is that kind's.
pub fn run(data: &[u8]) {
    let mut inp = Input::new(data);
    let mode = inp.u8();
    let existing = mode & 4 != 0;
    let bytes = match mode % 4 {
        0 => inp.bytes(usize::MAX).to_vec(),
        1 => synthetic(&mut inp),
        _ => {
            let mut img = real_file(&mut inp);
            // The file as made: a whole ring file, which must open.
            let h = format::header(&img).expect("a ring file made by open_file has a valid header");
            let w = format::walk(&h, &img[h.header_size..]);
            assert!(
                h.file && format::opener_must_accept(&h, &img[h.header_size..], &w),
                "a made ring file is not whole"
            );
            damage(&mut inp, &mut img);
            img
        }
    };
    check_open(&bytes, existing);
}
