"""Shipping a ring's records through a real syslog daemon (syslog-ng).

syslog-ng runs `ringlog tail -f --json --cursor STATE RING` as a program()
source and writes each line it reads, as it is, to a file. A writer puts
10,000 records into the ring at a steady pace; mid-stream syslog-ng is
stopped (SIGTERM: it sends SIGTERM to the tail's process group and closes
the pipe) and started again after a pause. Then every seq 0..9999 must be
accounted for exactly once:

- delivered: in the output file, once, with the payload the writer wrote;
- lost: covered by a `lost` field (lost L on record S covers S-L..S-1);
- in flight: the records just before the resume point (the cursor saved by
  the stopped tail) that tail had printed into the pipe but that syslog-ng
  had not written out when it stopped: one contiguous range, bounded.

Three cases: a 64 KiB ring that the pause is long enough to overrun (loss is
certain and must be reported exactly); a 4 MiB ring that holds all the
records (nothing may be lost); and the 4 MiB ring with syslog-ng paused
(SIGSTOP) while 3,000 records are written at once, then killed (SIGKILL, a
crash): tail has a full pipe and a batch it cannot write, so records are in
flight, and tail must notice the closed pipe (EPIPE) and exit 0 by itself.
(A daemon stopped with SIGTERM drains the pipe first: syslog-ng keeps
reading for about 100 ms after "shutting down" before it signals tail, so
in flight is usually 0 there.)

Run by tests/shipping/run, which installs syslog-ng-core and builds the
binary; $RINGLOG_BIN is the ringlog binary, $SYSLOG_NG the daemon. Every
file lives in a temporary directory; every wait is bounded; every process
started here (including the tails syslog-ng starts) is killed at the end.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import zlib
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
N = 10_000
PAUSE = 1.0  # seconds syslog-ng is down
PACE = 2_500  # records a second, about 4 s for all
STOP_AT = 3_000  # syslog-ng is stopped once this many records were delivered
STALL_BURST = 3_000  # records written at once into a paused syslog-ng (about 200 KB of JSON)

# tail writes a batch of up to 64 KiB (plus the record that crossed the
# limit) after saving the cursor; what can be in flight when syslog-ng
# stops is that batch, the pipe's buffer (64 KiB unless resized), and what
# syslog-ng had read but not yet written (its read buffer, log-msg-size,
# default 64 KiB, plus the messages of its flow-control window).
IN_FLIGHT_MAX_BYTES = 64 * 1024 + 64 * 1024 + 64 * 1024 + 16 * 1024

# The configuration docs/SHIPPING.md shows. syslog-ng runs the program with
# /bin/sh -c in a process group of its own, and on shutdown sends SIGTERM to
# that group; when the program exits it runs it again at once, hence the
# `; sleep 5` (a missing ring file would otherwise restart tail ~100 times
# a second).
SYSLOG_NG_CONF = """\
@version: 3.38
options {{ stats-freq(0); }};
source s_ring {{
    program("{ringlog} tail -f --json --cursor {cursor} {ring}; sleep 5" flags(no-parse));
}};
destination d_out {{ file("{out}" template("$MSG\\n")); }};
log {{ source(s_ring); destination(d_out); flags(flow-control); }};
"""


def payload(i: int) -> str:
    """The writer's record i (without its newline): a checksum over the rest."""
    body = f"rec {i:05d} " + "abcdefghijklmnopqrstuvwxyz"[: i % 27]
    return f"{body} crc={zlib.crc32(body.encode()):08x}"


def checksum_ok(data: str) -> bool:
    body, _, crc = data.rstrip("\n").rpartition(" crc=")
    return crc == f"{zlib.crc32(body.encode()):08x}"


def json_line_len(seq: int, lost: int) -> int:
    return len(json.dumps({"seq": seq, "lost": lost, "data": payload(seq) + "\n"}, separators=(",", ":"))) + 1


# ---- processes ---------------------------------------------------------------

PR_SET_CHILD_SUBREAPER = 36


