"""A ring in a file (Ring.open): records and seqs kept across opens, shared
with other processes, kept whole when a writer is killed; bad files refused
untouched; system errors as OSError; dump(); stats(); RingHandler(path=...);
the HTTP example with --file. Every wait is bounded."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import pathlib
import random
import re
import selectors
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import ringlog
from checks import StreamCheck, check_record, make_record

TESTS = Path(__file__).resolve().parent
EXAMPLE = TESTS.parents[1] / "examples" / "python" / "serve_logs.py"
CHILD_TIMEOUT = 30.0  # seconds any child process may take
STATS_KEYS = {
    "written",
    "oldest_seq",
    "bytes_used",
    "dropped",
    "readers",
    "capacity",
    "max_record",
    "closed",
    "wakeups",
    "reaped",
    "recoveries",
}


def child_env() -> dict[str, str]:
    """The environment of a child Python: can import ringlog and checks."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH", "")]))
    return env


def run_child(code: str, *args: str) -> str:
    """Runs `python -c code args...` to the end (bounded); returns its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        env=child_env(),
    )
    assert done.returncode == 0, f"child failed ({done.returncode}):\n{done.stderr}"
    return done.stdout


def read_all(ring: ringlog.Ring) -> list[ringlog.Record]:
    """Every record the ring holds now, oldest first (never waits)."""
    rd = ring.reader()
    return list(iter(lambda: rd.next(timeout=0), None))


def file_state(path: Path) -> tuple[bytes, int, int]:
    """What must not change when a file is refused: bytes, size, mtime."""
    st = path.stat()
    return path.read_bytes(), st.st_size, st.st_mtime_ns


# ---- create, reopen ---------------------------------------------------------


def test_create_then_reopen_keeps_records_and_seqs(tmp_path: Path) -> None:
    path = tmp_path / "app.ring"
    ring = ringlog.Ring.open(path, 5000)
    assert ring.is_file and ring.capacity == 8192 and ring.max_record == 2048  # rounded up
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [ring.write(f"record {i}") for i in range(3)] == [0, 1, 2]
    size = path.stat().st_size
    del ring  # dropping the handle neither closes nor removes the ring

    # str, bytes and PathLike name the same file; capacity None (or 0, or
    # the file's own capacity) opens it as it is.
    for name, cap in ((str(path), None), (os.fsencode(path), 0), (path, 8192), (path, 5000)):
        again = ringlog.Ring.open(name, cap)
        assert again.capacity == 8192 and not again.closed
        assert [(r.seq, r.data) for r in read_all(again)] == [(i, b"record %d" % i) for i in range(3)]
        assert again.stats()["written"] == 3
        del again
    ring = ringlog.Ring.open(path)
    assert ring.write(b"record 3") == 3, "seqs go on where they stopped"
    assert path.stat().st_size == size, "the file's size never changes"

    # close() closes it for everyone; the next open takes writes again.
    ring.close()
    with pytest.raises(ringlog.Closed):
        ring.write(b"late")
    del ring
    ring = ringlog.Ring.open(path)
    assert not ring.closed
    assert ring.write(b"next run") == 4
    assert [r.data for r in read_all(ring)][-2:] == [b"record 3", b"next run"]

    # Another capacity than the file's is refused, the file untouched.
    before = file_state(path)
    with pytest.raises(ringlog.InvalidArgument) as e:
        ringlog.Ring.open(path, 1 << 16)
    assert isinstance(e.value, ValueError)
    assert file_state(path) == before


def test_reopen_false_leaves_a_closed_ring_closed(tmp_path: Path) -> None:
    path = tmp_path / "app.ring"
    with pytest.raises(FileNotFoundError):
        ringlog.Ring.open(path, 4096, reopen=False)  # never creates
    assert not path.exists()
    ring = ringlog.Ring.open(path, 4096)
    ring.write(b"last words")
    ring.close()
    del ring
    tool = ringlog.Ring.open(path, reopen=False)  # a reader's open: dump, tail
    assert tool.closed
    rd = tool.reader()
    rec = rd.next(timeout=5)
    assert rec is not None and rec.data == b"last words"
    with pytest.raises(ringlog.Closed):
        rd.next(timeout=5)  # the end, at once: not a wait for writes that never come
    with pytest.raises(ringlog.InvalidArgument):
        ringlog.Ring.open(path, 1 << 16, reopen=False)
    assert ringlog.Ring.open(path, 4096, reopen=False).capacity == 4096


def test_open_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ringlog.InvalidArgument):
        ringlog.Ring.open(tmp_path / "small.ring", 100)
    with pytest.raises(ringlog.InvalidArgument):
        ringlog.Ring.open(tmp_path / "huge.ring", ringlog.MAX_CAPACITY * 2)
    with pytest.raises(ringlog.InvalidArgument):
        ringlog.Ring.open(tmp_path / "negative.ring", -1)
    with pytest.raises(TypeError):
        ringlog.Ring.open(tmp_path / "bool.ring", True)
    with pytest.raises(TypeError):
        ringlog.Ring.open(tmp_path / "float.ring", 4096.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ringlog.Ring.open(42, 4096)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ringlog.Ring.open(str(tmp_path / "nul\0.ring"), 4096)
    assert list(tmp_path.iterdir()) == [], "no argument error leaves a file behind"


def test_too_many_handles_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "many.ring"
    handles = [ringlog.Ring.open(path, 4096)]
    with pytest.raises(ringlog.Busy) as e:
        for _ in range(300):
            handles.append(ringlog.Ring.open(path))
    assert len(handles) == 255 and "255 handles" in str(e.value)
    handles.pop()
    handles.append(ringlog.Ring.open(path))  # a freed handle makes room


def test_memory_ring_is_not_a_file() -> None:
    ring = ringlog.Ring(4096)
    assert not ring.is_file
    assert "in a file" not in repr(ring)


# ---- several processes -------------------------------------------------------

READ_ALL_CHILD = """
import json, sys, ringlog
ring = ringlog.Ring.open(sys.argv[1])
rd = ring.reader()
out = [(r.seq, r.lost, r.data.hex()) for r in iter(lambda: rd.next(timeout=0), None)]
print(json.dumps({"records": out, "stats": ring.stats()}))
"""


def test_another_process_reads_what_this_one_wrote(tmp_path: Path) -> None:
    path = tmp_path / "shared.ring"
    ring = ringlog.Ring.open(path, 1 << 16)
    sent = [make_record(7, i, 24 + i % 50) for i in range(200)]
    for data in sent:
        ring.write(data)
    got = json.loads(run_child(READ_ALL_CHILD, str(path)))
    assert [(seq, lost, bytes.fromhex(h)) for seq, lost, h in got["records"]] == [
        (i, 0, data) for i, data in enumerate(sent)
    ]
    assert got["stats"]["written"] == 200 and got["stats"]["readers"] == 1
    assert ring.stats()["readers"] == 0, "the child's reader went with it"
    assert not ring.closed, "a process that exits does not close the ring"


WRITER_CHILD = """
import os, sys, ringlog
from checks import make_record
ring = ringlog.Ring.open(sys.argv[1])
n, close = int(sys.argv[2]), sys.argv[3] == "close"
for i in range(n):
    ring.write(make_record(os.getpid() & 0xFFFF, i, 24 + i % 100))
