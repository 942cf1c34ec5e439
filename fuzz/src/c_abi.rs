//! Target `c_abi`: the input is a script of C ABI calls.
//!
//! The calls go through `extern "C"` declarations written here as a C
//! program sees `include/ringlog.h` (results and `ring_start` as plain
//! integers), so the harness can pass any integer and check that every
//! result is a known `ring_result`.
//!
//! A small table of live handles keeps the script honest: it never passes a
//! freed or invented pointer (that would be the harness's undefined
//! behaviour, not the library's); NULL is passed on purpose. Buffers are real
//! allocations of at least the length passed with them, except for lengths
//! the API must refuse before touching memory: `cap` above PTRDIFF_MAX, and
//! `len` above `ring_max_record()` in `ring_write`. Timeouts are always 0:
//! no call may block.
//!
//! Single-threaded, the library is deterministic, so a small model predicts
//! each result: which records the ring retains (the newest whose framed
//! sizes, 16 bytes + payload padded to 8, fit the capacity), what each
//! reader gets next (seq, bytes, `lost`), the byte stream, snapshots, the
//! bytes `ring_dump_fd` writes to a pipe, `ring_stats`, flush.
//! Where the contract leaves a choice open (the order of two argument
//! errors; a flush while a `RING_START_SEQ` reader waits for a future seq)
//! every allowed answer is accepted.
//!
//! RING_RESULT_BUSY is a legitimate answer of `ring_write` / `ring_writev`
//! only when the room to claim is held by records still being written: a
//! writer stalled mid-record, which a single thread calling the C API never
//! is. So here every write the model expects to succeed must return OK, and
//! a BUSY is reported as such (`check_write`); `ring_stats().dropped` stays 0.
//! `ring_writev` lengths that no buffer backs (above `max_record`, or
//! overflowing `size_t` together) and an absurd `n` (the array would exceed
//! PTRDIFF_MAX bytes) are passed with tiny buffers: the call must refuse
//! them before reading, as `ring_write` must for its too-large lengths.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr};
use std::os::fd::AsRawFd;
use std::ptr::{self, NonNull};
use std::rc::Rc;

use crate::input::{tracing, Input};

// ---- the C ABI, as C declares it ------------------------------------------

/// `ring` (opaque).
#[repr(C)]
struct Ring {
    _opaque: [u8; 0],
}

/// `ring_reader` (opaque).
#[repr(C)]
struct Reader {
    _opaque: [u8; 0],
}

/// `ring_record`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct RingRecord {
    len: usize,
    seq: u64,
    lost: u64,
}

const _: () = assert!(std::mem::size_of::<RingRecord>() == std::mem::size_of::<ringlog::ring_record>());

/// `ring_slice`.
#[repr(C)]
#[derive(Clone, Copy)]
struct RingSlice {
    data: *const c_void,
    len: usize,
}

const _: () = assert!(std::mem::size_of::<RingSlice>() == std::mem::size_of::<ringlog::ring_slice>());

/// `struct ring_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RingStats {
    written: u64,
    oldest_seq: u64,
    bytes_used: u64,
    dropped: u64,
    readers: u64,
    capacity: u64,
    max_record: u64,
    closed: u32,
}

const _: () = assert!(std::mem::size_of::<RingStats>() == std::mem::size_of::<ringlog::RingStats>());

extern "C" {
    fn ring_result_str(code: u32) -> *const c_char;
    fn ring_new(capacity: usize, out: *mut *mut Ring) -> u32;
    fn ring_free(r: *mut Ring);
    fn ring_capacity(r: *const Ring) -> usize;
    fn ring_max_record(r: *const Ring) -> usize;
    fn ring_write(r: *const Ring, data: *const c_void, len: usize) -> u32;
    fn ring_writev(r: *const Ring, parts: *const RingSlice, n: usize) -> u32;
    fn ring_dump_fd(r: *const Ring, fd: i32) -> u32;
    fn ring_stats(r: *const Ring, out: *mut RingStats) -> u32;
    fn ring_flush(r: *const Ring, timeout_ms: i64) -> u32;
    fn ring_close(r: *const Ring) -> u32;
    fn ring_snapshot(r: *const Ring, buf: *mut c_void, cap: usize, out_len: *mut usize) -> u32;
    fn ring_reader_new(r: *const Ring, start: u32, seq: u64, out: *mut *mut Reader) -> u32;
    fn ring_reader_free(rd: *mut Reader);
    fn ring_reader_next(rd: *mut Reader, buf: *mut c_void, cap: usize, out: *mut RingRecord, timeout_ms: i64) -> u32;
    fn ring_reader_read(rd: *mut Reader, buf: *mut c_void, cap: usize, out_len: *mut usize, timeout_ms: i64) -> u32;
    fn ring_reader_lost(rd: *mut Reader) -> u64;
}

// The codes include/ringlog.h declares (build.rs reads them): RING_RESULTS.
include!(concat!(env!("OUT_DIR"), "/ring_results.rs"));

// The ones the model predicts; `codes_match_the_header` checks their values.
const OK: u32 = 0;
const CLOSED: u32 = 1;
const TIMEOUT: u32 = 2;
const TOO_LARGE: u32 = 3;
const BUF_SMALL: u32 = 4;
const NULL_PARAMETER: u32 = 5;
const INVALID_ARGUMENT: u32 = 6;
const NO_MEMORY: u32 = 7;
const PANIC: u32 = 8;
const LOST: u32 = 9;
const BUSY: u32 = 11;
const IO: u32 = 13;
const USED: [(&str, u32); 12] = [
    ("OK", OK),
    ("CLOSED", CLOSED),
    ("TIMEOUT", TIMEOUT),
    ("TOO_LARGE", TOO_LARGE),
    ("BUF_SMALL", BUF_SMALL),
    ("NULL_PARAMETER", NULL_PARAMETER),
    ("INVALID_ARGUMENT", INVALID_ARGUMENT),
    ("NO_MEMORY", NO_MEMORY),
    ("PANIC", PANIC),
    ("LOST", LOST),
    ("BUSY", BUSY),
    ("IO", IO),
];

fn codes_match_the_header() {
    for (name, value) in USED {
        assert!(RING_RESULTS.contains(&(name, value)), "include/ringlog.h no longer has RING_RESULT_{name} = {value}");
    }
}

