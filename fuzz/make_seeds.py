#!/usr/bin/env python3
"""Writes the hand-made seed inputs, corpus/<target>/seed-*, and the
hand-made reproducers of findings, regressions/image/*.

The scripts follow the input formats of src/c_abi.rs, src/image.rs and
src/open_file.rs (see README.md). Run again after changing a format:
python3 fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


# ---- c_abi -----------------------------------------------------------------
# byte 0: first ring's capacity (0: 1 KiB, 1: 2 KiB, 2: 4 KiB, 3: 64 KiB)
R0 = b"\x00"  # handle pick: the first live handle
NULL = b"\xff"  # handle pick: NULL


def ring_new(cap_choice, extra=b"", out_null=False):
    return b"\x00" + bytes([cap_choice]) + extra + (b"\xff" if out_null else b"\x00")


def free_ring(pick=R0):
    return b"\x01" + pick


def write_lit(data, pick=R0):
    return b"\x02" + pick + u32(0) + b"\x02" + bytes([len(data)]) + data


def write_kind(kind, extra=b"", pick=R0, seed=7):
    return b"\x02" + pick + u32(seed) + bytes([kind]) + extra


def burst(n, step, lens, pick=R0, seed=1):
    return b"\x04" + pick + bytes([n - 1]) + u32(seed) + bytes([step]) + bytes(lens)


def close(pick=R0):
    return b"\x05" + pick


def flush(pick=R0):
    return b"\x06" + pick


def snapshot(kind, extra=b"", pick=R0):
    return b"\x07" + pick + bytes([kind]) + extra


def reader_new(start, seq_kind=0, extra=b"", pick=R0, start_extra=b""):
    return b"\x08" + pick + bytes([start]) + start_extra + bytes([seq_kind]) + extra + b"\x00"


def free_reader(pick=R0):
    return b"\x09" + pick


def nxt(kind, extra=b"", pick=R0):
    return b"\x0a" + pick + bytes([kind]) + extra


def read(kind, extra=b"", pick=R0):
    return b"\x0c" + pick + bytes([kind]) + extra


def query(kind, extra=b""):
    return b"\x0e" + bytes([kind]) + extra


# ring_writev parts (src/c_abi.rs `writev`)
def p_null():
    return b"\x00"


def p_dangling():
    return b"\x01"


def p_lit(data):
    return b"\x02" + bytes([len(data)]) + data


def p_pattern(n):
    return b"\x04" + u16(n)


def p_to_max(over=0):
    return b"\x06" + bytes([over])


def p_null_len(n):
    return b"\x07" + bytes([n - 1])


def p_huge(which, sub=0):
    return b"\x08" + bytes([sub, which])


def p_over_max(extra):
    return b"\x09" + bytes([extra])


def writev(parts, arr=b"\x04", pick=R0, seed=3):
    """arr: 0 NULL/0, 1 NULL/n, 2 absurd n (+u8, choice), 3 NULL/SIZE_MAX,
    else the parts as built."""
    return b"\x10" + pick + u32(seed) + bytes([len(parts)]) + b"".join(parts) + arr


def dump(kind, extra=b"", pick=R0):
    """0-2 pipe, 3 /dev/null, 4 negative fd, 5 closed, 6 read-only, 7 never opened."""
    return b"\x12" + pick + bytes([kind]) + extra


def stats(pick=R0, null_out=False):
    return b"\x13" + pick + (b"\xf0" if null_out else b"\x00")


C_ABI = {
    # write, read back by record and by stream, snapshot, flush, close
    "seed-write-read": b"\x00"
    + reader_new(0)
    + write_lit(b"hello")
    + flush()
    + nxt(1)
    + flush()
    + write_lit(b"")
    + write_lit(b"world, a longer record")
    + nxt(0)
    + nxt(3, b"\x00")
    + read(4, b"\x03")
    + read(5, u16(100))
    + snapshot(1)
    + snapshot(0)
    + snapshot(2, b"\x00")
    + close()
    + close()
    + write_lit(b"late")
    + nxt(1)
    + read(1)
    + flush(),
    # writers lap a reader: lost counts, LOST in the stream, seq starts
    "seed-lapping": b"\x00"
    + reader_new(0)
    + reader_new(2)
    + burst(32, 9, range(0, 256, 8))
    + nxt(1)
    + read(1)
    + read(5, u16(4000))
    + reader_new(4, 0)
    + reader_new(4, 4, b"\x00")
    + reader_new(4, 2, b"\x01")
    + burst(8, 3, [40] * 8)
    + nxt(1, pick=b"\x02")
    + nxt(1, pick=b"\x03")
    + nxt(1, pick=b"\x04")
    + query(1, b"\x00")
    + query(1, b"\x01")
    + flush()
    + snapshot(4),
    # argument errors everywhere (none with a NULL ring and a real out)
    "seed-bad-args": b"\x00"
    + ring_new(0)
    + ring_new(9)
    + ring_new(10)
    + ring_new(11)
    + ring_new(12)
    + ring_new(2)
    + ring_new(3, out_null=True)
    + write_kind(7, b"\x00")
    + write_kind(8)
    + write_kind(9)
    + write_kind(10, b"\x05")
    + write_kind(11)
    + write_kind(0)
    + write_kind(1)
    + write_kind(5)
    + write_lit(b"x", pick=NULL)
    + close(NULL)
    + flush(NULL)
    + snapshot(0, pick=NULL)
    + snapshot(5)
    + snapshot(6)
    + snapshot(7, b"\x03")
    + snapshot(8)
    + reader_new(7)
    + reader_new(8)
    + reader_new(9, 0, start_extra=u32(77))
    + reader_new(0)
    + nxt(6, b"\x00")
    + nxt(7, b"\x00")
    + nxt(8, b"\x04")
    + nxt(9)
    + read(6, b"\x01")
    + read(7, b"\x01")
    + read(9)
    + read(10)
    + nxt(0, pick=NULL)
    + free_reader(NULL)
    + free_ring(NULL)
    + query(0, NULL)
    + query(1, NULL)
    + query(2, b"\x00\x03")
    + query(2, b"\x01" + u32(10))
    + query(2, b"\x02")
    + query(2, b"\x03"),
    # free the ring before its readers; readers drain, then CLOSED
    "seed-free-order": b"\x01"
    + reader_new(0)
    + write_lit(b"one")
    + write_lit(b"two")
    + free_ring()
    + nxt(1)
    + read(5, u16(64))
    + nxt(1)
    + read(1)
    + ring_new(3)
    + reader_new(2)
    + write_kind(4, u16(300))
    + free_reader(b"\x01")
    + flush()
    + reader_new(4, 6)
    + write_lit(b"after")
    + flush()
    + nxt(1, pick=b"\x01")
    + flush(),
    # ring_writev, ring_dump_fd, ring_stats: parts, errors, fds, counters
    "seed-writev-dump-stats": b"\x00"
    + reader_new(0)
    + writev([p_lit(b"hello, "), p_null(), p_lit(b"world"), p_dangling()])
    + stats()
    + dump(0)
    + writev([], arr=b"\x00")
    + writev([p_lit(b"x")], arr=b"\x02\x00\x00")
    + writev([p_lit(b"x")], arr=b"\x03")
    + writev([p_huge(0), p_huge(3)])
    + writev([p_lit(b"ab"), p_null_len(4)])
    + writev([p_pattern(100), p_to_max(0)])
    + writev([p_pattern(100), p_to_max(1)])
    + writev([p_over_max(3)])
    + nxt(1)
    + burst(20, 5, range(0, 200, 10))
    + stats()
    + dump(1)
    + dump(3)
    + dump(4, b"\x00\x00")
    + dump(5)
    + dump(6)
    + dump(7, b"\x05")
    + stats(null_out=True)
    + stats(pick=NULL)
    + dump(0, pick=NULL)
    + writev([p_lit(b"y")], pick=NULL)
    + reader_new(1)
    + stats()
    + free_reader()
    + close()
    + writev([p_lit(b"late")])
    + stats()
    + dump(2),
}

# ---- image -------------------------------------------------------------------
# The region format (docs/FORMAT.md), for raw and synthetic seeds.
MAGIC = b"RINGLOG\0"
M64 = (1 << 64) - 1


def mask(key, x):
    z = ((key ^ x) * 0x9E3779B97F4A7C15) & M64
    return z ^ (z >> 29)


def rotl(v, r):
    return ((v << r) | (v >> (64 - r))) & M64


def check(seq, length):
    return (((seq ^ rotl(length, 29) ^ 0x52494E474C4F4721) * 0x9E3779B97F4A7C15) & M64) >> 40


def slack(cap):
    return min(max(cap // 16, 64), 4096) & ~7


def region(cap, key, frames, claim=None, closed=False, next_seq=None, tail=0, tail_seq=0):
    """A region image: frames = [(kind, seq, len, payload)] back to back from tail."""
    data = cap + slack(cap)
    shift = (data - 1).bit_length()
    hdr = bytearray(2048)
    hdr[0:8] = MAGIC
    hdr[8:12] = u32(2)
    hdr[12:16] = u32(2048)
    hdr[16:24] = u64(cap)
    hdr[24:32] = u64(cap // 4)
    hdr[32:40] = u64(data)
    hdr[40:48] = u64(key)
    area = bytearray(data)
    x, s = tail, tail_seq

    def put(off, bs):
        for k, b in enumerate(bs):
            area[(off + k) % data] = b

    for kind, seq, length, payload in frames:
        off = x & ((1 << shift) - 1)
        put(off, u64(mask(key, x) ^ (seq | kind << 61)))
        put(off + 8, u64(length | check(seq, length) << 40))
        put(off + 16, payload)
        size = length if kind == 2 else 16 + ((length + 7) & ~7)
        o = off + size
        x = x + size if o < data else ((x >> shift) + 1) << shift | (o - data)
        if kind != 2:
            s += 1
    claim = x if claim is None else claim
    next_seq = s if next_seq is None else next_seq
    hdr[64:80] = u64(claim | (1 if closed else 0)) + u64(next_seq)
    hdr[128:144] = u64(tail) + u64(tail_seq)
    return bytes(hdr) + bytes(area)


def structured(cap_choice, ops, close, damages):
    """cap_choice: 0..5 = 64, 128, 256, 1024, 2048, 4096 bytes; ops and
    damages: lists of bytes (see src/image.rs)."""
    out = bytes([2, cap_choice, len(ops)]) + b"".join(ops) + bytes([1 if close else 0])
    out += bytes([len(damages) - 1]) + b"".join(damages)
    return out


def lit(n, fill):
    return bytes([fill] * min(n, 24))


def w(n, fill=0x41):
    """write of n bytes (record_len choice 2: min(byte, max_record))."""
    return b"\x00\x02" + bytes([n]) + lit(n, fill)


def wv(lens, fill=0x50):
    """writev of parts of these lengths (each < max/3 + 1)."""
    out = b"\x04" + bytes([len(lens)])
    for n in lens:
        out += bytes([n]) + lit(n, fill)
    return out


def begin(n, fill=0x70):
    """begin_write: a pending record."""
    return b"\x05\x02" + bytes([n]) + lit(n, fill)


def commit(i=0):
    return b"\x07" + bytes([i])


def drop(i=0):
    return b"\x08" + bytes([i])


def close_op():
    return b"\x09\x00"


# damage ops (src/image.rs `damage`)
def d_hdr_byte(frame, byte, xor):
    return b"\x01" + bytes([frame, byte, xor])


def d_payload(frame, at, xor):
    return b"\x00" + bytes([frame]) + u16(at) + bytes([xor])


def d_kind(frame, flip):
    return b"\x02" + bytes([frame, flip])


def d_tail(frame):
    return b"\x04" + bytes([frame])


def d_key(v):
    return b"\x06" + u64(v)


def d_forge(frame, length):
    return b"\x03" + bytes([frame]) + u16(length)


def d_field(off, xor):
    return b"\x07" + bytes([off, xor])


def d_pos(field, delta):
    return b"\x05" + bytes([field, delta & 0xFF])


SYN_KIND = {"record": 0, "pending": 9, "skip": 11, "dead": 13}


def synthetic(cap_k, key, tail_off, frames, claim_kind=0, next_kind=0, tail_lap=None, claim_extra=b"", file=False):
    """cap 64 << cap_k; frames: [(kind, n)] with valid seqs and checks: n
    payload bytes, or for a skip frame a size of 16 + 8 n. file: a ring
    file's layout (mode byte 5 for the image target; open_file's synthetic
    mode reads the same bytes after its own mode byte 1), whose record,
    pending and dead frames carry a session tag in w1."""
    out = bytes([5 if file else 1, cap_k]) + u64(key) + b"\x00" + u16(tail_off)
    out += b"\x00" if tail_lap is None else b"\x01" + bytes([tail_lap])
    out += b"\x00" + bytes([len(frames)])
    for kind, n in frames:
        if kind == "skip-size":  # a skip frame of exactly n bytes (any n)
            out += bytes([SYN_KIND["skip"], 3, 5]) + u16(n) + b"\x00"
            continue
        out += bytes([SYN_KIND[kind], 3])  # seq: the expected one
        out += bytes([4, n]) if kind == "skip" else bytes([9, n])  # length
        out += b"\x00"  # w1: valid
        if file and kind in ("record", "pending", "dead"):
            out += b"\x01" + u16(0x0105)  # w1: len | session tag 0x0105 << 40
        out += b"" if kind == "skip" else bytes([0x61 + len(out) % 26] * min(n, 64))
    out += bytes([claim_kind]) + claim_extra + b"\x00" + bytes([next_kind]) + b"\x00"
    return out


KEY = 0x0123456789ABCDEF
IMAGE = {
    # raw: an empty v2 region; one with records, a pending and a skip frame
    # that wraps; a skip frame whose size is not a multiple of 8
    "seed-raw-empty-region": b"\x00" + region(64, KEY, []),
    "seed-raw-short": b"\x00" + MAGIC + u32(2),
    "seed-raw-old-version": b"\x00" + MAGIC + u32(1) + u32(256) + bytes(64),
    "seed-raw-records": b"\x00"
    + region(
        64,
        KEY,
        [(0, 5, 3, b"abc"), (1, 6, 8, b"pending!"), (3, 7, 0, b""), (2, 8, 32, b""), (0, 8, 16, b"0123456789abcdef")],
        tail=96,
        tail_seq=5,
    ),
    # synthetic: record, pending, skip, dead frames from the walk's start;
    # near the end of the data area (wrapping)
    "seed-synthetic-frames": synthetic(
        1, KEY, 40, [("record", 16), ("pending", 5), ("skip", 2), ("dead", 0), ("record", 31)]
    ),
    "seed-synthetic-wrap": synthetic(0, 7, 104, [("record", 12), ("record", 16), ("skip", 1), ("record", 3)], tail_lap=3),
    # structured: writes that lap a tiny ring; a payload byte damaged
    # (undetectable by design)
    "seed-structured-payload": structured(0, [w(5), w(12), w(0), w(16), w(8), w(9), w(3)], False, [d_payload(1, 2, 0x55)]),
    # a pending record lapped (pinned, then written around with skip
    # frames), committed later; a dead one; a header byte damaged
    "seed-structured-pinned": structured(
        1,
        [begin(4)] + [w(8)] * 7 + [commit(), w(1)],
        False,
        [d_hdr_byte(1, 9, 0x80)],
    ),
    "seed-structured-pinned-dead": structured(
        0,
        [begin(8), w(8), w(8), begin(0), w(8), w(8), w(8), w(8), commit(1), w(8), drop(), w(3), w(8)],
        False,
        [d_kind(2, 1)],
    ),
    # a pending record at the end; its kind bits flipped (detected: the walk stops)
    "seed-structured-kindflip": structured(1, [w(20), begin(12), w(7), wv([3, 4, 5])], True, [d_kind(1, 0)]),
    # a w1 forged with a valid check for another length
    "seed-structured-forge": structured(3, [w(200), w(100), w(50), w(25)], False, [d_forge(1, 96)]),
    # the tail moved to another frame; the key damaged
    "seed-structured-tail": structured(2, [w(30), w(40), w(50), w(60), w(20), w(10)], True, [d_tail(2)]),
    "seed-structured-key": structured(4, [w(255), w(1), close_op()], False, [d_key(1 << 40)]),
    # validated header fields, positions
    "seed-structured-fields": structured(5, [w(100), wv([1, 2]), begin(3)], True, [d_field(17, 1), d_pos(0, -3)]),
}
# each validated field damaged alone (max_record and data size downwards)
for _name, _off, _xor in (
    ("magic", 3, 0x20),
    ("version", 8, 0x02),
    ("header-size", 13, 0x08),
    ("capacity", 18, 0x01),
    ("max-record", 25, 0x01),
    ("data-size", 33, 0x04),
):
    IMAGE["seed-structured-field-" + _name] = structured(3, [w(40), w(2)], False, [d_field(_off, _xor)])


# ring file layout: the same frames, with a session tag in w1
IMAGE["seed-synthetic-file-frames"] = synthetic(
    1, KEY, 40, [("record", 16), ("pending", 5), ("skip", 2), ("dead", 0), ("record", 31)], file=True
)


# ---- open_file -----------------------------------------------------------------
# src/open_file.rs: byte 0 = kind of file (0 raw, 1 synthetic, 2 structured)
# | 4 for open_existing; structured: capacity choice (1, 2, 4, 8 KiB), the
# number of ops, the ops, the number of damage ops, the damages, a length
# change.


def o_structured(cap_choice, ops, damages=(), relen=b"\x00", existing=False):
    assert len(ops) < 48 and len(damages) < 4
    out = bytes([6 if existing else 2, cap_choice, len(ops)]) + b"".join(ops)
    return out + bytes([len(damages)]) + b"".join(damages) + relen


def o_lit(n, fill):
    return bytes([fill] * min(n, 32))


def o_w(n, fill=0x41):
    """write of n < 64 bytes."""
    return b"\x07" + bytes([n]) + o_lit(n, fill)


def o_wmax(fill=0x4D):
    """write of max_record bytes."""
    return b"\x06\x00" + o_lit(32, fill)


def o_begin(n, fill=0x70):
    """begin_write (at most 3 held)."""
    return b"\x00" + bytes([n]) + o_lit(n, fill)


def o_finish(i=0, dead=False):
    return b"\x01" + bytes([i, 1 if dead else 0])


def o_wv(lens, fill=0x50):
    out = b"\x02" + bytes([len(lens) - 1])
    for n in lens:
        out += bytes([n]) + o_lit(n, fill)
    return out


def o_reader():
    return b"\x03"


def o_read(i, n):
    return b"\x04" + bytes([i, n])


def o_close():
    return b"\x05\x00"


# damage ops (src/open_file.rs `damage`); frames are numbered along the walk
def od_hdr(frame, byte, xor):
    return b"\x00" + bytes([frame, byte, xor])


def od_len(frame, delta, by8=True):
    return b"\x01" + bytes([frame, delta & 0xFF, 0 if by8 else 1])


def od_pos(field, delta):
    """field 0: claim position (by 8s), 1: claim seq, 2: tail position, 3: tail seq."""
    return b"\x02" + bytes([field, delta & 0xFF])


def od_tail(frame, seq_plus_1=False):
    return b"\x03" + bytes([frame, 1 if seq_plus_1 else 0])


def od_field(off, xor):
    return b"\x04\x00" + bytes([off, xor])


def od_flags(xor):
    return b"\x04\x01" + bytes([xor])


def od_tables(off, v):
    return b"\x05" + u16(off) + u64(v)


def od_payload(frame, at, xor):
    return b"\x06" + bytes([frame]) + u16(at) + bytes([xor])


def od_zero_header(frame):
    return b"\x07" + bytes([frame])


def od_version(v):
    return b"\x09" + u32(v)


R_CUT1, R_CUT8, R_CUT_PAGE, R_HALF, R_GROW1, R_GROW_PAGE = b"\x09", b"\x0a", b"\x0b", b"\x0c", b"\x0e", b"\x0f"

_TEN = [o_w(5 + 3 * i, 0x61 + i) for i in range(10)]
_DEAD = [o_w(10), o_w(20), o_begin(40), o_w(30), o_w(12), o_finish(0, dead=True), o_w(7)]
OPEN = {
    # raw: an empty file, text, the magic and little else
    "seed-raw-empty": b"\x00",
    "seed-raw-text": b"\x00" + b"2026-11-29 12:00:00 INFO request served\n" * 3,
    "seed-raw-magic": b"\x00" + MAGIC + u32(2) + u32(20480) + u64(1024),
    # synthetic ring file images: records, a pending and a dead frame with
    # session tags, a skip frame; wrapping; truncated by a byte
    "seed-synthetic-frames": b"\x01"
    + synthetic(1, KEY, 40, [("record", 16), ("pending", 5), ("skip", 2), ("dead", 0), ("record", 31)], file=True)[1:],
    "seed-synthetic-wrap": b"\x01"
    + synthetic(0, 7, 104, [("record", 12), ("record", 16), ("skip", 1), ("record", 3)], tail_lap=3, file=True)[1:],
    # structured: a whole file (opens); open_existing of a closed one
    "seed-structured-clean": o_structured(0, _TEN),
    "seed-structured-closed-existing": o_structured(1, _TEN[:4] + [o_close()], existing=True),
    # a file that wrapped many times; readers' progress in the tables
    "seed-structured-wrap": o_structured(0, [o_w(60, 0x41 + i % 26) for i in range(40)] + [o_wmax()]),
    "seed-structured-readers": o_structured(
        2, _TEN[:3] + [o_reader(), o_read(0, 2), o_wv([3, 40, 9])] + _TEN[3:6] + [o_reader(), o_read(1, 7)]
    ),
    # a dead record in the middle; its length moved by 8 (the walk would
    # swallow the next record: refused)
    "seed-structured-dead": o_structured(0, _DEAD),
    "seed-structured-dead-length": o_structured(0, _DEAD, [od_len(2, 1)]),
    "seed-structured-dead-length-short": o_structured(0, _DEAD, [od_len(2, -1)]),
    # a w1 damaged (provably: refused); a w0 damaged (a dead writer's claim
    # or refused); a header zeroed
    "seed-structured-w1": o_structured(0, _TEN, [od_hdr(3, 9, 0x01)]),
    "seed-structured-w0": o_structured(0, _TEN, [od_hdr(3, 2, 0x10)]),
    "seed-structured-header-zeroed": o_structured(0, _TEN, [od_zero_header(5)]),
    "seed-structured-payload": o_structured(0, _TEN, [od_payload(4, 1, 0xFF)]),
    # lengths: cut by a byte, by a page, to half; grown
    "seed-structured-cut1": o_structured(0, _TEN, relen=R_CUT1),
    "seed-structured-cut-page": o_structured(1, _TEN, relen=R_CUT_PAGE),
    "seed-structured-half": o_structured(0, _TEN, relen=R_HALF),
    "seed-structured-grown": o_structured(0, _TEN, relen=R_GROW1),
    # the header: version, flags, a validated field, positions, tail seq
    "seed-structured-version": o_structured(0, _TEN, [od_version(3)]),
    "seed-structured-flags": o_structured(0, _TEN, [od_flags(0x01)]),
    "seed-structured-capacity": o_structured(0, _TEN, [od_field(17, 0x08)]),
    "seed-structured-claim": o_structured(0, _TEN, [od_pos(0, 1)]),
    "seed-structured-claim-seq": o_structured(0, _TEN, [od_pos(1, -1)]),
    "seed-structured-tail-seq": o_structured(0, _TEN, [od_tail(2, seq_plus_1=True)]),
    # the tables: garbage in a session slot and a reader slot (opens)
    "seed-structured-tables": o_structured(0, _TEN, [od_tables(8, 0xDEADBEEF), od_tables(2100, 7 << 1)]),
}


# Hand-made reproducers of findings (README, Findings), kept in regressions/.
REGRESSIONS = {
    # a skip frame of 20 bytes, then a record at the unaligned position (the
    # claim 8 bytes past its end, rounded down to 8)
    "parse-accepts-unaligned-skip": synthetic(
        4, KEY, 64, [("record", 4), ("skip-size", 20), ("record", 9)], claim_kind=3, claim_extra=b"\x01"
    ),
    # a skip frame of 125 bytes ending 3 bytes before the end of the data area
    "parse-unaligned-skip-out-of-bounds": b"\x00" + region(64, 0x1234, [(2, 0, 125, b"")], claim=128, next_seq=1),
    # a real image; record 10 (27 bytes at offset 160 of 192) flipped to a skip
    "kind-flip-to-skip-out-of-bounds": structured(1, [w(0)] * 10 + [w(27)], False, [d_kind(5, 1)]),
}


def main():
    d = os.path.join(HERE, "regressions", "image")
    os.makedirs(d, exist_ok=True)
    for name, data in REGRESSIONS.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        print(f"regressions/image/{name}: {len(data)} bytes")
    for target, seeds in (("c_abi", C_ABI), ("image", IMAGE), ("open_file", OPEN)):
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            print(f"{target}/{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