if close:
    ring.close()
"""


def test_this_process_reads_live_what_another_writes(tmp_path: Path) -> None:
    """A reader blocked here is woken by writes in a child; the child's
    close() ends the stream here."""
    path = tmp_path / "live.ring"
    ring = ringlog.Ring.open(path, 1 << 20)
    rd = ring.reader()
    assert rd.next(timeout=0) is None
    n = 500
    with subprocess.Popen(
        [sys.executable, "-c", WRITER_CHILD, str(path), str(n), "close"], env=child_env()
    ) as child:
        try:
            check = StreamCheck()
            deadline = time.monotonic() + CHILD_TIMEOUT
            while True:
                try:
                    rec = rd.next(timeout=max(0.0, deadline - time.monotonic()))
                except ringlog.Closed:
                    break
                assert rec is not None, f"no record within {CHILD_TIMEOUT} s (read {check.read})"
                check.see(rec.seq, rec.lost, rec.data)
            assert child.wait(timeout=CHILD_TIMEOUT) == 0
        finally:
            child.kill()
    assert check.read == n and check.lost == 0
    assert list(check.counters.values()) == [n - 1]
    assert ring.closed, "the child's close() is seen here"
    stats = ring.stats()
    assert stats["written"] == n and stats["closed"] is True


def test_writers_in_two_processes_share_one_order(tmp_path: Path) -> None:
    path = tmp_path / "two.ring"
    ring = ringlog.Ring.open(path, 1 << 20)
    children = [
        subprocess.Popen([sys.executable, "-c", WRITER_CHILD, str(path), "300", "keep"], env=child_env())
        for _ in range(2)
    ]
    try:
        for i in range(300):
            ring.write(make_record(0, i, 24 + i % 100))
        assert [c.wait(timeout=CHILD_TIMEOUT) for c in children] == [0, 0]
    finally:
        for c in children:
            c.kill()
            c.wait(timeout=CHILD_TIMEOUT)
    check = StreamCheck()
    for rec in read_all(ring):
        check.see(rec.seq, rec.lost, rec.data)
    assert check.read == 900 and check.lost == 0 and check.last == 899
    assert sorted(check.counters.values()) == [299, 299, 299]


# ---- a writer killed with SIGKILL -------------------------------------------

KILLED_CHILD = """
import os, sys, ringlog
from checks import make_record
ring = ringlog.Ring.open(sys.argv[1])
me = int(sys.argv[2])
os.write(1, b"ready\\n")
i = 0
while True:
    seq = ring.write(make_record(me, i, 24 + (i * 37) % 300))
    os.write(1, b"%d\\n" % seq)  # only after write() returned: committed
    i += 1