def set_subreaper(on: bool) -> None:
    """syslog-ng does not wait for the tail it signals on shutdown: as a
    subreaper this process inherits it and can tell how it exited."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0)


def pids_with(needle: str, argv0: str | None = None) -> list[int]:
    """Live processes whose command line contains `needle` (the test's
    temporary directory: only processes this test started), and whose
    argv[0] is `argv0` if given."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            argv = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{d}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        cmd = b" ".join(argv).decode(errors="replace")
        if needle in cmd and state != "Z" and (argv0 is None or argv[0].decode(errors="replace") == argv0):
            found.append(int(d))
    return found


def kill_groups(groups: set[int]) -> None:
    """SIGKILL to every process in these process groups (those syslog-ng
    made for its programs: the shell, tail, the `sleep 5`), each by pid."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            pgrp = int(Path(f"/proc/{d}/stat").read_text().rpartition(")")[2].split()[2])
        except (OSError, ValueError, IndexError):
            continue
        if pgrp in groups and int(d) != os.getpid():
            try:
                os.kill(int(d), signal.SIGKILL)
            except ProcessLookupError:
                continue
            wait_gone(int(d), 5)


def reap(pid: int) -> int | None:
    """The exit status of `pid` if it is (now) our exited child, else None."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if got == pid else None


def wait_gone(pid: int, timeout: float) -> tuple[bool, int | None]:
    """Waits until `pid` has exited: (exited, exit status if we reaped it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = reap(pid)
        if st is not None:
            return True, st
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return True, None  # gone, reaped by its parent
        if state == "Z":
            time.sleep(0.02)  # a zombie: its parent (or we) will reap it
            st = reap(pid)
            if st is not None:
                return True, st
            continue
        time.sleep(0.02)
    return False, None


def wait_for(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_cursor_still(cursor: Path, still: float = 0.3, timeout: float = 10) -> None:
    """Waits until the cursor has not moved for `still` seconds: tail is
    blocked writing to a full pipe."""
    deadline = time.monotonic() + timeout
    last, since = cursor.read_text(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = cursor.read_text()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= still:
            return
    raise AssertionError(f"the cursor still moves after {timeout} s with syslog-ng paused")


class Daemon:
    """syslog-ng in the foreground, everything it writes under `tmp`."""

    def __init__(self, tmp: Path, syslog_ng: str, ringlog: str, ring: Path) -> None:
        self.tmp = tmp
        self.ring = ring
        self.cursor = tmp / "cursor"
        self.out = tmp / "out.jsonl"
        self.conf = tmp / "syslog-ng.conf"
        self.conf.write_text(SYSLOG_NG_CONF.format(ringlog=ringlog, cursor=self.cursor, ring=ring, out=self.out))
        self.syslog_ng = syslog_ng
        self.ringlog = ringlog
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.tail_pid: int | None = None
        self.tail_exits: list[int | None] = []
        self.groups: set[int] = set()  # process groups of the programs syslog-ng started

    def start(self) -> None:
        self.runs += 1
        log = open(self.tmp / f"syslog-ng.{self.runs}.log", "wb")
        self.proc = subprocess.Popen(
            [self.syslog_ng, "--foreground", "--no-caps", "--stderr", "--verbose",
             "--cfgfile", str(self.conf),
             "--persist-file", str(self.tmp / "syslog-ng.persist"),
             "--pidfile", str(self.tmp / "syslog-ng.pid"),
             "--control", str(self.tmp / "syslog-ng.ctl")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp,
            start_new_session=True,
        )
        log.close()
        # Up when its tail runs and has its cursor (the first run saves it
        # before it reads).
        needle = f"--cursor {self.cursor}"

        def tail_up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"syslog-ng exited with {self.proc.returncode}: {self.log_text()}")
            pids = pids_with(needle, argv0=self.ringlog)
            if len(pids) == 1 and self.cursor.exists():
                self.tail_pid = pids[0]
                self.groups.add(os.getpgid(self.tail_pid))
                return True
            return False

        wait_for(tail_up, 15, "syslog-ng to start ringlog tail")

    def pause(self) -> None:
        """SIGSTOP: a daemon that stopped reading (busy, swapped out)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def stop(self, crash: bool = False) -> None:
        """SIGTERM, as an init system stops it; or SIGKILL (`crash`: the
        daemon's end is closed under tail, which gets no signal). Waits for
        it and its tail."""
        assert self.proc is not None and self.tail_pid is not None
        self.proc.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise AssertionError("syslog-ng did not exit within 15 s of the signal") from None
        assert rc == (-signal.SIGKILL if crash else 0), f"syslog-ng exited with {rc}: {self.log_text()}"
        gone, status = wait_gone(self.tail_pid, 10)
        assert gone, "ringlog tail still runs 10 s after syslog-ng stopped"
        self.tail_exits.append(status)
        assert status in (0, None), f"ringlog tail exited with {status} (want 0)"
        self.tail_pid = None
        # After a crash the shell outlives syslog-ng (and runs `sleep 5`).
        kill_groups(self.groups)

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("syslog-ng.*.log")))

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        kill_groups(self.groups)