/// A write the model expects to succeed. RING_RESULT_BUSY is a write's
/// legitimate answer when the room to claim is held by records still being
/// written, which takes a writer stalled in the middle of its record: one
/// thread that calls only the C API never is, so here it is a finding.
fn check_write(call: &str, rc: u32) {
    assert!(rc != BUSY, "{call}: RING_RESULT_BUSY in a single-threaded script (no writer can be stalled)");
    check(call, rc, &[OK]);
}

fn known(code: u32) -> bool {
    RING_RESULTS.iter().any(|&(_, v)| v == code)
}

/// errno of a write(2) to a descriptor not open for writing.
const EBADF: i32 = 9;

const MIN_CAPACITY: usize = 1 << 10;
const MAX_CAPACITY: usize = 1 << 40;
/// PTRDIFF_MAX: buffer lengths above it are refused (INVALID_ARGUMENT).
const MAX_BUFFER: usize = isize::MAX as usize;
/// Live handles at most; older ones are freed to make room.
const MAX_RINGS: usize = 4;
const MAX_READERS: usize = 8;
/// Longest payload the harness generates (rings of up to 1 MiB take 256 KiB).
const MAX_PAYLOAD: usize = 1 << 18;

fn name(code: u32) -> String {
    RING_RESULTS
        .iter()
        .find(|&&(_, v)| v == code)
        .map_or_else(|| format!("<{code}: not a ring_result>"), |(n, _)| format!("RING_RESULT_{n}"))
}

/// Every result must be a known code, never PANIC, and one of `allowed`.
fn check(call: &str, got: u32, allowed: &[u32]) {
    if tracing() {
        eprintln!("{call} -> {}", name(got));
    }
    assert!(known(got), "{call}: returned {got}, which include/ringlog.h does not declare");
    assert!(got != PANIC, "{call}: RING_RESULT_PANIC, a panic inside ringlog");
    assert!(
        allowed.contains(&got),
        "{call}: returned {}, the contract and model allow {:?}",
        name(got),
        allowed.iter().map(|&c| name(c)).collect::<Vec<_>>()
    );
}

// ---- the model ---------------------------------------------------------------

/// A record's bytes: literal (from the input) or a generated pattern, so
/// that long records cost the model nothing.
#[derive(Clone)]
enum Content {
    Bytes(Rc<[u8]>),
    Pattern {
        seed: u32,
        len: usize,
    },
    /// The parts of a `ring_writev`, back to back.
    Concat(Rc<[Content]>),
}

fn pattern_byte(seed: u32, j: usize) -> u8 {
    let x = (seed ^ (j as u32).wrapping_mul(0x9E37_79B9)).wrapping_mul(0x85EB_CA6B);
    (x >> 24) as u8 ^ (j as u8)
}

impl Content {
    fn len(&self) -> usize {
        match self {
            Content::Bytes(b) => b.len(),
            Content::Pattern { len, .. } => *len,
            Content::Concat(parts) => parts.iter().map(Content::len).sum(),
        }
    }

    /// Bytes `[from, to)`.
    fn extend_into(&self, out: &mut Vec<u8>, from: usize, to: usize) {
        match self {
            Content::Bytes(b) => out.extend_from_slice(&b[from..to]),
            Content::Pattern { seed, .. } => out.extend((from..to).map(|j| pattern_byte(*seed, j))),
            Content::Concat(parts) => {
                let mut start = 0;
                for p in parts.iter() {
                    let end = start + p.len();
                    if from < end && to > start {
                        p.extend_into(out, from.max(start) - start, to.min(end) - start);
                    }
                    start = end;
                }
            }
        }
    }

    fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        self.extend_into(&mut v, 0, self.len());
        v
    }
}

/// Bytes a record takes in the ring (include/ringlog.h: "its length plus a
/// 16-byte header plus padding to a multiple of 8").
fn framed(len: usize) -> u64 {
    16 + ((len as u64 + 7) & !7)
}

struct RingModel {
    capacity: usize,
    max_record: usize,
    /// Every record written; its index is its seq.
    records: Vec<Content>,
    /// Seq of the oldest retained record (`records.len()` when none).
    tail: usize,
    /// Framed bytes of the retained records.
    used: u64,
    closed: bool,
}

impl RingModel {
    fn written(&self) -> u64 {
        self.records.len() as u64
    }

    fn tail(&self) -> u64 {
        self.tail as u64
    }

    /// The ring retains the newest records that fit; the oldest whole
    /// records go first.
    fn push(&mut self, c: Content) {
        self.used += framed(c.len());
        self.records.push(c);
        while self.used > self.capacity as u64 {
            self.used -= framed(self.records[self.tail].len());
            self.tail += 1;
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for c in &self.records[self.tail..] {
            c.extend_into(&mut v, 0, c.len());
        }
        v
    }
}

enum Next {
    Record(u64),
    /// No record now: TIMEOUT, or CLOSED at the end of a closed ring.
    End(u32),
}

struct ReaderModel {
    ring: Rc<RefCell<RingModel>>,
    ring_id: u64,
    /// Seq of the next record owed to the user.
    want: u64,
    /// Records lost just before `want`, not reported yet.
    lost_pending: u64,
    lost_total: u64,
    /// Bytes of record `want` already returned by the byte stream.
    stream_off: usize,
    /// Records this reader has told a flush it is past.
    published: u64,
}

impl ReaderModel {
    fn new(ring: Rc<RefCell<RingModel>>, ring_id: u64, start: u32, seq: u64) -> ReaderModel {
        let (want, published) = {
            let m = ring.borrow();
            match start {
                0 => (m.tail(), m.tail()),                     // OLDEST
                1 => (m.written(), m.written()),               // NEWEST
                _ if seq >= m.written() => (seq, m.written()), // SEQ in the future: wait for it
                _ => (seq, m.tail()),                          // SEQ n: if evicted, lost
            }
        };
        ReaderModel { ring, ring_id, want, lost_pending: 0, lost_total: 0, stream_off: 0, published }
    }

