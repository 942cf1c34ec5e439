//! Bad ring files (issue 9, "Bad files"): whatever is at the path,
//! `Ring::open_file` answers `BadFile` for a file that is not a usable ring
//! (random bytes, empty, text, another version, a bad magic, truncated,
//! grown, positions that contradict each other, damaged frame headers),
//! `Io(errno)` for system errors and `InvalidArgument` for a capacity it
//! cannot take. Never a crash, never a hang (every open runs on a thread
//! with a time limit), and a refused file is byte for byte what it was.
//!
//! Frame damage comes in three kinds. Damage no crash can leave (a marker
//! of a neighbouring seq, a length that changes a frame's size, so that
//! the walk swallows a record or lands inside one) must be refused. In a
//! ring file `w1` has no check (docs/FORMAT.md: the writer's session tag
//! stands in its place), so a changed tag, or a length within the same
//! padded size, cannot be detected: refused, or read as it now is. Damage that leaves no marker at all for the frame's position
//! (a flipped bit in the middle of `w0`, kind bits, a zeroed header) looks
//! exactly like a writer killed between its claim and its first store
//! (docs/FORMAT.md, "What a crash leaves"): the opener may refuse it, or
//! pass that one record as lost; then every other record must read back
//! whole and the repair must stay inside the damaged frame.
//!
//! A file shrunk under a live mapping (SIGBUS) must not kill the process:
//! each such case runs in a child process (this test binary again, with
//! `--exact NAME` and `RINGLOG_FILE_BAD_CHILD` set), so that a SIGBUS shows
//! up as a child killed by that signal, not as a crashed test runner.
//!
//! Offsets come from docs/FORMAT.md and `layout.rs`: a ring file has 20480
//! bytes (header 2048 + tables 18432) before its data area; frames are a
//! 16-byte header (`w0` marker, `w1` = len | check << 40) and the payload
//! padded to 8.
#![cfg(all(unix, not(loom)))]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ringbuf_core::{Error, Ring, Start};

// ---- the layout (docs/FORMAT.md, layout.rs) --------------------------------

/// Bytes before the data area in a ring file.
const FILE_HEADER: usize = 20480;
const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_HEADER_SIZE: usize = 12;
const OFF_CAPACITY: usize = 16;
const OFF_MAX_RECORD: usize = 24;
const OFF_DATA_SIZE: usize = 32;
const OFF_FLAGS: usize = 48;
/// Claim: position (| flags) at 64, next seq at 72. Tail: position at 128,
/// seq at 136.
const OFF_CLAIM: usize = 64;
const OFF_CLAIM_SEQ: usize = 72;
const OFF_TAIL: usize = 128;
const OFF_TAIL_SEQ: usize = 136;

/// The capacity of the rings most cases damage: data area 4096 + 256.
const CAP: usize = 4096;
const DATA: usize = CAP + 256;

fn frame_size(len: usize) -> usize {
    16 + ((len + 7) & !7)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().unwrap())
}

fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

// ---- scratch directories ----------------------------------------------------

/// A fresh directory under the system's temporary directory, removed (with
/// everything in it) when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ringlog-file-bad-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A chmod 000 file or directory inside must not stop the clean-up.
        if let Ok(entries) = std::fs::read_dir(&self.0) {
            for e in entries.flatten() {
                let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o700));
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---- bounded calls --------------------------------------------------------------

/// How long one open may take before it counts as a hang. An open that
/// finds the file alone reads it whole (a few KiB here); recovery waits at
/// most 10 s for another opener, and no other opener exists in these tests.
const OPEN_LIMIT: Duration = Duration::from_secs(30);

/// Runs `f` on its own thread and returns its result, or fails the test if
/// it has not returned within `limit` (the thread is left behind).
fn bounded<T: Send + 'static>(what: &str, limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still running after {limit:?} (a hang)"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked (message above)"),
    }
}

/// Opens and child processes never overlap. A child holds a copy of every
/// descriptor of this process from its fork to its exec (and a moment
/// after `spawn` returns, until the kernel has released them), so a ring
/// file a test has just closed can still be open there: an opener then is
/// not alone with the file, and neither checks nor repairs its frames.
/// `open` also tries again when it was not alone.
static FORKS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Starts a child process (no open runs meanwhile).
fn spawn(cmd: &mut Command) -> std::process::Child {
    let _no_opens = FORKS.write().unwrap_or_else(|e| e.into_inner());
    cmd.spawn().unwrap()
}

/// Offset of the header's `recoveries` counter (docs/FORMAT.md): bumped by
/// every opener alone with the file.
const OFF_RECOVERIES: usize = 288;

/// The `recoveries` counter of the regular file at `path`, if it has one.
fn recoveries(path: &Path) -> Option<u64> {
    use std::io::Read;
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut b = [0u8; OFF_RECOVERIES + 8];
    std::fs::File::open(path).ok()?.read_exact(&mut b).ok()?;
    Some(u64_at(&b, OFF_RECOVERIES))
}