"""


def acked_until_killed(path: Path, me: int, acks: int, rng: random.Random) -> set[int]:
    """Starts a writer, lets it commit at least `acks` records, kills it
    with SIGKILL (a random moment later) and returns the seqs it reported
    committed."""
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(path), str(me)], stdout=subprocess.PIPE, env=child_env()
    ) as child:
        assert child.stdout is not None
        fd = child.stdout.fileno()
        out = b""
        deadline = time.monotonic() + CHILD_TIMEOUT
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(fd, selectors.EVENT_READ)
                while out.count(b"\n") < acks + 1:  # "ready" and the acks
                    left = deadline - time.monotonic()
                    assert left > 0, f"the writer made only {len(out.splitlines())} lines in {CHILD_TIMEOUT} s"
                    if sel.select(timeout=left):
                        chunk = os.read(fd, 65536)
                        assert chunk, f"writer died: {out[-200:]!r}"
                        out += chunk
            time.sleep(rng.random() * 0.003)
        finally:
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=CHILD_TIMEOUT) == -signal.SIGKILL
        out += child.stdout.read()  # the pipe's rest: EOF now that it is dead
    lines = out.split(b"\n")
    assert lines[0] == b"ready"
    return {int(x) for x in lines[1:] if x}  # a cut last line cannot occur: one write(2) each


def test_a_killed_writer_leaves_every_committed_record(tmp_path: Path) -> None:
    """Writers killed with SIGKILL at random moments, with and without
    another process (this one) holding the file: after each kill, the
    file holds every record the writer reported committed, whole; the
    record it may have been writing is at worst lost; writing goes on with
    the next seq."""
    path = tmp_path / "crash.ring"
    rng = random.Random(1234)
    ringlog.Ring.open(path, 1 << 22)  # 4 MiB: nothing is evicted in this test
    seen_acked: set[int] = set()
    next_seq = 0
    for round_ in range(8):
        # Odd rounds: this process keeps the file open across the kill, so
        # the dead writer's record is reaped live instead of recovered.
        keep = ringlog.Ring.open(path) if round_ % 2 else None
        acked = acked_until_killed(path, round_ + 1, rng.randint(1, 300), rng)
        assert acked and min(acked) == next_seq, "the writer's first seq follows the last round's marker"
        ring = keep if keep is not None else ringlog.Ring.open(path)
        written = ring.stats()["written"]
        marker = ring.write(b"marker %d" % round_)
        assert marker == written, "the ring takes writes, with the next seq"
        rd = ring.reader(seq=next_seq)
        check = StreamCheck()
        got: set[int] = set()
        while True:
            rec = rd.next(timeout=10.0)  # a dead record is passed within the stall bound (1 s)
            assert rec is not None, f"round {round_}: stuck after seq {check.last}"
            if rec.seq == marker:
                assert rec.data == b"marker %d" % round_
                lost_before_marker = rec.lost
                break
            check.see(rec.seq, rec.lost, rec.data)  # whole, in order, gaps = lost
            assert check_record(rec.data)[0] == round_ + 1
            got.add(rec.seq)
        missing = acked - got
        assert not missing, f"round {round_}: committed records missing after the kill: {sorted(missing)[:10]}"
        # At most the record being written when the kill came is lost.
        assert check.lost + lost_before_marker <= 1, (check.lost, lost_before_marker)
        assert len(got) + check.lost + lost_before_marker == marker - next_seq
        seen_acked |= acked
        next_seq = marker + 1
        del rd, ring, keep
    final = ringlog.Ring.open(path)
    stats = final.stats()
    assert stats["written"] == next_seq and stats["recoveries"] >= 1
    assert seen_acked <= {r.seq for r in read_all(final)}


# ---- bad files, missing files ------------------------------------------------


def a_ring_file(path: Path) -> bytes:
    """The bytes of a real ring file of 4 KiB with a few records."""
    ring = ringlog.Ring.open(path, 4096)
    for i in range(5):
        ring.write(b"record %d" % i)
    del ring
    return path.read_bytes()


def bad_files(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    real = a_ring_file(tmp_path / "real.ring")
    rng = random.Random(99)
    yield "a text file", b"2024-01-01 INFO hello\n" * 200
    yield "an empty file", b""
    yield "random bytes", rng.randbytes(5000)
    yield "random bytes of a ring file's size", rng.randbytes(len(real))
    yield "a ring file, truncated", real[: len(real) // 2]
    yield "a ring file, one byte short", real[:-1]
    yield "a ring file, grown", real + b"\0"
    version = bytearray(real)
    struct.pack_into("<I", version, 8, 99)
    yield "a ring file of another format version", bytes(version)
    magic = bytearray(real)
    magic[0:8] = b"RINGLOX\0"
    yield "a ring file with a wrong magic", bytes(magic)


@pytest.mark.parametrize("capacity", [None, 4096])
def test_a_bad_file_is_refused_untouched(tmp_path: Path, capacity: int | None) -> None:
    for what, content in bad_files(tmp_path):
        path = tmp_path / "bad.ring"
        path.write_bytes(content)
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
        before = file_state(path)
        with pytest.raises(ringlog.BadFile) as e:
            ringlog.Ring.open(path, capacity)
        assert isinstance(e.value, ValueError) and isinstance(e.value, ringlog.RingError), what
        assert str(path) in str(e.value), what
        assert file_state(path) == before, f"{what}: the file was changed"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ring", "real.ring"], f"{what}: litter"


def test_a_directory_or_device_is_not_a_ring(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        ringlog.Ring.open(tmp_path)
    if os.path.exists("/dev/null") and os.access("/dev/null", os.W_OK):
        with pytest.raises(ringlog.BadFile):
            ringlog.Ring.open("/dev/null")


def test_missing_file_or_directory_is_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "missing.ring"
    with pytest.raises(FileNotFoundError) as e:
        ringlog.Ring.open(missing)  # capacity None: an existing file only
    assert e.value.errno == 2 and e.value.filename == str(missing)
    assert not missing.exists()
    with pytest.raises(FileNotFoundError) as e:
        ringlog.Ring.open(missing, 0)
    in_missing_dir = tmp_path / "no" / "such" / "dir.ring"
    with pytest.raises(FileNotFoundError) as e:
        ringlog.Ring.open(in_missing_dir, 4096)
    assert e.value.filename == str(in_missing_dir)
    with pytest.raises(FileNotFoundError) as e:
        ringlog.Ring.open(os.fsencode(in_missing_dir), 4096)
    assert e.value.filename == os.fsencode(in_missing_dir), "the name as it was given"
    assert list(tmp_path.iterdir()) == []


NOBODY_CHILD = """
import sys, ringlog
try:
    ringlog.Ring.open(sys.argv[1])