def delivered_count(out: Path) -> int:
    """Lines syslog-ng has written so far."""
    try:
        return out.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def last_seq(out: Path) -> int | None:
    """The seq of the last complete line written so far."""
    try:
        data = out.read_bytes()
    except FileNotFoundError:
        return None
    lines = data.split(b"\n")[:-1]  # the last piece is incomplete (or empty)
    return json.loads(lines[-1])["seq"] if lines else None


# ---- the test ---------------------------------------------------------------------


@pytest.fixture
def tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ringlog-shipping-") as d:
        set_subreaper(True)
        try:
            yield Path(d)
        finally:
            # Whatever still runs from this test (syslog-ng, its tails, the
            # writer): all have the temporary directory in their command line.
            for pid in pids_with(d):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                wait_gone(pid, 5)
            set_subreaper(False)


@pytest.mark.parametrize(
    "capacity,crash,loss",
    [("64KiB", False, True), ("4MiB", False, False), ("4MiB", True, False)],
    ids=["small-ring-loses-records", "large-ring-loses-none", "killed-daemon-records-in-flight"],
)
def test_syslog_ng_restart_mid_stream(tmp: Path, capacity: str, crash: bool, loss: bool) -> None:
    ringlog = os.environ.get("RINGLOG_BIN") or str(ROOT / "target" / "debug" / "ringlog")
    assert os.access(ringlog, os.X_OK), f"{ringlog} is not built (cargo build -p ringlog-cli, or set RINGLOG_BIN)"
    syslog_ng = os.environ.get("SYSLOG_NG") or shutil.which("syslog-ng") or "/usr/sbin/syslog-ng"
    assert os.access(syslog_ng, os.X_OK), f"{syslog_ng} not found (tests/shipping/run installs syslog-ng-core)"
    t0 = time.monotonic()

    ring = tmp / "app.ring"
    # The writer creates the ring; it writes nothing until syslog-ng is up.
    writer = subprocess.Popen([ringlog, "write", str(ring), "--capacity", capacity],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    daemon = Daemon(tmp, syslog_ng, ringlog, ring)
    try:
        wait_for(ring.exists, 10, "ringlog write to create the ring")
        daemon.start()
        assert daemon.cursor.read_text() == "0\n"

        # (1) 10,000 records at a steady pace; (2) syslog-ng stopped once
        # STOP_AT were delivered, started again PAUSE s later.
        assert writer.stdin is not None
        chunk = 25
        start = time.monotonic()
        resume_at: int | None = None
        stopped_at: float | None = None
        burst_until: int | None = None  # crash: records written at once while syslog-ng is paused
        for i in range(0, N, chunk):
            writer.stdin.write("".join(payload(j) + "\n" for j in range(i, min(i + chunk, N))).encode())
            writer.stdin.flush()
            if burst_until is not None:
                if i + chunk < burst_until:
                    continue  # no pacing: fill the pipe
                wait_cursor_still(daemon.cursor)  # tail filled the pipe and blocks writing a batch
                burst_until = None
                start = time.monotonic() - (i + chunk) / PACE  # pace on from here
                daemon.stop(crash=True)
                resume_at = int(daemon.cursor.read_text())
                stopped_at = time.monotonic()
            if stopped_at is None and resume_at is None and delivered_count(daemon.out) >= STOP_AT:
                if crash:
                    daemon.pause()
                    burst_until = i + chunk + STALL_BURST
                    continue
                daemon.stop()
                resume_at = int(daemon.cursor.read_text())
                stopped_at = time.monotonic()
            if stopped_at is not None and time.monotonic() - stopped_at >= PAUSE:
                daemon.start()
                stopped_at = None
            ahead = start + (i + chunk) / PACE - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        if stopped_at is not None:  # the writer was faster than the pause
            time.sleep(max(0.0, PAUSE - (time.monotonic() - stopped_at)))
            daemon.start()
        assert resume_at is not None, "syslog-ng was never stopped: fewer than STOP_AT records delivered"
        writer.stdin.close()
        assert writer.wait(timeout=10) == 0, f"ringlog write failed: {writer.stderr.read()!r}"  # type: ignore[union-attr]

        # (3) Until the last record is out and the output stops growing.
        wait_for(lambda: last_seq(daemon.out) == N - 1, 20, f"seq {N - 1} to reach the output")
        size = daemon.out.stat().st_size
        time.sleep(0.5)
        assert daemon.out.stat().st_size == size, "the output still grows after the last record"
        daemon.stop()
    finally:
        daemon.kill()
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=10)

    # (4) Accounting.
    text = daemon.out.read_text()
    assert text.endswith("\n")
    recs = [json.loads(line) for line in text.splitlines()]
    for r in recs:
        assert set(r) == {"seq", "lost", "data"}, r
    seqs = [r["seq"] for r in recs]
    assert len(set(seqs)) == len(seqs), "a record was delivered twice: " + str(
        sorted(s for s in set(seqs) if seqs.count(s) > 1)[:20])
    assert seqs == sorted(seqs), "records out of order"
    for r in recs:
        assert r["data"] == payload(r["seq"]) + "\n", f"payload of seq {r['seq']} differs: {r['data']!r}"
        assert checksum_ok(r["data"]), r

    delivered = len(recs)
    lost = 0
    in_flight: list[int] = []
    prev = -1
    first_after_restart = None
    for r in recs:
        s, l = r["seq"], r["lost"]
        gap = s - prev - 1
        assert 0 <= l <= gap, f"seq {s} says lost {l} but only {gap} records are missing before it"
        lost += l
        if gap > l:
            # Missing records not reported lost: only the range that the
            # stopped tail had printed (before its saved cursor) may be.
            assert s - l == resume_at, (
                f"seqs {prev + 1}..{s - l - 1} are missing and not reported lost, "
                f"and they do not end at the resume point {resume_at}")
            in_flight.extend(range(prev + 1, s - l))
        if first_after_restart is None and s >= resume_at:
            first_after_restart = r
        prev = s
    assert prev == N - 1
    assert first_after_restart is not None
    # After the restart, exactly the records overwritten since the saved
    # cursor are reported lost.
    assert first_after_restart["seq"] - first_after_restart["lost"] == resume_at, first_after_restart

    in_flight_bytes = sum(json_line_len(s, 0) for s in in_flight)
    print(f"\n[{capacity} ring] delivered {delivered}, lost {lost}, in flight {len(in_flight)} "
          f"({in_flight_bytes} bytes{', seqs %d..%d' % (in_flight[0], in_flight[-1]) if in_flight else ''}); "
          f"restart resumed at seq {resume_at}, first record after it: seq {first_after_restart['seq']} "
          f"lost {first_after_restart['lost']}; tail exit statuses {daemon.tail_exits} "
          f"(None: reaped by its parent); {time.monotonic() - t0:.1f} s")
    assert delivered + lost + len(in_flight) == N
    assert in_flight_bytes <= IN_FLIGHT_MAX_BYTES
    if loss:
        assert lost > 0, "the pause should have overrun the 64 KiB ring"
    else:
        assert lost == 0, "the 4 MiB ring holds every record: nothing may be lost"
    if crash:
        # tail had a full pipe and a batch it could not write when syslog-ng
        # was killed: the records in them were printed, never delivered.
        assert in_flight, "a daemon killed with a full pipe should leave records in flight"