    /// The record owed next, after accounting for records evicted unread.
    fn locate(&mut self) -> Next {
        let m = self.ring.borrow();
        let (written, tail) = (m.written(), m.tail());
        if self.want < tail && tail < written {
            let lost = tail - self.want;
            self.lost_pending += lost;
            self.lost_total += lost;
            self.want = tail;
            self.stream_off = 0;
        }
        if self.want >= written {
            self.published = written;
            return Next::End(if m.closed { CLOSED } else { TIMEOUT });
        }
        Next::Record(self.want)
    }

    fn deliver(&mut self, seq: u64) {
        self.want = seq + 1;
        self.stream_off = 0;
        self.published = seq + 1;
    }

    /// `ring_reader_next` into `cap` bytes.
    fn next(&mut self, cap: usize) -> (u32, RingRecord, Option<Vec<u8>>) {
        let seq = match self.locate() {
            Next::End(code) => return (code, RingRecord::default(), None),
            Next::Record(seq) => seq,
        };
        let ring = self.ring.clone();
        let m = ring.borrow();
        let c = &m.records[seq as usize];
        let len = c.len();
        if len > cap {
            return (BUF_SMALL, RingRecord { len, seq, lost: self.lost_pending }, None);
        }
        let lost = std::mem::take(&mut self.lost_pending);
        self.deliver(seq);
        (OK, RingRecord { len, seq, lost }, Some(c.to_vec()))
    }

    /// `ring_reader_read` into `cap` bytes.
    fn read(&mut self, cap: usize) -> (u32, Vec<u8>) {
        let mut out = Vec::new();
        if cap == 0 {
            return (OK, out);
        }
        loop {
            let seq = match self.locate() {
                Next::End(code) => return (if out.is_empty() { code } else { OK }, out),
                Next::Record(seq) => seq,
            };
            if self.lost_pending > 0 {
                if !out.is_empty() {
                    return (OK, out); // the bytes first, the loss next time
                }
                self.lost_pending = 0;
                return (LOST, out);
            }
            let ring = self.ring.clone();
            let m = ring.borrow();
            let c = &m.records[seq as usize];
            let take = (c.len() - self.stream_off).min(cap - out.len());
            c.extend_into(&mut out, self.stream_off, self.stream_off + take);
            self.stream_off += take;
            if self.stream_off == c.len() {
                self.deliver(seq);
            }
            if out.len() == cap {
                return (OK, out);
            }
        }
    }
}

// ---- the script --------------------------------------------------------------

struct RingSlot {
    ptr: NonNull<Ring>,
    id: u64,
    model: Rc<RefCell<RingModel>>,
}

struct ReaderSlot {
    ptr: NonNull<Reader>,
    model: ReaderModel,
}

#[derive(Default)]
struct State {
    rings: Vec<RingSlot>,
    readers: Vec<ReaderSlot>,
    next_id: u64,
}

/// A live handle's index, or None for NULL (about one time in 16).
fn pick(inp: &mut Input, n: usize) -> Option<usize> {
    let b = usize::from(inp.u8());
    (n > 0 && b < 0xF0).then(|| b % n)
}

/// True when a 1 TiB allocation fails cleanly here. Under the fuzzer, ASan
/// refuses it (allocator_may_return_null=1, set by the binary). Without
/// ASan it fails unless the kernel overcommits without limit
/// (vm.overcommit_memory=1): then ring_new(1 TiB) would get the memory and
/// zero all of it, which takes the machine down rather than testing
/// anything, so the replay skips that one value there.
fn huge_allocation_fails() -> bool {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ONCE.get_or_init(|| {
        cfg!(fuzzing) || std::fs::read_to_string("/proc/sys/vm/overcommit_memory").map_or(true, |s| s.trim() != "1")
    })
}

/// The argument errors a reading call may report (any of them; the order
/// between them is not specified): a NULL reader or out-pointer, a NULL
/// buffer with room, a buffer longer than PTRDIFF_MAX.
fn read_argument_errors(reader: Option<usize>, null_buf: bool, cap: usize, null_out: bool) -> Vec<u32> {
    let mut errors = Vec::new();
    if reader.is_none() || null_out || (null_buf && cap > 0) {
        errors.push(NULL_PARAMETER);
    }
    if cap > MAX_BUFFER {
        errors.push(INVALID_ARGUMENT);
    }
    errors
}

fn capacity_arg(inp: &mut Input) -> usize {
    match inp.choose(16) {
        0 => 0,
        1 => 1,
        2 => MIN_CAPACITY - 1,
        3 => MIN_CAPACITY,
        4 => MIN_CAPACITY + 1,
        5 => 2048,
        6 => 4096,
        7 => 1 << 16,
        8 => 1 << 20,
        9 if huge_allocation_fails() => MAX_CAPACITY,
        9 | 10 => MAX_CAPACITY + 1,
        11 => usize::MAX,
        12 => MAX_BUFFER + 1,
        13 => usize::from(inp.u16()),
        14 => usize::from(inp.u16()) << 4,
        _ => MIN_CAPACITY + usize::from(inp.u8()),
    }
}

impl State {
    fn new_ring(&mut self, capacity: usize, out_null: bool) {
        if self.rings.len() >= MAX_RINGS {
            self.free_ring(Some(0));
        }
        let valid = (MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity);
        if out_null {
            // SAFETY: NULL out is allowed.
            let rc = unsafe { ring_new(capacity, ptr::null_mut()) };
            let allowed: &[u32] = if valid { &[NULL_PARAMETER] } else { &[NULL_PARAMETER, INVALID_ARGUMENT] };
            check("ring_new(out NULL)", rc, allowed);
            return;
        }
        let mut out: *mut Ring = NonNull::dangling().as_ptr(); // "uninitialised"
                                                               // SAFETY: `out` is writable.
        let rc = unsafe { ring_new(capacity, &mut out) };
        let call = format!("ring_new({capacity})");
        if !valid {
            check(&call, rc, &[INVALID_ARGUMENT]);
        } else if capacity > 1 << 30 {
            check(&call, rc, &[OK, NO_MEMORY]);
        } else {
            check(&call, rc, &[OK]);
        }
        if rc != OK {
            assert!(out.is_null(), "{call}: {} but *out is not NULL", name(rc));
            return;
        }
        let ptr = NonNull::new(out).unwrap_or_else(|| panic!("{call}: OK but *out is NULL"));
        // SAFETY: a live handle.
        let (cap, max) = unsafe { (ring_capacity(ptr.as_ptr()), ring_max_record(ptr.as_ptr())) };
        assert_eq!(cap, capacity.next_power_of_two(), "{call}: capacity is rounded up to a power of two");
        assert_eq!(max, cap / 4, "{call}: max_record is a quarter of the capacity");
        let model = RingModel { capacity: cap, max_record: max, records: Vec::new(), tail: 0, used: 0, closed: false };
        self.next_id += 1;
        self.rings.push(RingSlot { ptr, id: self.next_id, model: Rc::new(RefCell::new(model)) });
    }