/// Opens the file at `path` (bounded) as the only handle: every test here
/// has it open nowhere else, so an opener that was not alone (no recovery
/// counted) met a child process's fleeting copy of a descriptor, and tries
/// again.
fn open_alone(path: &Path, what: String, how: fn(&Path) -> Result<Ring, Error>) -> Result<Ring, Error> {
    for _ in 0..100 {
        let before = recoveries(path);
        let r = {
            let _no_forks = FORKS.read().unwrap_or_else(|e| e.into_inner());
            let p = path.to_path_buf();
            bounded(&what, OPEN_LIMIT, move || how(&p))
        };
        match &r {
            Ok(ring) if before.is_some_and(|n| ring.stats().recoveries == n) => {
                drop(r);
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => return r,
        }
    }
    panic!("{what}: never alone with the file");
}

/// `Ring::open_file(path, capacity)`, bounded, alone.
fn open(path: &Path, capacity: usize) -> Result<Ring, Error> {
    let what = format!("open_file({}, {capacity})", path.display());
    match capacity {
        0 => open_alone(path, what, |p| Ring::open_file(p, 0)),
        CAP => open_alone(path, what, |p| Ring::open_file(p, CAP)),
        _ => {
            let _no_forks = FORKS.read().unwrap_or_else(|e| e.into_inner());
            let p = path.to_path_buf();
            bounded(&what, OPEN_LIMIT, move || Ring::open_file(&p, capacity))
        }
    }
}

/// `Ring::open_existing(path)`, bounded, alone.
fn open_existing(path: &Path) -> Result<Ring, Error> {
    open_alone(path, format!("open_existing({})", path.display()), |p| Ring::open_existing(p))
}

fn describe(r: &Result<Ring, Error>) -> String {
    match r {
        Ok(ring) => format!("Ok(a ring of capacity {})", ring.capacity()),
        Err(e) => format!("Err({e:?})"),
    }
}

/// Writes `bytes` at `path` (mode 0600) and expects every way of opening it
/// to answer `BadFile`, leaving the file exactly as it was.
fn expect_bad(path: &Path, bytes: &[u8], what: &str) {
    if let Err(e) = check_bad(path, bytes, what) {
        panic!("{e}");
    }
}

/// The ways to open an existing file, one after the other.
type Open = fn(&Path) -> Result<Ring, Error>;
const OPENS: [(&str, Open); 3] = [
    ("open_file(path, 0)", |p| open(p, 0)),
    ("open_existing(path)", open_existing),
    ("open_file(path, 4096)", |p| open(p, CAP)),
];

/// `expect_bad`, reporting instead of failing.
fn check_bad(path: &Path, bytes: &[u8], what: &str) -> Result<(), String> {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Capacity 0 (any), the tools' open, and a capacity: the file exists,
    // so nothing is created and the header decides before the capacity.
    for (how, open) in OPENS {
        let r = open(path);
        let verdict = describe(&r);
        drop(r);
        let after = std::fs::read(path).unwrap();
        let changed = (after != bytes).then(|| {
            format!(
                ", and the file changed ({} bytes before, {} after, first difference at {:?})",
                bytes.len(),
                after.len(),
                bytes.iter().zip(&after).position(|(a, b)| a != b)
            )
        });
        if !verdict.starts_with("Err(BadFile") || changed.is_some() {
            return Err(format!("{what}: {how} gave {verdict}{}; wanted Err(BadFile)", changed.unwrap_or_default()));
        }
    }
    Ok(())
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

// ---- valid ring files to damage ----------------------------------------------------

/// Payload lengths of the records `ring_file` writes: varied, unaligned,
/// none wrapping the data area.
fn lens(n: usize) -> Vec<usize> {
    (0..n).map(|i| 5 + (i * 37) % 120).collect()
}

fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i * 31 + k * 7) as u8).collect()
}

/// A ring file of capacity `CAP` at `path` holding `n` records (written
/// with `open_file`, then every handle dropped); its bytes.
fn ring_file(path: &Path, n: usize) -> Vec<u8> {
    let _ = std::fs::remove_file(path);
    let ring = open(path, CAP).expect("create a ring file");
    assert!(ring.is_file());
    assert_eq!(ring.capacity(), CAP);
    for (i, len) in lens(n).into_iter().enumerate() {
        assert_eq!(ring.write(&payload(i, len)).unwrap(), i as u64);
    }
    drop(ring);
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(bytes.len(), FILE_HEADER + DATA, "a ring file of capacity {CAP}");
    // The layout this test assumes, checked on a real file.
    assert_eq!(&bytes[OFF_MAGIC..OFF_MAGIC + 8], b"RINGLOG\0");
    assert_eq!(u32_at(&bytes, OFF_VERSION), 2);
    assert_eq!(u32_at(&bytes, OFF_HEADER_SIZE) as usize, FILE_HEADER);
    assert_eq!(u64_at(&bytes, OFF_CAPACITY) as usize, CAP);
    assert_eq!(u64_at(&bytes, OFF_MAX_RECORD) as usize, CAP / 4);
    assert_eq!(u64_at(&bytes, OFF_DATA_SIZE) as usize, DATA);
    assert_eq!(u32_at(&bytes, OFF_FLAGS), 1, "flags: a ring in a file");
    let end: usize = lens(n).into_iter().map(frame_size).sum();
    assert_eq!(u64_at(&bytes, OFF_CLAIM) as usize, end, "claim position: the frames back to back");
    assert_eq!(u64_at(&bytes, OFF_CLAIM_SEQ) as usize, n, "claim seq");
    assert_eq!((u64_at(&bytes, OFF_TAIL), u64_at(&bytes, OFF_TAIL_SEQ)), (0, 0), "tail");
    bytes
}

/// File offset of record `i`'s frame in a file made by `ring_file`.
fn frame_at(i: usize) -> usize {
    FILE_HEADER + lens(i).into_iter().map(frame_size).sum::<usize>()
}

/// Reads every record of an open ring (bounded): (seq, lost, bytes).
fn read_all(ring: &Ring) -> Vec<(u64, u64, Vec<u8>)> {
    let mut rd = ring.reader(Start::Oldest).unwrap();
    let mut out = Vec::new();
    let t0 = Instant::now();
    loop {
        match rd.try_next() {
            Ok(r) => out.push((r.seq, r.lost, r.data)),
            Err(Error::Timeout | Error::Closed) => return out,
            Err(e) => panic!("reading a good ring file: {e:?}"),
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "reading a ring of {} records never ends", out.len());
    }
}

// ---- not a ring -------------------------------------------------------------------------

