"""Helpers for the ringlog tests: self-checking records and stream checks."""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

HEAD = struct.Struct("<IIQ")  # writer, length, counter


def make_record(writer: int, counter: int, length: int) -> bytes:
    """A record that says who wrote it, which one it is, and checks itself."""
    assert length >= HEAD.size + 4
    body = HEAD.pack(writer, length, counter)
    filler = bytes((writer * 131 + counter * 7 + i) % 251 for i in range(length - HEAD.size - 4))
    data = body + filler
    return data + struct.pack("<I", zlib.crc32(data))


def check_record(data: bytes) -> tuple[int, int]:
    """Asserts the record is whole and correct; returns (writer, counter)."""
    writer, length, counter = HEAD.unpack_from(data)
    assert length == len(data), f"length field {length} != {len(data)}"
    (crc,) = struct.unpack_from("<I", data, len(data) - 4)
    assert crc == zlib.crc32(data[:-4]), "checksum mismatch: torn record"
    assert data == make_record(writer, counter, length)
    return writer, counter


@dataclass
class StreamCheck:
    """Checks one reader's records: seqs strictly increase, each gap equals
    the lost reported, per-writer counters increase."""

    read: int = 0
    lost: int = 0
    first: int | None = None
    last: int | None = None
    counters: dict[int, int] = field(default_factory=dict)

    def see(self, seq: int, lost: int, data: bytes) -> None:
        if self.last is None:
            self.first = seq - lost
            expected = self.first
        else:
            expected = self.last + 1
        assert seq == expected + lost, f"seq {seq} after {self.last} with lost {lost}"
        writer, counter = check_record(data)
        prev = self.counters.get(writer)
        assert prev is None or counter > prev, f"writer {writer}: {counter} after {prev}"
        self.counters[writer] = counter
        self.last = seq
        self.read += 1
        self.lost += lost

    def finish(self, written: int) -> None:
        start = self.first or 0
        assert self.read + self.lost == written - start, (self.read, self.lost, written, start)


def checking_reader(rd: Any, check: StreamCheck, slow: bool, errors: list[BaseException]) -> None:
    """A reader thread's body: reads `rd` to the end of the closed ring,
    checking every record; `slow` pauses now and then so that it is lapped.
    Failures go to `errors` (a thread cannot fail the test itself)."""
    try:
        for rec in rd:
            check.see(rec.seq, rec.lost, rec.data)
            if slow and check.read % 50 == 0:
                time.sleep(0.001)
    except BaseException as e:  # noqa: BLE001 - reported by the caller
        errors.append(e)