    fn ring_ptr(&self, i: Option<usize>) -> *mut Ring {
        i.map_or(ptr::null_mut(), |i| self.rings[i].ptr.as_ptr())
    }

    fn free_ring(&mut self, i: Option<usize>) {
        // SAFETY: NULL or a live handle, removed from the table right after.
        unsafe { ring_free(self.ring_ptr(i)) };
        if let Some(i) = i {
            let slot = self.rings.remove(i);
            // The last handle is gone: the ring is closed; readers drain it.
            slot.model.borrow_mut().closed = true;
        }
    }

    fn write(&mut self, i: Option<usize>, inp: &mut Input) {
        let max = i.map_or(1 << 10, |i| self.rings[i].model.borrow().max_record);
        let one = [0x5Au8; 1];
        let seed = inp.u32();
        // (data, len, the content when the call is meant to succeed)
        let (data, len, content): (*const u8, usize, Option<Content>) = match inp.choose(12) {
            0 => (ptr::null(), 0, Some(Content::Bytes(Rc::from(&[][..])))),
            1 => (NonNull::dangling().as_ptr(), 0, Some(Content::Bytes(Rc::from(&[][..])))),
            2 | 3 => {
                let n = usize::from(inp.u8()) % 64;
                let lit = inp.bytes(n);
                return self.write_content(i, Content::Bytes(Rc::from(lit)));
            }
            4 => {
                let n = usize::from(inp.u16()) % (max.min(MAX_PAYLOAD) + 1);
                return self.write_content(i, Content::Pattern { seed, len: n });
            }
            5 => return self.write_content(i, Content::Pattern { seed, len: max.min(MAX_PAYLOAD) }),
            6 => {
                let n = max.min(MAX_PAYLOAD).saturating_sub(usize::from(inp.u8()) % 16);
                return self.write_content(i, Content::Pattern { seed, len: n });
            }
            // Too large: a 1-byte buffer; the call must refuse before reading.
            7 => (one.as_ptr(), max + 1 + usize::from(inp.u8()), None),
            8 => (one.as_ptr(), usize::MAX, None),
            9 => (one.as_ptr(), MAX_BUFFER + 1, None),
            10 => (ptr::null(), 1 + usize::from(inp.u8()), None),
            _ => (ptr::null(), usize::MAX, None),
        };
        self.write_raw(i, data, len, content);
    }

    fn write_content(&mut self, i: Option<usize>, content: Content) {
        let bytes = content.to_vec(); // a real buffer of exactly `len` bytes
        let ptr = if bytes.is_empty() { NonNull::dangling().as_ptr() } else { bytes.as_ptr() };
        self.write_raw(i, ptr, bytes.len(), Some(content));
    }

    /// `ring_write(r, data, len)`; `content` is what `data` holds when `len`
    /// bytes are really there.
    fn write_raw(&mut self, i: Option<usize>, data: *const u8, len: usize, content: Option<Content>) {
        // SAFETY: NULL or a live handle; `data` is NULL or holds `len` bytes,
        // except when `len` > max_record, which must be refused unread.
        let rc = unsafe { ring_write(self.ring_ptr(i), data.cast(), len) };
        let call = format!("ring_write(len {len})");
        let Some(i) = i else { return check(&call, rc, &[NULL_PARAMETER]) };
        let model = &self.rings[i].model;
        let mut errors = Vec::new();
        if data.is_null() && len > 0 {
            errors.push(NULL_PARAMETER);
        }
        if len > model.borrow().max_record {
            errors.push(TOO_LARGE);
        }
        if !errors.is_empty() {
            return check(&call, rc, &errors);
        }
        if model.borrow().closed {
            return check(&call, rc, &[CLOSED]);
        }
        check_write(&call, rc);
        model.borrow_mut().push(content.expect("a write the model expects to succeed has its content"));
    }

    fn burst(&mut self, i: Option<usize>, inp: &mut Input) {
        let n = 1 + inp.choose(32);
        let seed = inp.u32();
        let max = i.map_or(1 << 10, |i| self.rings[i].model.borrow().max_record).min(4096);
        let step = usize::from(inp.u8());
        for k in 0..n {
            let len = (k * step * 7 + usize::from(inp.u8())) % (max + 1);
            self.write_content(i, Content::Pattern { seed: seed.wrapping_add(k as u32), len });
        }
    }