#[test]
fn random_bytes_are_bad_files() {
    let d = Scratch::new("random");
    let p = d.path("ring");
    // Short ones, a header's worth, a page, the header and tables, exactly a
    // ring file's size (of every small capacity), bigger.
    let mut sizes = vec![1, 7, 8, 100, 2047, 2048, 2049, 4096, FILE_HEADER - 1, FILE_HEADER, FILE_HEADER + 1];
    for cap in [1024, 2048, 4096, 65536] {
        sizes.push(FILE_HEADER + cap + (cap / 16).clamp(64, 4096));
    }
    sizes.push(1 << 20);
    for (k, &n) in sizes.iter().enumerate() {
        expect_bad(&p, &noise(k as u64 + 1, n), &format!("{n} random bytes"));
    }
    // The right magic, then noise: the rest of the header decides.
    for (k, &n) in sizes.iter().filter(|&&n| n >= 8).enumerate() {
        let mut b = noise(1000 + k as u64, n);
        b[..8].copy_from_slice(b"RINGLOG\0");
        expect_bad(&p, &b, &format!("the magic, then {} random bytes", n - 8));
    }
}

#[test]
fn an_empty_file_is_a_bad_file() {
    let d = Scratch::new("empty");
    expect_bad(&d.path("ring"), b"", "an empty file");
}

#[test]
fn text_files_are_bad_files() {
    let d = Scratch::new("text");
    let p = d.path("ring.log");
    expect_bad(&p, b"hello, world\n", "a line of text");
    let lines: String =
        (0..5000).map(|i| format!("2026-11-29 12:00:{:02} INFO request {i} served\n", i % 60)).collect();
    expect_bad(&p, lines.as_bytes(), "a log file");
    // Text of exactly a ring file's length.
    let exact: Vec<u8> = lines.bytes().cycle().take(FILE_HEADER + DATA).collect();
    expect_bad(&p, &exact, "text of a ring file's length");
    // Text that starts like the magic.
    let mut magic_text = b"RINGLOG is a log ring\n".to_vec();
    magic_text.resize(FILE_HEADER + DATA, b'x');
    expect_bad(&p, &magic_text, "text starting with RINGLOG");
}

#[test]
fn a_ring_image_in_memory_layout_is_not_a_ring_file() {
    // `region_image()` of a ring in memory: a valid region, but no tables
    // and flags 0. Its bytes at a path are not a ring file.
    let d = Scratch::new("image");
    let ring = Ring::new(CAP).unwrap();
    ring.write(b"in memory").unwrap();
    expect_bad(&d.path("ring"), &ring.region_image(), "an in-memory region image");
}

// ---- a ring file, damaged -------------------------------------------------------------

#[test]
fn another_version_or_magic_is_a_bad_file() {
    let d = Scratch::new("version");
    let p = d.path("ring");
    let good = ring_file(&p, 20);
    for v in [0u32, 1, 3, 0x0100_0002, u32::MAX] {
        let mut b = good.clone();
        put_u32(&mut b, OFF_VERSION, v);
        expect_bad(&p, &b, &format!("version {v}"));
    }
    for (at, x) in [(0, 0x20), (3, 0x01), (7, 0xff)] {
        let mut b = good.clone();
        b[OFF_MAGIC + at] ^= x;
        expect_bad(&p, &b, &format!("magic byte {at} ^ {x:#x}"));
    }
    // The other fields the header check pins down.
    let fields: [(&str, usize, u64); 9] = [
        ("header_size 2048 (the in-memory layout)", OFF_HEADER_SIZE, 2048),
        ("header_size 20488", OFF_HEADER_SIZE, 20488),
        ("flags 0 (an in-memory image)", OFF_FLAGS, 0),
        ("flags 3", OFF_FLAGS, 3),
        ("capacity 8192", OFF_CAPACITY, 8192),
        ("capacity 4095", OFF_CAPACITY, 4095),
        ("capacity 0", OFF_CAPACITY, 0),
        ("max_record", OFF_MAX_RECORD, CAP as u64 / 2),
        ("data_size", OFF_DATA_SIZE, DATA as u64 + 8),
    ];
    for (what, off, v) in fields {
        let mut b = good.clone();
        if off == OFF_HEADER_SIZE || off == OFF_FLAGS {
            put_u32(&mut b, off, v as u32);
        } else {
            put_u64(&mut b, off, v);
        }
        expect_bad(&p, &b, what);
    }
    // The untouched file still opens, with its records.
    std::fs::write(&p, &good).unwrap();
    let ring = open(&p, 0).expect("the good file opens");
    assert_eq!(read_all(&ring).len(), 20);
}

#[test]
fn truncated_or_grown_files_are_bad_files() {
    let d = Scratch::new("length");
    let p = d.path("ring");
    let good = ring_file(&p, 30);
    let n = good.len();
    for (what, len) in [
        ("truncated by 1 byte", n - 1),
        ("truncated by 8 bytes", n - 8),
        ("truncated by a page", n - 4096),
        ("truncated to half", n / 2),
        ("truncated to the header and tables", FILE_HEADER),
        ("truncated to the header", 2048),
        ("truncated to 100 bytes", 100),
    ] {
        expect_bad(&p, &good[..len], what);
    }
    for (what, extra) in [("grown by a byte", 1), ("grown by 8 bytes", 8), ("grown by a page", 4096)] {
        let mut b = good.clone();
        b.resize(n + extra, 0);
        expect_bad(&p, &b, what);
    }
    // A file of a ring of another capacity's length, with this header.
    let mut b = good.clone();
    b.resize(FILE_HEADER + 2 * CAP + 512, 0);
    expect_bad(&p, &b, "the length of a ring of twice the capacity");
}

