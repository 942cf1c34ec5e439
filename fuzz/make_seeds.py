#!/usr/bin/env python3
"""Writes the hand-made seed inputs, corpus/<target>/seed-*.

The scripts follow the input formats of src/c_abi.rs and src/image.rs (see
README.md). Run again after changing a format: python3 fuzz/make_seeds.py
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
}

# ---- image -------------------------------------------------------------------
MAGIC = b"RINGLOG\0"


def empty_region(cap):
    hdr = bytearray(256)
    hdr[0:8] = MAGIC
    hdr[8:12] = u32(1)
    hdr[12:16] = u32(256)
    hdr[16:24] = u64(cap)
    hdr[24:32] = u64(cap // 4)
    return bytes(hdr) + bytes(cap)


def structured(cap_choice, writes, close, mutations):
    """writes: list of (len_kind, extra); mutations: list of bytes."""
    out = bytes([2, cap_choice, len(writes)])
    for kind, extra in writes:
        out += bytes([kind]) + extra
    out += bytes([1 if close else 0])
    out += bytes([len(mutations) - 1]) + b"".join(mutations)
    return out


def lit(n, fill):
    return bytes([fill] * min(n, 24))


IMAGE = {
    "seed-raw-empty-region": b"\x00" + empty_region(64),
    "seed-raw-short": b"\x00" + MAGIC + u32(1),
    "seed-synthetic": b"\x01\x02\x00" + u32(5) + u16(200) + b"\x01\x00\x00" + u64(9) + b"\x01" + bytes(range(256)),
    # a few records, a payload byte damaged (undetectable by design)
    "seed-structured-payload": structured(
        0,
        [(1, b"\x05" + lit(5, 0x41)), (2, b"\x40" + lit(64, 0x42)), (0, b""), (1, b"\x10" + lit(16, 0x43))],
        False,
        [b"\x04\x01\x01" + u16(20) + b"\x55"],
    ),
    # enough records to wrap a 1 KiB ring; a header byte damaged
    "seed-structured-header": structured(
        0,
        [(2, b"\xc8" + lit(200, i)) for i in range(12)],
        True,
        [b"\x03\x02\x00" + u16(9) + b"\x80"],
    ),
    # tail moved to another record's start, head too
    "seed-structured-positions": structured(
        1,
        [(4, u16(300) + lit(300, i)) for i in range(10)],
        False,
        [b"\x05\x03\x01\x08", b"\x02\x01\xf8"],
    ),
    # the validated header fields and whole words
    "seed-structured-fields": structured(
        2,
        [(3, lit(1024, 7)), (1, b"\x03abc")],
        True,
        [b"\x00" + u16(17) + b"\x01", b"\x01" + u16(40) + u64(1 << 63), b"\x06" + u16(300) + b"\x00"],
    ),
}


def main():
    for target, seeds in (("c_abi", C_ABI), ("image", IMAGE)):
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            print(f"{target}/{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