    /// `ring_writev(r, parts, n)`: parts from the input (literal, pattern,
    /// empty with NULL or a dangling pointer, NULL with a length, lengths
    /// that overflow `size_t` together or exceed `max_record`), NULL
    /// `parts`, absurd `n`.
    fn writev(&mut self, i: Option<usize>, inp: &mut Input) {
        /// Where a part's `data` points.
        enum Src {
            Null,
            Dangling,
            /// Its own buffer of exactly `len` bytes, holding the content.
            Buf(Vec<u8>),
            /// A 1-byte buffer, with a length the call must refuse unread.
            One,
        }
        let max = i.map_or(1 << 10, |i| self.rings[i].model.borrow().max_record);
        let one = [0xA5u8; 1];
        let seed = inp.u32();
        let mut srcs: Vec<(Src, usize)> = Vec::new();
        let mut contents: Vec<Content> = Vec::new();
        for k in 0..inp.choose(6) {
            let total = srcs.iter().fold(0usize, |t, (_, len)| t.saturating_add(*len));
            let pattern = |len: usize| Content::Pattern { seed: seed.wrapping_add(k as u32), len };
            let (src, len, content) = match inp.choose(10) {
                0 => (Src::Null, 0, Some(Content::Bytes(Rc::from(&[][..])))),
                1 => (Src::Dangling, 0, Some(Content::Bytes(Rc::from(&[][..])))),
                2 | 3 => {
                    let n = usize::from(inp.u8() % 48);
                    let lit = inp.bytes(n);
                    (Src::Buf(lit.to_vec()), lit.len(), Some(Content::Bytes(Rc::from(lit))))
                }
                4 | 5 => {
                    let c = pattern(usize::from(inp.u16()) % (max.min(MAX_PAYLOAD) / 2 + 1));
                    (Src::Buf(c.to_vec()), c.len(), Some(c))
                }
                6 => {
                    // Up to exactly max_record, or one byte past it.
                    let c = pattern(max.min(MAX_PAYLOAD).saturating_sub(total) + inp.choose(2));
                    (Src::Buf(c.to_vec()), c.len(), Some(c))
                }
                7 => (Src::Null, 1 + usize::from(inp.u8()), None),
                // Lengths no buffer has: the total exceeds max_record (or
                // size_t), so the call must refuse them unread.
                8 => (
                    Src::One,
                    [usize::MAX, usize::MAX - usize::from(inp.u8()), MAX_BUFFER + 1, usize::MAX / 2 + 1][inp.choose(4)],
                    None,
                ),
                _ => (Src::One, max + 1 + usize::from(inp.u8()), None),
            };
            srcs.push((src, len));
            contents.extend(content);
        }
        let parts: Vec<RingSlice> = srcs
            .iter()
            .map(|(src, len)| RingSlice {
                data: match src {
                    Src::Null => ptr::null(),
                    Src::Dangling => NonNull::<u8>::dangling().as_ptr().cast(),
                    Src::Buf(b) if b.is_empty() => NonNull::<u8>::dangling().as_ptr().cast(),
                    Src::Buf(b) => b.as_ptr().cast(),
                    Src::One => one.as_ptr().cast(),
                },
                len: *len,
            })
            .collect();
        let null_part = parts.iter().any(|p| p.data.is_null() && p.len > 0);
        let unbacked = srcs.iter().any(|(src, _)| matches!(src, Src::One));
        let total = parts.iter().try_fold(0usize, |t, p| t.checked_add(p.len));
        // The array and its length: as built, NULL, or absurd (the array
        // would exceed PTRDIFF_MAX bytes; must be refused unread).
        let absurd = MAX_BUFFER / std::mem::size_of::<RingSlice>() + 1;
        let (arr, n): (*const RingSlice, usize) = match inp.choose(12) {
            0 => (ptr::null(), 0),
            1 => (ptr::null(), 1 + inp.choose(4)),
            2 => (parts.as_ptr(), [absurd, absurd + usize::from(inp.u8()), usize::MAX][inp.choose(3)]),
            3 => (ptr::null(), usize::MAX),
            _ => (if parts.is_empty() && inp.u8() & 1 == 0 { ptr::null() } else { parts.as_ptr() }, parts.len()),
        };
        // SAFETY: NULL or a live handle; `arr` NULL or `n` readable slices
        // (except an absurd `n`, refused unread); each part's data NULL or
        // `len` readable bytes, except lengths that make the call refuse.
        let rc = unsafe { ring_writev(self.ring_ptr(i), arr, n) };
        let call = format!("ring_writev(n {n}{})", if arr.is_null() { ", parts NULL" } else { "" });
        let mut errors = Vec::new();
        if i.is_none() {
            errors.push(NULL_PARAMETER);
        }
        if n >= absurd {
            errors.push(INVALID_ARGUMENT);
        } else if arr.is_null() && n > 0 {
            errors.push(NULL_PARAMETER);
        } else if n > 0 {
            if null_part {
                errors.push(NULL_PARAMETER);
            }
            if total.is_none_or(|t| t > max) {
                errors.push(TOO_LARGE);
            }
        }
        if !errors.is_empty() {
            return check(&call, rc, &errors);
        }
        assert!(n == 0 || !unbacked, "harness: a part longer than its buffer reached a call that may read it");
        let model = &self.rings[i.expect("a ring")].model;
        if model.borrow().closed {
            return check(&call, rc, &[CLOSED]);
        }
        check_write(&call, rc);
        let content = if n == 0 { Content::Bytes(Rc::from(&[][..])) } else { Content::Concat(Rc::from(contents)) };
        model.borrow_mut().push(content);
    }

    /// `ring_dump_fd(r, fd)`: to a pipe (read back and compared with the
    /// snapshot), /dev/null, negative fds, a closed fd, a read-only fd, an
    /// fd number never opened.
    fn dump_fd(&mut self, i: Option<usize>, inp: &mut Input) {
        let expect = i.map(|i| self.rings[i].model.borrow().snapshot());
        let nonempty = expect.as_ref().is_some_and(|e| !e.is_empty());
        let kind = inp.choose(8);
        let call = format!("ring_dump_fd(case {kind})");
        let dump = |fd: i32| -> (u32, Option<i32>) {
            // SAFETY: NULL or a live handle; any fd value is allowed.
            let rc = unsafe { ring_dump_fd(self.ring_ptr(i), fd) };
            (rc, std::io::Error::last_os_error().raw_os_error())
        };
        // A descriptor write(2) refuses with EBADF: IO when there is
        // something to write (an empty snapshot makes no call).
        let ebadf = |(rc, errno): (u32, Option<i32>)| {
            if i.is_none() {
                return check(&call, rc, &[NULL_PARAMETER]);
            }
            check(&call, rc, &[if nonempty { IO } else { OK }]);
            if rc == IO {
                assert_eq!(errno, Some(EBADF), "{call}: IO, but errno is not EBADF");
            }
        };
        match kind {
            0..=2 => {
                let (mut rd, wr) = std::io::pipe().expect("pipe");
                let drain = std::thread::spawn(move || {
                    let mut got = Vec::new();
                    std::io::Read::read_to_end(&mut rd, &mut got).expect("read the pipe");
                    got
                });
                let (rc, _) = dump(wr.as_raw_fd());
                drop(wr);
                let got = drain.join().expect("the drain thread");
                let Some(expect) = expect else { return check(&call, rc, &[NULL_PARAMETER]) };
                check(&call, rc, &[OK]);
                assert!(
                    got == expect,
                    "{call}: {} bytes dumped, the snapshot is {} bytes (or differs)",
                    got.len(),
                    expect.len()
                );
            }
            3 => {
                let null = std::fs::OpenOptions::new().write(true).open("/dev/null").expect("/dev/null");
                let (rc, _) = dump(null.as_raw_fd());
                check(&call, rc, if i.is_some() { &[OK] } else { &[NULL_PARAMETER] });
            }
            4 => {
                let fd = [-1, -2, i32::MIN, -1 - i32::from(inp.u8())][inp.choose(4)];
                let (rc, _) = dump(fd);
                check(&call, rc, if i.is_some() { &[INVALID_ARGUMENT] } else { &[NULL_PARAMETER, INVALID_ARGUMENT] });
            }
            5 => {
                // Closed just before: nothing else in this thread opens a
                // file in between (another thread may reuse the number, but
                // only read-only, in the replay: EBADF all the same).
                let (_rd, wr) = std::io::pipe().expect("pipe");
                let fd = wr.as_raw_fd();
                drop(wr);
                ebadf(dump(fd));
            }
            6 => {
                let (rd, _wr) = std::io::pipe().expect("pipe");
                ebadf(dump(rd.as_raw_fd()));
            }
            _ => {
                // Far above any descriptor this process has: open(2) hands
                // out the lowest free number.
                ebadf(dump(1 << 24 | i32::from(inp.u8())));
            }
        }
    }