#[test]
fn contradicting_header_positions_are_bad_files() {
    let d = Scratch::new("positions");
    let p = d.path("ring");
    let good = ring_file(&p, 25);
    let claim = u64_at(&good, OFF_CLAIM);
    let claim_seq = u64_at(&good, OFF_CLAIM_SEQ);
    assert!(claim > 64 && claim_seq == 25);
    // The position space: data offsets below DATA, laps above 2^13.
    let lap = 1u64 << 13;
    let cases: Vec<(&str, usize, u64)> = vec![
        ("tail > claim", OFF_TAIL, claim + 8),
        ("tail far beyond claim", OFF_TAIL, claim + 3 * lap),
        ("tail not a multiple of 8", OFF_TAIL, 4),
        ("tail seq > claim seq", OFF_TAIL_SEQ, claim_seq + 1),
        ("tail seq = u64::MAX", OFF_TAIL_SEQ, u64::MAX),
        ("claim beyond the data area (offset >= data size)", OFF_CLAIM, DATA as u64 + 8),
        ("claim at an offset past the data, next lap bits", OFF_CLAIM, lap - 8),
        ("claim more than the data area past the tail", OFF_CLAIM, 2 * lap + claim),
        ("claim seq below the tail seq", OFF_CLAIM_SEQ, 0),
        ("claim seq at 2^61", OFF_CLAIM_SEQ, 1 << 61),
        ("claim seq = u64::MAX", OFF_CLAIM_SEQ, u64::MAX),
        // Valid on their own, but the records between tail and claim do not
        // add up to them.
        ("claim 8 bytes short of the last frame's end", OFF_CLAIM, claim - 8),
        ("claim 8 bytes past the last frame's end", OFF_CLAIM, claim + 8),
        ("claim 64 bytes past the last frame's end", OFF_CLAIM, claim + 64),
        ("claim seq one more than the records", OFF_CLAIM_SEQ, claim_seq + 1),
        ("claim seq one less than the records", OFF_CLAIM_SEQ, claim_seq - 1),
        // The first frame's marker is one for seq 0, not 1.
        ("tail seq 1 at the first frame", OFF_TAIL_SEQ, 1),
    ];
    let mut failures = Vec::new();
    for (what, off, v) in cases {
        let mut b = good.clone();
        put_u64(&mut b, off, v);
        // Claim seq 0 with tail seq 0 would agree: move the tail seq.
        if what == "claim seq below the tail seq" {
            put_u64(&mut b, OFF_TAIL_SEQ, 5);
        }
        failures.extend(check_bad(&p, &b, what).err());
    }
    // The claim (position and seq) gone back to an earlier frame: the frames
    // up to it add up, but the records after it, which readers would read
    // on to, were never claimed as far as the header says.
    for k in [0, 1, 20, 24] {
        let mut b = good.clone();
        put_u64(&mut b, OFF_CLAIM, (frame_at(k) - FILE_HEADER) as u64);
        put_u64(&mut b, OFF_CLAIM_SEQ, k as u64);
        failures.extend(check_bad(&p, &b, &format!("claim gone back to record {k} of 25")).err());
    }
    // Positions so close to 2^64 that a lap further would overflow (no ring
    // writes 2^62 bytes): an empty ring there, tail = claim.
    for pos in [u64::MAX - lap + 1, 1u64 << 62, (1 << 63) + 64] {
        let mut b = good.clone();
        put_u64(&mut b, OFF_TAIL, pos);
        put_u64(&mut b, OFF_TAIL_SEQ, claim_seq);
        put_u64(&mut b, OFF_CLAIM, pos);
        failures.extend(check_bad(&p, &b, &format!("tail = claim = {pos:#x}")).err());
    }
    assert!(failures.is_empty(), "{} contradicting headers not refused:\n{}", failures.len(), failures.join("\n"));
}

