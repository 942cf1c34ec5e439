"""Ring, Reader and Record on one thread: the contract through Python."""

from __future__ import annotations

import pytest

import ringlog


def ring_with_20_records() -> ringlog.Ring:
    """1 KiB ring, 100-byte records (120 bytes each with framing): keeps 8."""
    ring = ringlog.Ring(1024)
    for i in range(20):
        assert ring.write(bytes([i]) * 100) == i
    return ring


def test_capacity_is_rounded_and_max_record_is_a_quarter() -> None:
    assert (ringlog.Ring(1024).capacity, ringlog.Ring(1024).max_record) == (1024, 256)
    ring = ringlog.Ring(1_000_000)
    assert (ring.capacity, ring.max_record) == (1 << 20, 1 << 18)
    assert ringlog.MIN_CAPACITY == 1024 and ringlog.MAX_CAPACITY == 1 << 40


@pytest.mark.parametrize("bad", [-1, 0, 1023, (1 << 40) + 1, 1 << 100, -(1 << 100)])
def test_capacity_out_of_range(bad: int) -> None:
    with pytest.raises(ringlog.InvalidArgument) as err:
        ringlog.Ring(bad)
    assert isinstance(err.value, ValueError) and isinstance(err.value, ringlog.RingError)
    assert str(bad) in str(err.value)


@pytest.mark.parametrize("bad", [1024.0, "1024", None, True, b"1024", [1024]])
def test_capacity_of_the_wrong_type(bad: object) -> None:
    with pytest.raises(TypeError):
        ringlog.Ring(bad)  # type: ignore[arg-type]


def test_impossible_memory_is_no_memory() -> None:
    with pytest.raises(ringlog.NoMemory) as err:
        ringlog.Ring(1 << 40)
    assert isinstance(err.value, MemoryError)


def test_write_takes_bytes_like_and_str_and_returns_the_seq() -> None:
    ring = ringlog.Ring(4096)
    rd = ring.reader()
    assert ring.write(b"bytes") == 0
    assert ring.write(bytearray(b"bytearray")) == 1
    assert ring.write(memoryview(b"xmemoryviewx")[1:-1]) == 2
    assert ring.write("str é ✓") == 3
    assert ring.write(b"") == 4
    got = [rd.next(timeout=0) for _ in range(5)]
    assert [r.data for r in got if r] == [b"bytes", b"bytearray", b"memoryview", "str é ✓".encode(), b""]
    assert [r.seq for r in got if r] == [0, 1, 2, 3, 4]
    assert rd.next(timeout=0) is None


def test_write_takes_any_buffer_as_bytes_would() -> None:
    import array

    ring = ringlog.Ring(4096)
    rd = ring.reader()
    ints = array.array("i", [1, -2, 3])
    doubles = array.array("d", [0.5, -1.25])
    strided = memoryview(b"abcdefgh")[::2]  # not contiguous
    cases: list[object] = [ints, memoryview(doubles), strided, memoryview(ints).cast("B")[2:]]
    for obj in cases:
        ring.write(obj)  # type: ignore[arg-type]
    got = [rd.next(timeout=0) for _ in cases]
    assert [r.data for r in got if r] == [bytes(o) for o in cases]  # type: ignore[call-overload]
    assert [r.seq for r in got if r] == [0, 1, 2, 3]


@pytest.mark.parametrize("bad", [123, None, 1.5, ["a"], object()])
def test_write_refuses_other_types(bad: object) -> None:
    ring = ringlog.Ring(4096)
    with pytest.raises(TypeError):
        ring.write(bad)  # type: ignore[arg-type]
    assert ring.written == 0


def test_write_of_a_non_unicode_str_raises_and_writes_nothing() -> None:
    ring = ringlog.Ring(4096)
    with pytest.raises(UnicodeEncodeError):
        ring.write("bad \udcff surrogate")
    assert ring.written == 0


def test_too_large_is_a_value_error_and_changes_nothing() -> None:
    ring = ringlog.Ring(1024)
    rd = ring.reader()
    with pytest.raises(ringlog.TooLarge) as err:
        ring.write(b"x" * 257)
    assert isinstance(err.value, ValueError) and isinstance(err.value, ringlog.RingError)
    assert "257" in str(err.value) and "256" in str(err.value)
    assert ring.written == 0 and rd.next(timeout=0) is None and ring.snapshot() == b""
    assert ring.write(b"x" * 256) == 0


def drain(rd: ringlog.Reader) -> list[ringlog.Record]:
    """Every record there is now, without waiting."""
    return list(iter(lambda: rd.next(timeout=0), None))


def test_the_ring_keeps_the_newest_records_that_fit() -> None:
    ring = ring_with_20_records()
    assert [r.seq for r in drain(ring.reader())] == list(range(12, 20))
    assert ring.snapshot() == b"".join(bytes([i]) * 100 for i in range(12, 20))