    /// `ring_stats(r, out)`: checked exactly against the model.
    fn stats(&mut self, i: Option<usize>, inp: &mut Input) {
        let null_out = inp.u8() >= 0xE0;
        let poison = RingStats {
            written: 0xDEAD,
            oldest_seq: 0xDEAD,
            bytes_used: 0xDEAD,
            dropped: 0xDEAD,
            readers: 0xDEAD,
            capacity: 0xDEAD,
            max_record: 0xDEAD,
            closed: 0xDEAD,
        };
        let mut out = poison;
        let out_p: *mut RingStats = if null_out { ptr::null_mut() } else { &mut out };
        // SAFETY: NULL or a live handle; `out_p` NULL or writable.
        let rc = unsafe { ring_stats(self.ring_ptr(i), out_p) };
        let (Some(i), false) = (i, null_out) else { return check("ring_stats(NULL)", rc, &[NULL_PARAMETER]) };
        check("ring_stats", rc, &[OK]);
        let slot = &self.rings[i];
        let m = slot.model.borrow();
        let readers = self.readers.iter().filter(|r| r.model.ring_id == slot.id).count() as u64;
        assert!(out.oldest_seq <= out.written, "ring_stats: oldest_seq {} > written {}", out.oldest_seq, out.written);
        assert!(
            out.bytes_used <= out.capacity,
            "ring_stats: bytes_used {} > capacity {}",
            out.bytes_used,
            out.capacity
        );
        let want = RingStats {
            written: m.written(),
            oldest_seq: m.tail(),
            bytes_used: m.used,
            dropped: 0, // nothing is ever Busy here
            readers,
            capacity: m.capacity as u64,
            max_record: m.max_record as u64,
            closed: u32::from(m.closed),
        };
        assert_eq!(out, want, "ring_stats: the counters differ from the script's");
    }

    fn close(&mut self, i: Option<usize>) {
        // SAFETY: NULL or a live handle.
        let rc = unsafe { ring_close(self.ring_ptr(i)) };
        match i {
            None => check("ring_close(NULL)", rc, &[NULL_PARAMETER]),
            Some(i) => {
                check("ring_close", rc, &[OK]); // idempotent: OK every time
                self.rings[i].model.borrow_mut().closed = true;
            }
        }
    }

    fn flush(&mut self, i: Option<usize>) {
        // SAFETY: NULL or a live handle; timeout 0 only checks.
        let rc = unsafe { ring_flush(self.ring_ptr(i), 0) };
        let Some(i) = i else { return check("ring_flush(NULL, 0)", rc, &[NULL_PARAMETER]) };
        let (id, m) = (self.rings[i].id, self.rings[i].model.borrow());
        let readers: Vec<&ReaderModel> = self.readers.iter().map(|r| &r.model).filter(|r| r.ring_id == id).collect();
        let written = m.written();
        let allowed: &[u32] = if readers.is_empty() || written == 0 {
            &[OK]
        } else if readers.iter().any(|r| r.want.max(m.tail()) < written) {
            &[TIMEOUT] // a reader has not read records it will read
        } else if readers.iter().all(|r| r.published >= written) {
            &[OK]
        } else {
            // Only a RING_START_SEQ reader waiting for a future seq that has
            // not looked since records before its seq were written: it will
            // never read them, and has not "read past" them either.
            &[OK, TIMEOUT]
        };
        check("ring_flush(r, 0)", rc, allowed);
    }

    fn snapshot(&mut self, i: Option<usize>, inp: &mut Input) {
        let expect = i.map(|i| self.rings[i].model.borrow().snapshot());
        let want = expect.as_ref().map_or(0, Vec::len);
        let capacity = i.map_or(0, |i| self.rings[i].model.borrow().capacity);
        let mut buf: Vec<u8> = Vec::new();
        let mut null_buf = false;
        let mut null_out = false;
        let cap = match inp.choose(10) {
            0 => {
                null_buf = true;
                0 // size query
            }
            1 => want,
            2 => want.saturating_sub(1 + inp.choose(8)),
            3 => inp.choose(8),
            4 => capacity.min(1 << 20),
            5 => MAX_BUFFER + 1,
            6 => usize::MAX,
            7 => {
                null_buf = true;
                1 + inp.choose(64)
            }
            8 => {
                null_out = true;
                want
            }
            _ => want + inp.choose(64),
        };
        if !null_buf {
            buf = vec![0; if cap > MAX_BUFFER { 1 } else { cap }];
        }
        let bufp: *mut c_void = if null_buf { ptr::null_mut() } else { buf.as_mut_ptr().cast() };
        let mut out_len: usize = 0xDEAD;
        let out_p: *mut usize = if null_out { ptr::null_mut() } else { &mut out_len };
        // SAFETY: NULL or a live handle; `bufp` NULL or `cap` writable bytes
        // (except cap > PTRDIFF_MAX, refused untouched).
        let rc = unsafe { ring_snapshot(self.ring_ptr(i), bufp, cap, out_p) };
        let call = format!("ring_snapshot(cap {cap}{})", if null_buf { ", buf NULL" } else { "" });
        let mut errors = Vec::new();
        if i.is_none() || null_out || (null_buf && cap > 0) {
            errors.push(NULL_PARAMETER);
        }
        if cap > MAX_BUFFER {
            errors.push(INVALID_ARGUMENT);
        }
        if !errors.is_empty() {
            return check(&call, rc, &errors);
        }
        let expect = expect.expect("a ring");
        if expect.len() <= cap {
            check(&call, rc, &[OK]);
            assert_eq!(out_len, expect.len(), "{call}: *out_len");
            assert!(buf[..expect.len()] == expect[..], "{call}: snapshot bytes differ from the records retained");
        } else {
            check(&call, rc, &[BUF_SMALL]);
            assert_eq!(out_len, expect.len(), "{call}: BUF_SMALL must report the size needed");
        }
    }