/// `w1` changes. In a ring file `w1` is a record's length and its writer's
/// session tag, read without a check (docs/FORMAT.md): a length that
/// changes the frame's size makes the walk meet a header inside the frame
/// or none where the next one should be (refused); the tag's bits and a
/// length within the same padded size cannot be told from the truth.
/// A named change to a frame's `w1`.
type W1Change = (&'static str, fn(u64) -> u64);

const W1_CHANGES: [W1Change; 7] = [
    ("w1: length bit 0", |w| w ^ 1),
    ("w1: length bit 3", |w| w ^ 8),
    ("w1: length + 8", |w| w + 8),
    ("w1: length + 64", |w| w + 64),
    ("w1: length past max_record", |w| w + 4096),
    ("w1: a bit of the session tag", |w| w ^ 0x10 << 40),
    ("w1: the top bit", |w| w ^ 1 << 63),
];

/// Damage that turns a header into bytes that are no marker for the
/// position at all: exactly what a writer that died between its claim and
/// its first store leaves (docs/FORMAT.md, "What a crash leaves"). The
/// opener may refuse it, or take it for that and pass it as a lost record.
const NO_MARKER: [(&str, usize, u8); 3] = [
    ("w0 (marker) middle byte", 3, 0x40),
    ("w0 (marker) kind bits, record -> pending", 7, 0x20),
    ("w0 (marker) kind bits, record -> dead", 7, 0x60),
];

/// For damage to record `i` of the `n` that `ring_file` wrote that reads
/// as a claim without a header: either refused untouched, or the file
/// opens with every other record whole and in order (record `i` lost), and
/// the repair wrote only inside record `i`'s frame and the header page.
fn check_bad_or_lost(p: &Path, b: &[u8], i: usize, n: usize, what: &str) -> Result<(), String> {
    if check_bad(p, b, what).is_ok() {
        return Ok(());
    }
    std::fs::write(p, b).unwrap();
    let ring = open(p, 0).map_err(|e| format!("{what}: neither refused nor opened: {e:?}"))?;
    let got = read_all(&ring);
    let st = ring.stats();
    drop(ring);
    let want: Vec<(u64, Vec<u8>)> = (0..n).filter(|&k| k != i).map(|k| (k as u64, payload(k, lens(n)[k]))).collect();
    let seqs: Vec<(u64, Vec<u8>)> = got.iter().map(|r| (r.0, r.2.clone())).collect();
    if seqs != want {
        return Err(format!(
            "{what}: opened, but the records read are {:?}, not all but record {i} (recoveries {} -> {}, reaped {})",
            got.iter().map(|r| r.0).collect::<Vec<_>>(),
            u64_at(b, 288),
            st.recoveries,
            st.reaped
        ));
    }
    if let Some(next) = got.iter().find(|r| r.0 == i as u64 + 1) {
        if next.1 != 1 {
            return Err(format!("{what}: opened, but record {} reports {} lost, not 1", i + 1, next.1));
        }
    }
    let after = std::fs::read(p).unwrap();
    let (lo, hi) = (frame_at(i), if i + 1 < n { frame_at(i + 1) } else { frame_at(n) });
    let outside = |k: usize| k >= FILE_HEADER && !(lo..hi).contains(&k);
    if let Some(k) = (0..b.len()).find(|&k| outside(k) && after[k] != b[k]) {
        return Err(format!("{what}: opened, and the repair changed byte {k}, outside record {i}'s frame"));
    }
    eprintln!("{what}: taken for a dead writer's claim: record {i} passed as lost");
    Ok(())
}

/// For a `w1` change of record `i` (of the `n` that `ring_file` wrote)
/// that keeps its padded size (now `new_len` bytes long): refused
/// untouched, or opened with every record in place, record `i` read with
/// the length `w1` now says (its own bytes, then its padding), and no frame
/// changed.
fn check_bad_or_undetected(p: &Path, b: &[u8], i: usize, n: usize, new_len: usize, what: &str) -> Result<(), String> {
    if check_bad(p, b, what).is_ok() {
        return Ok(());
    }
    std::fs::write(p, b).unwrap();
    let ring = open(p, 0).map_err(|e| format!("{what}: neither refused nor opened: {e:?}"))?;
    let got = read_all(&ring);
    drop(ring);
    let frames = &b[frame_at(i) + 16..];
    let want: Vec<(u64, Vec<u8>)> =
        (0..n).map(|k| (k as u64, if k == i { frames[..new_len].to_vec() } else { payload(k, lens(n)[k]) })).collect();
    if got.iter().map(|r| (r.0, r.2.clone())).collect::<Vec<_>>() != want {
        return Err(format!(
            "{what}: opened, but the records read are not the file's: {:?}",
            got.iter().map(|r| (r.0, r.2.len())).collect::<Vec<_>>()
        ));
    }
    if std::fs::read(p).unwrap()[FILE_HEADER..] != b[FILE_HEADER..] {
        return Err(format!("{what}: opened, and a frame changed"));
    }
    Ok(())
}

#[test]
fn damaged_frame_headers_are_bad_files() {
    let d = Scratch::new("frames");
    let p = d.path("ring");
    let n = 24;
    let good = ring_file(&p, n);
    // The frame offsets this test computes are right: a good file opens
    // with every record, and opening it changes no frame.
    {
        let ring = open(&p, 0).expect("the good file opens");
        let got = read_all(&ring);
        assert_eq!(got.len(), n);
        for (i, (seq, lost, data)) in got.into_iter().enumerate() {
            assert_eq!((seq, lost), (i as u64, 0));
            assert_eq!(data, payload(i, lens(n)[i]));
        }
        drop(ring);
        let now = std::fs::read(&p).unwrap();
        // Opening changes live fields only (counters, session and reader
        // tables): the frames stay as they were.
        assert!(now[FILE_HEADER..] == good[FILE_HEADER..], "opening a good file changed its frames");
    }
    let mut failures = Vec::new();
    for i in [1, n / 2, n - 2, n - 1, 0] {
        let at = frame_at(i);
        let len = lens(n)[i];
        // The marker of a neighbouring seq (bit 0 of the seq flipped): a
        // header was written here, for another record.
        let mut b = good.clone();
        b[at] ^= 1;
        let what = format!("record {i} (len {len}) of {n}: w0 is the marker of seq {}", i ^ 1);
        failures.extend(check_bad(&p, &b, &what).err());
        for (what, change) in W1_CHANGES {
            let mut b = good.clone();
            let w1 = change(u64_at(&b, at + 8));
            put_u64(&mut b, at + 8, w1);
            let new_len = (w1 & ((1 << 40) - 1)) as usize;
            let what = format!("record {i} (len {len}) of {n}: {what} (length {new_len})");
            if new_len > CAP / 4 || frame_size(new_len) != frame_size(len) {
                failures.extend(check_bad(&p, &b, &what).err());
            } else {
                failures.extend(check_bad_or_undetected(&p, &b, i, n, new_len, &what).err());
            }
        }
        for (what, off, x) in NO_MARKER {
            let mut b = good.clone();
            b[at + off] ^= x;
            let what = format!("record {i} (len {len}) of {n}: {what} flipped");
            failures.extend(check_bad_or_lost(&p, &b, i, n, &what).err());
        }
        // The whole header zeroed, or another frame's header copied over it.
        let mut b = good.clone();
        b[at..at + 16].fill(0);
        failures.extend(check_bad_or_lost(&p, &b, i, n, &format!("record {i} of {n}: header zeroed")).err());
        let j = if i == 0 { 1 } else { i - 1 };
        let mut b = good.clone();
        let other = frame_at(j);
        let hdr: Vec<u8> = good[other..other + 16].to_vec();
        b[at..at + 16].copy_from_slice(&hdr);
        let what = format!("record {i} of {n}: header of record {j} copied over it");
        failures.extend(check_bad_or_lost(&p, &b, i, n, &what).err());
    }
    assert!(failures.is_empty(), "{} damaged files mishandled:\n{}", failures.len(), failures.join("\n"));
}

/// Set for the helper process that leaves a pending record behind:
/// `PATH` of the ring file to write.
const HELPER_ENV: &str = "RINGLOG_FILE_BAD_PENDING_WRITER";

/// Writes `lens(n)` records to a new ring file, record `k` left dead
/// (abandoned: `begin_write` dropped) or pending (its process ends in the
/// middle of it, as a killed writer: a helper process, this binary run
/// with `HELPER_ENV`). Its bytes.
fn ring_file_with(path: &Path, n: usize, k: usize, pending: bool) -> Vec<u8> {
    let _ = std::fs::remove_file(path);
    if pending {
        let exe = std::env::current_exe().unwrap();
        let mut child = spawn(
            Command::new(exe)
                .args(["--exact", "helper_leaves_a_pending_record", "--nocapture", "--test-threads=1"])
                .env(HELPER_ENV, format!("{n}:{k}:{}", path.display()))
                .stdout(Stdio::null()),
        );
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if t0.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("the helper process hangs");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.code(), Some(7), "the helper process: {status}");
    } else {
        let ring = open(path, CAP).expect("create a ring file");
        for (i, len) in lens(n).into_iter().enumerate() {
            if i == k {
                drop(ring.begin_write(&payload(i, len)).unwrap());
            } else {
                assert_eq!(ring.write(&payload(i, len)).unwrap(), i as u64);
            }
        }
    }
    std::fs::read(path).unwrap()
}