def test_start_positions() -> None:
    ring = ring_with_20_records()
    oldest = ring.reader()
    assert (oldest.next(0).seq, ring.reader("oldest").next(0).seq) == (12, 12)  # type: ignore[union-attr]
    newest = ring.reader("newest")
    assert newest.next(timeout=0) is None
    past = ring.reader(seq=3)
    rec = past.next(timeout=0)
    assert rec is not None and (rec.seq, rec.lost, rec.data) == (12, 9, bytes([12]) * 100)
    kept = ring.reader(seq=15).next(timeout=0)
    assert kept is not None and (kept.seq, kept.lost) == (15, 0)
    future = ring.reader(seq=22)
    ring.write(b"20")
    ring.write(b"21")
    assert future.next(timeout=0) is None
    ring.write(b"22")
    rec = future.next(timeout=0)
    assert rec is not None and (rec.seq, rec.lost, rec.data) == (22, 0, b"22")
    rec = newest.next(timeout=0)
    assert rec is not None and rec.seq == 20


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"start": "middle"}, ringlog.InvalidArgument),
        ({"start": "newest", "seq": 3}, ringlog.InvalidArgument),
        ({"seq": -1}, OverflowError),
        ({"seq": 1 << 64}, OverflowError),
        ({"start": 5}, TypeError),
    ],
)
def test_bad_reader_arguments(kwargs: dict[str, object], exc: type[Exception]) -> None:
    ring = ringlog.Ring(4096)
    with pytest.raises(exc):
        ring.reader(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [-1.0, float("nan")])
def test_bad_timeouts(timeout: float) -> None:
    ring = ringlog.Ring(4096)
    with pytest.raises(ringlog.InvalidArgument):
        ring.reader().next(timeout=timeout)
    ring.reader()
    with pytest.raises(ringlog.InvalidArgument):
        ring.flush(timeout=timeout)


def test_a_lapped_reader_is_told_what_it_lost() -> None:
    ring = ringlog.Ring(1024)
    rd = ring.reader()
    ring.write(bytes(100))
    assert rd.next(0).seq == 0  # type: ignore[union-attr]
    for i in range(1, 20):
        ring.write(bytes([i]) * 100)
    rec = rd.next(0)
    assert rec is not None and (rec.seq, rec.lost) == (12, 11)
    assert rd.lost_total == 11


def test_flush() -> None:
    ring = ringlog.Ring(4096)
    assert ring.flush() is True and ring.flush(timeout=0) is True  # no readers
    rd = ring.reader()
    ring.write(b"x")
    assert ring.flush(timeout=0.05) is False
    rd.next(0)
    assert ring.flush(timeout=0) is True
    ring.write(b"y")
    assert ring.flush(timeout=0) is False
    del rd
    assert ring.flush(timeout=0) is True


def test_close_and_context_manager() -> None:
    with ringlog.Ring(4096) as ring:
        ring.write(b"a")
        rd = ring.reader()
        assert not ring.closed
    assert ring.closed
    ring.close()  # idempotent
    with pytest.raises(ringlog.Closed):
        ring.write(b"late")
    rec = rd.next()
    assert rec is not None and rec.data == b"a"
    with pytest.raises(ringlog.Closed):
        rd.next()
    assert [r.data for r in ring.reader()] == [b"a"]  # iteration ends at the end


def test_a_dropped_ring_closes_but_readers_keep_reading() -> None:
    ring = ringlog.Ring(4096)
    rd = ring.reader()
    ring.write(b"kept")
    del ring
    assert [r.data for r in rd] == [b"kept"]


def test_record_value_semantics() -> None:
    ring = ringlog.Ring(4096)
    ring.write(b"x")
    a, b = ring.reader().next(0), ring.reader().next(0)
    assert a == b and a is not b
    assert repr(a) == "Record(seq=0, lost=0, data=b'x')"
    with pytest.raises(TypeError):
        hash(a)
    with pytest.raises(AttributeError):
        a.seq = 5  # type: ignore[misc]


def test_large_writes_and_snapshots() -> None:
    ring = ringlog.Ring(8 << 20)
    big = bytes(range(256)) * 8192  # 2 MiB, written with the GIL released
    assert ring.write(big) == 0
    assert ring.write(memoryview(big)) == 1
    assert ring.snapshot() == big + big
    rec = ring.reader().next(0)
    assert rec is not None and rec.data == big


def test_the_installed_package_is_one_abi3_wheel_with_its_stub() -> None:
    import importlib.metadata
    import pathlib

    dist = importlib.metadata.distribution("ringlog")
    wheel = dist.read_text("WHEEL") or ""
    assert "abi3" in wheel, wheel
    pkg = pathlib.Path(ringlog.__file__).parent
    assert (pkg / "_ringlog.pyi").is_file() and (pkg / "py.typed").is_file()
    assert all(hasattr(ringlog, name) for name in ringlog.__all__)