except PermissionError as e:
    print("PermissionError", e.errno, e.filename)
else:
    print("opened")
"""


def test_no_permission_is_permission_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.ring"
    a_ring_file(path)
    path.chmod(0)
    try:
        if os.geteuid() != 0:
            with pytest.raises(PermissionError) as e:
                ringlog.Ring.open(path)
            assert e.value.filename == str(path)
            return
        # As root, file permissions do not apply: the open succeeds (that is
        # the assertion here). The PermissionError is then checked in a
        # child running as "nobody", when such a child can import ringlog;
        # otherwise that check alone is not made.
        assert ringlog.Ring.open(path).capacity == 4096
        public = Path(tempfile.mkdtemp(prefix="ringlog-perm-"))
        try:
            public.chmod(0o755)
            locked = public / "locked.ring"
            locked.write_bytes(path.read_bytes())
            locked.chmod(0)
            try:
                done = subprocess.run(
                    [sys.executable, "-c", NOBODY_CHILD, str(locked)],
                    capture_output=True,
                    text=True,
                    timeout=CHILD_TIMEOUT,
                    env=child_env(),
                    user=65534,
                    group=65534,
                    extra_groups=[],
                )
            except (OSError, subprocess.SubprocessError):
                return  # no such user here: the check is not made
            if not done.stdout and re.search("ModuleNotFoundError|ImportError|Permission denied", done.stderr):
                return  # nobody cannot reach the interpreter or ringlog: not made
            assert done.stdout.split() == ["PermissionError", "13", str(locked)], done.stderr
        finally:
            for p in public.iterdir():
                p.unlink()
            public.rmdir()
    finally:
        path.chmod(0o600)


# ---- dump ----------------------------------------------------------------------


@pytest.fixture(params=["memory", "file"])
def filled(request: pytest.FixtureRequest, tmp_path: Path) -> ringlog.Ring:
    ring = ringlog.Ring(4096) if request.param == "memory" else ringlog.Ring.open(tmp_path / "d.ring", 4096)
    for i in range(300):  # laps the ring: the snapshot is the retained tail
        ring.write(b"line %d\n" % i)
    return ring


def test_dump_to_a_file_descriptor(filled: ringlog.Ring, tmp_path: Path) -> None:
    out = tmp_path / "dump.bin"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"HEAD")
        assert filled.dump(fd) is None  # type: ignore[func-returns-value]
        os.write(fd, b"TAIL")
    finally:
        os.close(fd)
    snap = filled.snapshot()
    assert snap.endswith(b"line 299\n") and len(snap) > 100
    assert out.read_bytes() == b"HEAD" + snap + b"TAIL"


def test_dump_to_a_pipe(filled: ringlog.Ring) -> None:
    r, w = os.pipe()
    try:
        filled.dump(w)  # smaller than a pipe's buffer: does not block
        os.close(w)
        w = -1
        got = b""
        while chunk := os.read(r, 65536):
            got += chunk
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    assert got == filled.snapshot()


DUMP_INTERRUPTED_CHILD = """
import os, signal, threading, time, ringlog
ring = ringlog.Ring(1 << 20)
for _ in range(4000):
    ring.write(b"y" * 200)  # 800 KB: more than a pipe holds