/// The helper process of `ring_file_with` (a no-op in a normal run).
#[test]
fn helper_leaves_a_pending_record() {
    let Ok(arg) = std::env::var(HELPER_ENV) else { return };
    let mut it = arg.splitn(3, ':');
    let n: usize = it.next().unwrap().parse().unwrap();
    let k: usize = it.next().unwrap().parse().unwrap();
    let path = PathBuf::from(it.next().unwrap());
    let ring = Ring::open_file(&path, CAP).unwrap();
    let mut held = None;
    for (i, len) in lens(n).into_iter().enumerate() {
        if i == k {
            held = Some(ring.begin_write(&payload(i, len)).unwrap());
        } else {
            assert_eq!(ring.write(&payload(i, len)).unwrap(), i as u64);
        }
    }
    std::mem::forget(held);
    // SAFETY: ends the process at once, the record still pending.
    unsafe { libc::_exit(7) };
}

#[test]
fn damaged_lengths_of_dead_and_pending_frames() {
    // In a ring file the length of a pending or dead frame is read without
    // the check (docs/FORMAT.md): a damaged one moves the walk. Whatever
    // the open makes of it, no other record may be lost or changed.
    let d = Scratch::new("deadlen");
    let p = d.path("ring");
    let (n, k) = (12, 5);
    let mut failures = Vec::new();
    for pending in [false, true] {
        let kind = if pending { "pending" } else { "dead" };
        let good = ring_file_with(&p, n, k, pending);
        // Undamaged: opens, record k lost, the others whole.
        std::fs::write(&p, &good).unwrap();
        let ring = open(&p, 0).expect("a file with a dead or pending record opens");
        let got: Vec<u64> = read_all(&ring).iter().map(|r| r.0).collect();
        drop(ring);
        assert_eq!(got, (0..n as u64).filter(|&s| s != k as u64).collect::<Vec<_>>(), "{kind}: undamaged");
        for delta in [8u64, 16, 24, 64] {
            for sign in [1i64, -1] {
                let mut b = good.clone();
                let at = frame_at(k) + 8;
                let w1 = u64_at(&b, at);
                let len = w1 & ((1 << 40) - 1);
                let new_len = len.wrapping_add_signed(sign * delta as i64);
                if new_len > (CAP / 4) as u64 {
                    continue;
                }
                put_u64(&mut b, at, (w1 & !((1 << 40) - 1)) | new_len);
                let what = format!("{kind} record {k} (len {len}): length {new_len}");
                failures.extend(check_bad_or_lost(&p, &b, k, n, &what).err());
            }
        }
    }
    assert!(failures.is_empty(), "{} damaged files mishandled:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn payload_damage_is_not_detected_but_harmless() {
    // Only the headers are checked: a flipped payload byte reads back as
    // it is now (FORMAT.md). The open must still work and change no frame.
    let d = Scratch::new("payload");
    let p = d.path("ring");
    let n = 10;
    let mut b = ring_file(&p, n);
    b[frame_at(4) + 16] ^= 0xff;
    std::fs::write(&p, &b).unwrap();
    let ring = open(&p, 0).expect("payload damage is not detected");
    let got = read_all(&ring);
    assert_eq!(got.len(), n);
    let mut want = payload(4, lens(n)[4]);
    want[0] ^= 0xff;
    assert_eq!(got[4].2, want);
    drop(ring);
    assert_eq!(std::fs::read(&p).unwrap()[FILE_HEADER..], b[FILE_HEADER..]);
}

// ---- system errors and arguments ---------------------------------------------------------

#[test]
fn a_missing_file_with_capacity_0_is_enoent() {
    let d = Scratch::new("missing");
    let p = d.path("no-such-ring");
    assert_eq!(open(&p, 0).err(), Some(Error::Io(libc::ENOENT)));
    assert_eq!(open_existing(&p).err(), Some(Error::Io(libc::ENOENT)));
    assert!(!p.exists(), "nothing may be created");
    assert_eq!(std::fs::read_dir(&d.0).unwrap().count(), 0, "no temporary file left behind");
}

#[test]
fn a_path_in_a_missing_directory_is_enoent() {
    let d = Scratch::new("nodir");
    let p = d.path("no-such-dir").join("ring");
    for cap in [0, CAP] {
        assert_eq!(open(&p, cap).err(), Some(Error::Io(libc::ENOENT)), "capacity {cap}");
    }
    assert_eq!(open_existing(&p).err(), Some(Error::Io(libc::ENOENT)));
    assert_eq!(std::fs::read_dir(&d.0).unwrap().count(), 0, "nothing created");
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_file_without_permission_is_eacces() {
    let d = Scratch::new("perm");
    let p = d.path("ring");
    let good = ring_file(&p, 5);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    if running_as_root() {
        eprintln!("a_file_without_permission_is_eacces: running as root, which ignores file modes: EACCES not checked");
    }
    for (how, open) in OPENS {
        let r = open(&p);
        if !running_as_root() {
            assert!(matches!(r, Err(Error::Io(libc::EACCES))), "{how}: {}", describe(&r));
        }
    }
    // Read-only is not enough either (the ring is mapped for writing).
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400)).unwrap();
    let r = open(&p, 0);
    if !running_as_root() {
        assert!(matches!(r, Err(Error::Io(libc::EACCES))), "a read-only file: {}", describe(&r));
    }
    drop(r);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(std::fs::read(&p).unwrap()[FILE_HEADER..], good[FILE_HEADER..]);
    // A directory without write permission: the file cannot be created.
    let ro = d.path("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
    let r = open(&ro.join("ring"), CAP);
    if !running_as_root() {
        assert!(matches!(r, Err(Error::Io(libc::EACCES))), "creating in a read-only directory: {}", describe(&r));
    }
}

#[test]
fn capacity_mismatch_and_range_are_invalid_argument() {
    let d = Scratch::new("capacity");
    let p = d.path("ring");
    let good = ring_file(&p, 5);
    for cap in [1024, 2048, 8192, 1 << 20] {
        assert!(matches!(open(&p, cap), Err(Error::InvalidArgument(_))), "capacity {cap} for a ring of {CAP}");
    }
    // Rounded up as for Ring::new: 3000 -> 4096 is this ring's capacity.
    assert_eq!(open(&p, 3000).map(|r| r.capacity()).ok(), Some(CAP));
    assert_eq!(open(&p, CAP).map(|r| r.capacity()).ok(), Some(CAP));
    assert_eq!(std::fs::read(&p).unwrap()[FILE_HEADER..], good[FILE_HEADER..]);
    // Out of range: refused before anything is created.
    let q = d.path("new");
    for cap in [1, 1023, (1usize << 40) + 1, usize::MAX] {
        assert!(matches!(open(&q, cap), Err(Error::InvalidArgument(_))), "capacity {cap}");
        assert!(matches!(open(&p, cap), Err(Error::InvalidArgument(_))), "capacity {cap}, existing file");
    }
    assert!(!q.exists());
}

#[test]
fn a_directory_is_io_or_bad_file() {
    let d = Scratch::new("dir");
    for cap in [0, CAP] {
        let r = open(&d.0, cap);
        assert!(matches!(r, Err(Error::Io(_) | Error::BadFile(_))), "a directory, capacity {cap}: {}", describe(&r));
    }
    let r = open_existing(&d.0);
    assert!(matches!(r, Err(Error::Io(_) | Error::BadFile(_))), "a directory: {}", describe(&r));
    // Other things that are not regular files.
    for special in ["/dev/null", "/dev/zero"] {
        if Path::new(special).exists() {
            let r = open_existing(Path::new(special));
            assert!(matches!(r, Err(Error::Io(_) | Error::BadFile(_))), "{special}: {}", describe(&r));
        }
    }
    // A path with a NUL byte cannot be passed to open(2).
    assert!(matches!(open(Path::new("ring\0file"), CAP), Err(Error::InvalidArgument(_))));
}

#[test]
fn a_good_file_reopens_with_its_records() {
    // The positive case every refusal above is measured against.
    let d = Scratch::new("good");
    let p = d.path("ring");
    ring_file(&p, 12);
    let ring = open(&p, 0).unwrap();
    let got = read_all(&ring);
    assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), (0..12).collect::<Vec<u64>>());
    assert_eq!(ring.write(b"next").unwrap(), 12);
    let snap = ring.snapshot().unwrap();
    assert!(snap.ends_with(b"next"));
}