    fn new_reader(&mut self, i: Option<usize>, inp: &mut Input) {
        if self.readers.len() >= MAX_READERS {
            self.free_reader(Some(0));
        }
        let start = match inp.choose(10) {
            0 | 1 => 0,
            2 | 3 => 1,
            4..=6 => 2,
            7 => 3,
            8 => u32::MAX,
            _ => inp.u32(),
        };
        let (written, tail) = i.map_or((0, 0), |i| {
            let m = self.rings[i].model.borrow();
            (m.written(), m.tail())
        });
        let seq = match inp.choose(9) {
            0 => 0,
            1 => written,
            2 => written + 1 + u64::from(inp.u8() % 4),
            3 => written.saturating_sub(1),
            4 => tail.saturating_sub(1 + u64::from(inp.u8() % 4)),
            5 => tail + u64::from(inp.u8() % 8),
            6 => u64::MAX,
            7 => u64::MAX - 1,
            _ => inp.u64(),
        };
        let out_null = inp.u8() >= 0xF8;
        let mut out: *mut Reader = NonNull::dangling().as_ptr(); // "uninitialised"
        let out_p: *mut *mut Reader = if out_null { ptr::null_mut() } else { &mut out };
        // SAFETY: NULL or a live handle; `out_p` NULL or writable.
        let rc = unsafe { ring_reader_new(self.ring_ptr(i), start, seq, out_p) };
        let call = format!("ring_reader_new(start {start}, seq {seq})");
        let mut errors = Vec::new();
        if i.is_none() || out_null {
            errors.push(NULL_PARAMETER);
        }
        if start > 2 {
            errors.push(INVALID_ARGUMENT);
        }
        if !errors.is_empty() {
            check(&call, rc, &errors);
            if !out_null {
                // include/ringlog.h: "Stores it in `*out` (NULL on failure)".
                assert!(out.is_null(), "{call}: {} left *out unchanged instead of NULL", name(rc));
            }
            return;
        }
        check(&call, rc, &[OK]);
        let ptr = NonNull::new(out).unwrap_or_else(|| panic!("{call}: OK but *out is NULL"));
        let slot = &self.rings[i.expect("a ring")];
        let model = ReaderModel::new(slot.model.clone(), slot.id, start, seq);
        self.readers.push(ReaderSlot { ptr, model });
    }

    fn reader_ptr(&self, i: Option<usize>) -> *mut Reader {
        i.map_or(ptr::null_mut(), |i| self.readers[i].ptr.as_ptr())
    }

    fn free_reader(&mut self, i: Option<usize>) {
        // SAFETY: NULL or a live reader, removed from the table right after.
        unsafe { ring_reader_free(self.reader_ptr(i)) };
        if let Some(i) = i {
            self.readers.remove(i);
        }
    }

    /// A buffer for a read call: (buffer, cap, buf is NULL, out is NULL).
    fn read_buffer(&mut self, i: Option<usize>, inp: &mut Input) -> (Vec<u8>, usize, bool, bool) {
        // The length of the record the reader gets next, when there is one.
        let next_len = i
            .and_then(|i| {
                let r = &self.readers[i].model;
                let m = r.ring.borrow();
                let seq = r.want.max(m.tail());
                m.records.get(seq as usize).map(|c| c.len() - if seq == r.want { r.stream_off } else { 0 })
            })
            .unwrap_or(0);
        let (cap, null_buf, null_out) = match inp.choose(11) {
            0 => (0, true, false), // size query
            1 | 2 => (next_len, false, false),
            3 => (next_len.saturating_sub(1 + inp.choose(8)), false, false),
            4 => (inp.choose(9), false, false),
            5 => (1 + usize::from(inp.u16()) % 8192, false, false),
            6 => (MAX_BUFFER + 1 + inp.choose(2), false, false),
            7 => (usize::MAX, inp.u8() & 1 == 0, false),
            8 => (1 + inp.choose(64), true, false),
            9 => (next_len, false, true),
            _ => (0, false, false), // cap 0, real pointer
        };
        let buf = if null_buf { Vec::new() } else { vec![0xA5; if cap > MAX_BUFFER { 1 } else { cap }] };
        (buf, cap, null_buf, null_out)
    }

    fn reader_next(&mut self, i: Option<usize>, inp: &mut Input) {
        let (mut buf, cap, null_buf, null_out) = self.read_buffer(i, inp);
        let bufp: *mut c_void = if null_buf { ptr::null_mut() } else { buf.as_mut_ptr().cast() };
        let mut out = RingRecord { len: 0xDEAD, seq: 0xDEAD, lost: 0xDEAD };
        let out_p: *mut RingRecord = if null_out { ptr::null_mut() } else { &mut out };
        // SAFETY: NULL or a live reader; `bufp` NULL or `cap` writable bytes
        // (except cap > PTRDIFF_MAX, refused untouched); timeout 0: a poll.
        let rc = unsafe { ring_reader_next(self.reader_ptr(i), bufp, cap, out_p, 0) };
        let call = format!("ring_reader_next(cap {cap}{})", if null_buf { ", buf NULL" } else { "" });
        let errors = read_argument_errors(i, null_buf, cap, null_out);
        if !errors.is_empty() {
            return check(&call, rc, &errors);
        }
        let (code, rec, bytes) = self.readers[i.expect("a reader")].model.next(cap);
        check(&call, rc, &[code]);
        if code == OK || code == BUF_SMALL {
            assert_eq!(out, rec, "{call}: {} describes the wrong record (len, seq, lost)", name(code));
        }
        if let Some(bytes) = bytes {
            assert!(
                buf[..bytes.len()] == bytes[..],
                "{call}: record {} read back differs from what was written",
                rec.seq
            );
        }
    }