r, w = os.pipe()  # nobody reads r
main = threading.main_thread().ident
threading.Timer(0.3, lambda: signal.pthread_kill(main, signal.SIGINT)).start()
t0 = time.monotonic()
try:
    ring.dump(w)
except KeyboardInterrupt:
    print("interrupted after %.1f s" % (time.monotonic() - t0))
"""


def test_ctrl_c_interrupts_a_dump_nobody_drains() -> None:
    assert run_child(DUMP_INTERRUPTED_CHILD).startswith("interrupted after 0.")


def test_dump_to_file_objects_flushes_them_first(filled: ringlog.Ring, tmp_path: Path) -> None:
    out = tmp_path / "dump.bin"
    with open(out, "wb") as f:
        f.write(b"HEAD")  # still in the file object's buffer
        filled.dump(f)
        f.write(b"TAIL")
    assert out.read_bytes() == b"HEAD" + filled.snapshot() + b"TAIL"
    text = tmp_path / "dump.txt"
    with open(text, "w", encoding="utf-8") as t:
        t.write("head\n")
        filled.dump(t)  # a text file: its descriptor takes the bytes
        t.write("tail\n")
    assert text.read_bytes() == b"head\n" + filled.snapshot() + b"tail\n"


def test_dump_to_objects_without_a_descriptor(filled: ringlog.Ring) -> None:
    buf = io.BytesIO()  # has fileno(), which raises UnsupportedOperation
    buf.write(b"HEAD")
    filled.dump(buf)
    assert buf.getvalue() == b"HEAD" + filled.snapshot()

    class Trickle:
        """Takes at most 7 bytes a call and says how many."""

        def __init__(self) -> None:
            self.data = b""

        def write(self, b: bytes) -> int:
            self.data += b[:7]
            return min(7, len(b))

    t = Trickle()
    filled.dump(t)
    assert t.data == filled.snapshot()


def test_dump_errors(filled: ringlog.Ring, tmp_path: Path) -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError) as e:
        filled.dump(w)  # closed descriptor
    assert e.value.errno == 9
    with open(tmp_path / "ro", "wb"):
        pass
    with open(tmp_path / "ro", "rb") as f:
        with pytest.raises(OSError) as e:
            filled.dump(f)  # a descriptor open for reading only
        assert e.value.errno == 9
    f2 = open(tmp_path / "closed", "wb")
    f2.close()
    with pytest.raises(ValueError):
        filled.dump(f2)  # a closed file object
    with pytest.raises(TypeError):
        filled.dump(True)  # a bool is not a descriptor
    with pytest.raises(TypeError):
        filled.dump(io.StringIO())  # takes str, not bytes
    with pytest.raises(AttributeError):
        filled.dump(object())  # type: ignore[arg-type]


def test_dump_of_an_empty_ring_writes_nothing(tmp_path: Path) -> None:
    ring = ringlog.Ring.open(tmp_path / "empty.ring", 4096)
    buf = io.BytesIO()
    ring.dump(buf)
    assert buf.getvalue() == b""


# ---- stats -----------------------------------------------------------------------


def test_stats_fields(tmp_path: Path) -> None:
    mem = ringlog.Ring(4096).stats()
    assert set(mem) == STATS_KEYS
    assert mem["reaped"] == 0 and mem["recoveries"] == 0

    ring = ringlog.Ring.open(tmp_path / "s.ring", 4096)
    s = ring.stats()
    assert set(s) == STATS_KEYS
    for key, value in s.items():
        assert type(value) is (bool if key == "closed" else int), key
    assert (s["written"], s["oldest_seq"], s["bytes_used"], s["readers"]) == (0, 0, 0, 0)
    assert (s["capacity"], s["max_record"], s["closed"], s["reaped"]) == (4096, 1024, False, 0)
    rd = ring.reader()
    for i in range(10):
        ring.write(b"x" * i)
    s = ring.stats()
    assert s["written"] == 10 and s["oldest_seq"] == 0 and s["readers"] == 1
    assert s["bytes_used"] == sum(16 + (i + 7) // 8 * 8 for i in range(10))
    for _ in range(200):  # lap the ring
        ring.write(b"y" * 100)
    s = ring.stats()
    assert s["written"] == 210 and s["oldest_seq"] > 0 and s["bytes_used"] <= 4096
    del rd
    assert ring.stats()["readers"] == 0
    ring.close()
    assert ring.stats()["closed"] is True


READER_CHILD = """
import sys, ringlog
ring = ringlog.Ring.open(sys.argv[1])
rd = ring.reader()
print("ready", flush=True)
sys.stdin.readline()
del rd
"""


def test_stats_count_readers_in_every_process(tmp_path: Path) -> None:
    path = tmp_path / "r.ring"
    ring = ringlog.Ring.open(path, 4096)
    with subprocess.Popen(
        [sys.executable, "-c", READER_CHILD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    ) as child:
        try:
            assert child.stdout is not None and child.stdin is not None
            assert child.stdout.readline() == "ready\n"  # bounded by the test's timeout
            assert ring.stats()["readers"] == 1 and ring.readers == 1
            child.stdin.write("go\n")
            child.stdin.close()
            assert child.wait(timeout=CHILD_TIMEOUT) == 0
        finally:
            child.kill()
    assert ring.stats()["readers"] == 0


# ---- RingHandler(path=...) ---------------------------------------------------------


def test_ring_handler_with_a_path(tmp_path: Path) -> None:
    path = tmp_path / "log.ring"
    h = ringlog.RingHandler(path=path)  # missing: created with the default capacity
    assert h.ring.is_file and h.ring.capacity == 1 << 20
    h2 = ringlog.RingHandler(path=str(path), level=logging.WARNING)  # existing: as it is
    assert h2.level == logging.WARNING and h2.ring.capacity == 1 << 20
    log = logging.getLogger("test.file.handler")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    log.addHandler(h)
    try:
        log.info("to the file ring")
    finally:
        log.removeHandler(h)
        h.close()
    assert not h.ring.closed, "closing the handler leaves the ring open"
    assert [r.data.split(b" ", 1)[1] for r in read_all(ringlog.Ring.open(path))] == [
        b"INFO test.file.handler: to the file ring\n"
    ]

    h3 = ringlog.RingHandler(path=tmp_path / "small.ring", capacity=4096)
    assert h3.ring.capacity == 4096
    with pytest.raises(ringlog.InvalidArgument):
        ringlog.RingHandler(path=path, capacity=4096)  # the file has another capacity
    with pytest.raises(FileNotFoundError):
        ringlog.RingHandler(path=tmp_path / "no" / "dir.ring")
    with pytest.raises(ValueError):
        ringlog.RingHandler(ringlog.Ring(4096), path=path)
    assert ringlog.RingHandler().ring.capacity == 1 << 20
    assert not ringlog.RingHandler(capacity=8192).ring.is_file


def test_dict_config_builds_a_file_ring_handler(tmp_path: Path) -> None:
    path = tmp_path / "dict.ring"
    name = "test.file.dictconfig"
    logging.config.dictConfig(
        {
            "version": 1,
            "incremental": False,
            "disable_existing_loggers": False,
            "handlers": {
                "ring": {"class": "ringlog.RingHandler", "path": str(path), "capacity": 65536, "level": "INFO"}
            },
            "loggers": {name: {"handlers": ["ring"], "level": "DEBUG", "propagate": False}},
        }
    )
    log = logging.getLogger(name)
    try:
        log.debug("filtered out")
        log.info("kept")
        assert [r.data.split(b" ", 1)[1] for r in read_all(ringlog.Ring.open(path))] == [b"INFO " + name.encode() + b": kept\n"]
    finally:
        for h in list(log.handlers):
            log.removeHandler(h)
            h.close()


# ---- the example with --file -----------------------------------------------------------


def test_example_serves_a_file_ring_another_process_reads(tmp_path: Path) -> None:
    """serve_logs.py --file: this process reads the ring the example
    writes; the example's flush waits for this reader, its close ends it."""
    path = tmp_path / "app.ring"
    lines = 300
    cmd = [sys.executable, str(EXAMPLE), "--port", "0", "--lines", str(lines), "--interval", "0",
           "--ring-bytes", "65536", "--wait-clients", "1", "--logfile", str(tmp_path / "app.log"),
           "--file", str(path)]  # fmt: skip
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            assert server.stdout.readline().startswith("serving on http://127.0.0.1:")
            ring = ringlog.Ring.open(path)  # the example made it before saying so
            rd = ring.reader()  # the example waits for this reader
            got: list[str] = []
            deadline = time.monotonic() + CHILD_TIMEOUT
            while True:
                try:
                    rec = rd.next(timeout=max(0.0, deadline - time.monotonic()))
                except ringlog.Closed:
                    break
                assert rec is not None, f"stuck after {len(got)} lines"
                assert rec.lost == 0
                got.append(rec.data.decode())
            assert server.wait(timeout=CHILD_TIMEOUT) == 0
            assert server.stdout.read().strip() == f"logged {lines} lines"
        finally:
            server.kill()
    # RingHandler's default format: "<ISO 8601 time> INFO app: <message>".
    assert [g.split(" ", 1)[1] for g in got] == [f"INFO app: line {i} of the application log\n" for i in range(lines)]
    assert path.read_bytes()[:8] == b"RINGLOG\0"
    # The file outlives the example: its records are there for the next reader.
    assert [r.data.decode() for r in read_all(ringlog.Ring.open(path))] == got


def test_pathlib_and_fspath_objects(tmp_path: Path) -> None:
    class Named:
        def __fspath__(self) -> str:
            return str(tmp_path / "fspath.ring")

    ring = ringlog.Ring.open(Named(), 4096)
    ring.write(b"x")
    del ring
    assert [r.data for r in read_all(ringlog.Ring.open(pathlib.PurePosixPath(tmp_path / "fspath.ring")))] == [b"x"]