// ---- SIGBUS: the file shrunk under a live mapping ---------------------------------------

/// Set in the child process that runs one SIGBUS case: the scratch
/// directory (made and removed by the parent, so that a killed child leaves
/// nothing behind).
const CHILD_ENV: &str = "RINGLOG_FILE_BAD_CHILD";

/// Runs `body` in a child process: this test binary again, running only
/// test `name`. The parent fails with the child's exit status or signal (a
/// SIGBUS kill shows up as such), or if it runs longer than a minute.
fn in_child(name: &str, body: impl FnOnce(&Path)) {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        let _dog = common::watchdog("sigbus child", Duration::from_secs(60));
        body(Path::new(&dir));
        return;
    }
    let d = Scratch::new("child");
    // The child's output goes to a file, shown when it fails.
    let log_path = d.path("child.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = spawn(
        Command::new(exe)
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &d.0)
            .stdout(log.try_clone().unwrap())
            .stderr(log),
    );
    let t0 = Instant::now();
    let output = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: the child is still running after 90 s (a hang), killed; its output:\n{}", output());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        let what = if sig == libc::SIGBUS { " (SIGBUS)" } else { "" };
        panic!("{name}: the child was killed by signal {sig}{what}; its output:\n{}", output());
    }
    assert!(status.success(), "{name}: the child failed ({status}); its output:\n{}", output());
    eprintln!("{name}: the child's output:\n{}", output());
}

/// A result after the file was shrunk: `BadFile`, or a harmless answer.
fn harmless<T: std::fmt::Debug>(what: &str, r: &Result<T, Error>) {
    match r {
        Ok(_) | Err(Error::BadFile(_) | Error::Timeout | Error::Closed | Error::Busy) => {}
        Err(e) => panic!("{what} after the file shrank: {e:?}"),
    }
}

