"""install_crash_dump: a child process crashes (abort, a segfault, any of
the five signals); its ring's records are in the dump file, it still dies
of the signal, and faulthandler (enabled before or after) still prints
its traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ringlog

CHILD_TIMEOUT = 30

PROLOGUE = """
import ctypes, faulthandler, os, signal, sys
import ringlog
ring = ringlog.Ring(4096)
for i in range(200):        # more than the ring holds: the dump has the newest
    ring.write(f"record {i}\\n")
"""


def run_child(body: str, *args: str) -> subprocess.CompletedProcess[str]:
    code = PROLOGUE + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        env={**os.environ, "PYTHONFAULTHANDLER": ""},
    )


def check_dump(dump: bytes) -> None:
    """The dump is the ring's retained records, whole, newest last."""
    lines = dump.decode().splitlines()
    assert lines, "the dump is empty"
    assert lines[-1] == "record 199"
    first = int(lines[0].split()[1])
    assert lines == [f"record {i}" for i in range(first, 200)]
    assert 100 < len(lines) < 200  # a 4 KiB ring holds some, not all


def test_abort_writes_the_dump_and_the_process_still_dies_of_sigabrt(tmp_path: Path) -> None:
    dump = tmp_path / "crash.dump"
    p = run_child(
        """
        ringlog.install_crash_dump(ring, sys.argv[1])
        sys.stdout.write("installed\\n"); sys.stdout.flush()
        os.abort()
        """,
        str(dump),
    )
    assert p.stdout == "installed\n"
    assert p.returncode == -signal.SIGABRT, p.stderr
    check_dump(dump.read_bytes())


def test_the_file_is_opened_at_install_and_empty_until_a_crash(tmp_path: Path) -> None:
    dump = tmp_path / "crash.dump"
    dump.write_bytes(b"a previous run's dump\n")
    p = run_child(
        """
        ringlog.install_crash_dump(ring, sys.argv[1])
        assert open(sys.argv[1], "rb").read() == b""   # truncated at install
        os.chmod(sys.argv[1], 0)                       # no open needed later
        os.abort()
        """,
        str(dump),
    )
    assert p.returncode == -signal.SIGABRT, p.stderr
    os.chmod(dump, 0o600)
    check_dump(dump.read_bytes())


@pytest.mark.parametrize("sig", ["SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"])
def test_every_fatal_signal_dumps_then_kills(tmp_path: Path, sig: str) -> None:
    dump = tmp_path / "crash.dump"
    p = run_child(
        f"""
        ringlog.install_crash_dump(ring, sys.argv[1])
        signal.raise_signal(signal.{sig})
        print("still alive")
        """,
        str(dump),
    )
    assert p.returncode == -getattr(signal, sig), p.stderr
    assert "still alive" not in p.stdout
    check_dump(dump.read_bytes())


def test_a_real_segfault_with_faulthandler_enabled_before(tmp_path: Path) -> None:
    """faulthandler was there first: the dump is written, then faulthandler
    prints its traceback, then the process dies of SIGSEGV."""
    dump = tmp_path / "crash.dump"
    p = run_child(
        """
        faulthandler.enable()
        ringlog.install_crash_dump(ring, sys.argv[1])
        def crash_here():
            ctypes.string_at(0)
        crash_here()
        """,
        str(dump),
    )
    assert p.returncode == -signal.SIGSEGV, p.stderr
    check_dump(dump.read_bytes())
    assert "Fatal Python error: Segmentation fault" in p.stderr
    assert "crash_here" in p.stderr, "faulthandler's traceback"


def test_faulthandler_enabled_after_still_chains_to_the_dump(tmp_path: Path) -> None:
    """faulthandler installed on top: it prints, then hands the signal to
    the handler it found (ours), which dumps and lets the process die."""
    dump = tmp_path / "crash.dump"
    p = run_child(
        """
        ringlog.install_crash_dump(ring, sys.argv[1])
        faulthandler.enable()
        def crash_here():
            ctypes.string_at(0)
        crash_here()
        """,
        str(dump),
    )
    assert p.returncode == -signal.SIGSEGV, p.stderr
    check_dump(dump.read_bytes())
    assert "Fatal Python error: Segmentation fault" in p.stderr and "crash_here" in p.stderr