    fn reader_read(&mut self, i: Option<usize>, inp: &mut Input) {
        let (mut buf, cap, null_buf, null_out) = self.read_buffer(i, inp);
        let bufp: *mut c_void = if null_buf { ptr::null_mut() } else { buf.as_mut_ptr().cast() };
        let mut out_len: usize = 0xDEAD;
        let out_p: *mut usize = if null_out { ptr::null_mut() } else { &mut out_len };
        // SAFETY: as in `reader_next`.
        let rc = unsafe { ring_reader_read(self.reader_ptr(i), bufp, cap, out_p, 0) };
        let call = format!("ring_reader_read(cap {cap}{})", if null_buf { ", buf NULL" } else { "" });
        let errors = read_argument_errors(i, null_buf, cap, null_out);
        if !errors.is_empty() {
            return check(&call, rc, &errors);
        }
        let (code, bytes) = self.readers[i.expect("a reader")].model.read(cap);
        check(&call, rc, &[code]);
        // "stores the count in *out_len": the bytes read, 0 with LOST etc.
        assert_eq!(out_len, bytes.len(), "{call}: {} with *out_len", name(code));
        assert!(buf[..bytes.len()] == bytes[..], "{call}: stream bytes differ from the records written");
    }

    fn queries(&mut self, inp: &mut Input) {
        match inp.choose(3) {
            0 => {
                let i = pick(inp, self.rings.len());
                // SAFETY: NULL or a live handle.
                let (cap, max) = unsafe { (ring_capacity(self.ring_ptr(i)), ring_max_record(self.ring_ptr(i))) };
                let want = i.map_or((0, 0), |i| {
                    let m = self.rings[i].model.borrow();
                    (m.capacity, m.max_record)
                });
                assert_eq!((cap, max), want, "ring_capacity / ring_max_record");
            }
            1 => {
                let i = pick(inp, self.readers.len());
                // SAFETY: NULL or a live reader.
                let lost = unsafe { ring_reader_lost(self.reader_ptr(i)) };
                let want = i.map_or(0, |i| self.readers[i].model.lost_total);
                assert_eq!(lost, want, "ring_reader_lost: records lost in all");
            }
            _ => {
                let code = match inp.choose(4) {
                    0 => u32::from(inp.u8() % 16),
                    1 => inp.u32(),
                    2 => u32::MAX,
                    _ => PANIC,
                };
                result_str(code);
            }
        }
    }
}

fn result_str(code: u32) {
    // SAFETY: any code is accepted.
    let p = unsafe { ring_result_str(code) };
    assert!(!p.is_null(), "ring_result_str({code}) returned NULL");
    // SAFETY: documented as static NUL-terminated text.
    let s = unsafe { CStr::from_ptr(p) }.to_bytes();
    assert!(!s.is_empty() && s.len() < 200, "ring_result_str({code}): {s:?}");
    assert!(std::str::from_utf8(s).is_ok(), "ring_result_str({code}) is not text");
    let unknown = s == b"unknown ring_result code";
    assert_eq!(unknown, !known(code), "ring_result_str({code}) = {:?}", String::from_utf8_lossy(s));
}

/// Runs one script. Format: byte 0 picks the first ring's capacity; then
/// ops, one byte each (`op % 16`) followed by that op's argument bytes.
pub fn run(data: &[u8]) {
    codes_match_the_header();
    let mut inp = Input::new(data);
    let mut st = State::default();
    let first = [MIN_CAPACITY, 2048, 4096, 1 << 16][inp.choose(4)];
    st.new_ring(first, false);
    let mut ops = 0;
    while !inp.is_empty() && ops < 4096 {
        ops += 1;
        match inp.u8() % 20 {
            0 => {
                let cap = capacity_arg(&mut inp);
                let out_null = inp.u8() >= 0xF8;
                st.new_ring(cap, out_null);
            }
            1 => {
                let i = pick(&mut inp, st.rings.len());
                st.free_ring(i);
            }
            2 | 3 => {
                let i = pick(&mut inp, st.rings.len());
                st.write(i, &mut inp);
            }
            4 => {
                let i = pick(&mut inp, st.rings.len());
                st.burst(i, &mut inp);
            }
            5 => {
                let i = pick(&mut inp, st.rings.len());
                st.close(i);
            }
            6 => {
                let i = pick(&mut inp, st.rings.len());
                st.flush(i);
            }
            7 => {
                let i = pick(&mut inp, st.rings.len());
                st.snapshot(i, &mut inp);
            }
            8 => {
                let i = pick(&mut inp, st.rings.len());
                st.new_reader(i, &mut inp);
            }
            9 => {
                let i = pick(&mut inp, st.readers.len());
                st.free_reader(i);
            }
            10 | 11 => {
                let i = pick(&mut inp, st.readers.len());
                st.reader_next(i, &mut inp);
            }
            12 | 13 => {
                let i = pick(&mut inp, st.readers.len());
                st.reader_read(i, &mut inp);
            }
            14 | 15 => st.queries(&mut inp),
            16 | 17 => {
                let i = pick(&mut inp, st.rings.len());
                st.writev(i, &mut inp);
            }
            18 => {
                let i = pick(&mut inp, st.rings.len());
                st.dump_fd(i, &mut inp);
            }
            _ => {
                let i = pick(&mut inp, st.rings.len());
                st.stats(i, &mut inp);
            }
        }
    }
    // Free what is left, rings first or readers first (the input's last
    // byte, already read as zero or not: both orders happen).
    if ops % 2 == 0 {
        while !st.rings.is_empty() {
            st.free_ring(Some(st.rings.len() - 1));
        }
    }
    while !st.readers.is_empty() {
        st.free_reader(Some(0));
    }
    while !st.rings.is_empty() {
        st.free_ring(Some(0));
    }
}