/// The file at a ring's path shrinks to `new_len` while a reader waits
/// and writers write; nothing crashes or hangs; once a fault was taken,
/// every call that checks says `BadFile`.
fn shrink_under_mapping(dir: &Path, new_len: impl Fn(u64) -> u64) {
    let p = dir.join("ring");
    let ring = open(&p, 1 << 16).unwrap();
    let full = std::fs::metadata(&p).unwrap().len();
    for i in 0..100u32 {
        ring.write(format!("record {i} {}", "x".repeat(i as usize % 200)).as_bytes()).unwrap();
    }
    // A reader that drains, then blocks in next_timeout; after the writes
    // below are done (`stop`), it ends at its second timeout in a row.
    let mut rd = ring.reader(Start::Oldest).unwrap();
    let (tx, rx) = mpsc::channel();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let reader = std::thread::spawn(move || {
        let mut got = 0u64;
        let mut results = Vec::new();
        let mut idle = 0;
        let t0 = Instant::now();
        loop {
            match rd.next_timeout(Duration::from_millis(1500)) {
                Ok(_) => {
                    got += 1;
                    idle = 0;
                    if got == 100 {
                        let _ = tx.send(()); // drained: the next call blocks
                    }
                }
                Err(Error::Timeout) => {
                    results.push(Error::Timeout);
                    if stop2.load(Ordering::Relaxed) {
                        idle += 1;
                        if idle == 2 {
                            break;
                        }
                    }
                }
                Err(e) => {
                    results.push(e);
                    break;
                }
            }
            assert!(t0.elapsed() < Duration::from_secs(40), "the reader never ends");
        }
        // A reader that saw BadFile keeps saying so (or ends), promptly.
        let t1 = Instant::now();
        let again = rd.next_timeout(Duration::from_secs(2));
        assert!(t1.elapsed() < Duration::from_secs(5));
        (got, results, again)
    });
    rx.recv_timeout(Duration::from_secs(20)).expect("the reader drained the ring");
    std::thread::sleep(Duration::from_millis(100)); // let it block in the futex
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(new_len(full)).unwrap();
    drop(f);
    eprintln!("file shrunk from {full} to {} bytes", std::fs::metadata(&p).unwrap().len());
    // Writes, reads, snapshots, stats after the shrink: bounded, harmless.
    let ring2 = ring.clone();
    let writes = bounded("writes after the shrink", Duration::from_secs(30), move || {
        (0..500).map(|i| ring2.write(format!("after {i} {}", "y".repeat(i % 300)).as_bytes())).collect::<Vec<_>>()
    });
    stop.store(true, Ordering::Relaxed);
    for (i, w) in writes.iter().enumerate() {
        harmless(&format!("write {i}"), w);
    }
    let (got, results, again) = bounded("the reader", Duration::from_secs(60), move || reader.join().unwrap());
    let bad_writes = writes.iter().filter(|w| matches!(w, Err(Error::BadFile(_)))).count();
    eprintln!("writes after the shrink: {} ok, {bad_writes} BadFile", writes.iter().filter(|w| w.is_ok()).count());
    eprintln!("reader: {got} records, then {results:?}; again {again:?}");
    for r in &results {
        harmless::<()>("the reader's next_timeout", &Err(r.clone()));
    }
    harmless("the reader's next call", &again);
    let ring3 = ring.clone();
    let late = bounded("calls after the shrink", Duration::from_secs(30), move || {
        let w = ring3.write(b"late");
        let s = ring3.snapshot();
        let _ = ring3.stats();
        let f = ring3.flush_timeout(Duration::from_millis(500));
        let n = ring3.reader(Start::Oldest).map(|mut rd| rd.next_timeout(Duration::from_millis(1500)).map(|r| r.seq));
        (w, s.map(|s| s.len()), f, n)
    });
    eprintln!("after the shrink: {late:?}");
    harmless("write", &late.0);
    harmless("snapshot", &late.1);
    harmless("flush_timeout", &late.2);
    if let Ok(r) = &late.3 {
        harmless("a new reader", r);
    }
    drop(ring);
    // A shrunk file is refused by a new open, untouched.
    let bytes = std::fs::read(&p).unwrap();
    let r = open(&p, 0);
    if bytes.is_empty() {
        assert!(matches!(r, Err(Error::BadFile(_))), "an emptied ring file: {}", describe(&r));
    } else {
        assert!(matches!(r, Err(Error::BadFile(_))), "a shrunk ring file: {}", describe(&r));
    }
    assert!(std::fs::read(&p).unwrap() == bytes, "a refused shrunk file was changed");
}

#[test]
fn sigbus_file_truncated_to_zero_under_a_blocked_reader() {
    in_child("sigbus_file_truncated_to_zero_under_a_blocked_reader", |d| shrink_under_mapping(d, |_| 0));
}

#[test]
fn sigbus_file_truncated_to_half_under_a_blocked_reader() {
    in_child("sigbus_file_truncated_to_half_under_a_blocked_reader", |d| shrink_under_mapping(d, |n| n / 2));
}

#[test]
fn sigbus_file_truncated_to_its_header_under_a_blocked_reader() {
    in_child("sigbus_file_truncated_to_its_header_under_a_blocked_reader", |d| {
        shrink_under_mapping(d, |_| FILE_HEADER as u64)
    });
}

#[test]
fn sigbus_file_truncated_by_one_page_under_a_blocked_reader() {
    in_child("sigbus_file_truncated_by_one_page_under_a_blocked_reader", |d| shrink_under_mapping(d, |n| n - 4096));
}

#[test]
fn a_fault_outside_ring_mappings_still_kills() {
    // The guard answers faults in ring mappings only: a SIGBUS elsewhere
    // (here: a plain mapping of a truncated file) still kills the process,
    // as it would without ringlog. Run in a child; expect SIGBUS.
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        let dir = Path::new(&dir);
        // A ring file is open, so the guard is installed.
        let _ring = Ring::open_file(dir.join("ring"), CAP).unwrap();
        let p = dir.join("plain");
        std::fs::write(&p, vec![7u8; 8192]).unwrap();
        let f = std::fs::OpenOptions::new().read(true).write(true).open(&p).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh shared mapping of 8192 bytes of the file.
        let m = unsafe { libc::mmap(std::ptr::null_mut(), 8192, libc::PROT_READ, libc::MAP_SHARED, f.as_raw_fd(), 0) };
        assert_ne!(m, libc::MAP_FAILED);
        f.set_len(0).unwrap();
        // SAFETY: reading a mapped page past the file's end: SIGBUS.
        let v = unsafe { std::ptr::read_volatile(m.cast::<u8>().add(4096)) };
        eprintln!("read {v} past the end of a plain mapping: no SIGBUS");
        std::process::exit(0); // the parent expects a SIGBUS
    }
    let d = Scratch::new("foreign");
    let exe = std::env::current_exe().unwrap();
    let out = spawn(
        Command::new(exe)
            .args(["--exact", "a_fault_outside_ring_mappings_still_kills", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &d.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .wait()
    .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.signal(), Some(libc::SIGBUS), "a fault outside ring mappings: {out}");
}