def test_abort_with_faulthandler_shows_both(tmp_path: Path) -> None:
    dump = tmp_path / "crash.dump"
    p = run_child(
        """
        faulthandler.enable()
        ringlog.install_crash_dump(ring, sys.argv[1])
        os.abort()
        """,
        str(dump),
    )
    assert p.returncode == -signal.SIGABRT, p.stderr
    check_dump(dump.read_bytes())
    assert "Fatal Python error: Aborted" in p.stderr


def test_a_stack_overflow_is_dumped_on_the_alternate_stack(tmp_path: Path) -> None:
    """A native stack overflow (no Python frames to speak of): the handler
    runs on the alternate stack install_crash_dump gave the thread."""
    dump = tmp_path / "crash.dump"
    p = run_child(
        """
        ringlog.install_crash_dump(ring, sys.argv[1])
        import resource
        # Recurse in C until the (main thread's) stack runs out: a SIGSEGV
        # with no stack left to run a handler on.
        sys.setrecursionlimit(10**9)
        resource.setrlimit(resource.RLIMIT_STACK, (1 << 20, resource.getrlimit(resource.RLIMIT_STACK)[1]))
        CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
        libc = ctypes.CDLL(None)
        def deeper(a, b):
            arr = (ctypes.c_int * 2)(1, 2)
            libc.qsort(arr, 2, ctypes.sizeof(ctypes.c_int), CMP(deeper))
            return 0
        deeper(None, None)
        """,
        str(dump),
    )
    if p.returncode != -signal.SIGSEGV:
        pytest.skip(f"the child did not overflow its stack as planned: {p.returncode} {p.stderr[-300:]}")
    check_dump(dump.read_bytes())


def test_to_a_descriptor_and_several_rings(tmp_path: Path) -> None:
    """A descriptor (duplicated at install: closing the original is fine)
    and a second ring to a file object: both dumped, in install order."""
    dump = tmp_path / "crash.dump"
    other = tmp_path / "other.dump"
    p = run_child(
        """
        fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        ringlog.install_crash_dump(ring, fd)
        os.close(fd)
        second = ringlog.Ring(4096)
        second.write(b"from the second ring\\n")
        with open(sys.argv[2], "wb") as f:
            ringlog.install_crash_dump(second, f)
        ringlog.install_crash_dump(second, sys.argv[1])   # a second dump to the same file: appended
        del second                                        # kept alive by the crash dump
        os.abort()
        """,
        str(dump),
        str(other),
    )
    assert p.returncode == -signal.SIGABRT, p.stderr
    data = dump.read_bytes()
    head, sep, tail = data.partition(b"from the second ring\n")
    assert sep and tail == b""
    check_dump(head)
    assert other.read_bytes() == b"from the second ring\n"


def test_a_file_ring_is_dumped_too(tmp_path: Path) -> None:
    dump = tmp_path / "crash.dump"
    p = run_child(
        """
        fring = ringlog.Ring.open(sys.argv[2], 4096)
        for i in range(200):
            fring.write(f"record {i}\\n")
        ringlog.install_crash_dump(fring, sys.argv[1])
        os.abort()
        """,
        str(dump),
        str(tmp_path / "app.ring"),
    )
    assert p.returncode == -signal.SIGABRT, p.stderr
    check_dump(dump.read_bytes())


def test_bad_arguments(tmp_path: Path) -> None:
    ring = ringlog.Ring(4096)
    with pytest.raises(TypeError, match=r"install_crash_dump\(\): ring must be a ringlog.Ring, not bytes"):
        ringlog.install_crash_dump(b"x", tmp_path / "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"install_crash_dump\(\): file must be"):
        ringlog.install_crash_dump(ring, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not bool"):
        ringlog.install_crash_dump(ring, True)
    with pytest.raises(FileNotFoundError) as info:
        ringlog.install_crash_dump(ring, tmp_path / "no" / "dir.dump")
    assert info.value.filename == str(tmp_path / "no" / "dir.dump")
    with pytest.raises(OSError):
        ringlog.install_crash_dump(ring, 987654)  # not an open descriptor


def test_at_most_max_crash_dumps(tmp_path: Path) -> None:
    p = run_child(
        """
        for i in range(ringlog.MAX_CRASH_DUMPS):
            ringlog.install_crash_dump(ring, os.devnull)
        try:
            ringlog.install_crash_dump(ring, os.devnull)
        except ringlog.InvalidArgument as e:
            print(e)
        """
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"install_crash_dump(): {ringlog.MAX_CRASH_DUMPS} crash dumps are installed already"
