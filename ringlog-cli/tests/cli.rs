//! End-to-end tests of the `ringlog` command, run as a separate process
//! (`CARGO_BIN_EXE_ringlog`) against ring files that this process, other
//! `ringlog` processes, or a re-exec of this test binary write.
//!
//! Every wait is bounded and every process a test starts is killed when the
//! test ends (the [`Proc`] guard), also when it fails.

#![allow(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use base64::Engine;
use ringbuf_core::{record_size, Ring, Start};
use serde_json::Value;

/// The command under test.
const BIN: &str = env!("CARGO_BIN_EXE_ringlog");

/// How long a command that should end at once may take (debug build, a
/// loaded 2-core machine).
const LIMIT: Duration = Duration::from_secs(20);

/// The environment variable that turns this test binary into a child
/// process (see [`child_process_entry`]).
const CHILD_ENV: &str = "RINGLOG_CLI_TEST_CHILD";

// ---------------------------------------------------------------------------
// Helpers: processes, bounded waits, output.

/// A child process, killed (with its process group, if it leads one) and
/// reaped when dropped.
struct Proc {
    child: Child,
    what: String,
    group: bool,
}

impl Proc {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child, which is not reaped before drop.
        unsafe { libc::kill(self.pid(), sig) };
    }

    fn signal_group(&self, sig: i32) {
        assert!(self.group);
        // SAFETY: kill(2) on the process group our child leads.
        unsafe { libc::kill(-self.pid(), sig) };
    }

    fn stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("stdin piped")
    }

    /// Its exit status, or None when it is still running after `limit`.
    fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return Some(st);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Its exit status; fails the test when it does not end within `limit`.
    fn must_end(&mut self, limit: Duration) -> ExitStatus {
        match self.wait_for(limit) {
            Some(st) => st,
            None => panic!("{} still running after {limit:?}", self.what),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.group {
            self.signal_group(libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `ringlog` command with `args`, RUST_BACKTRACE set so that a panic
/// would show.
fn ringlog_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).env("RUST_BACKTRACE", "1");
    c
}

fn spawn(mut cmd: Command, what: &str) -> Proc {
    let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    Proc { child, what: what.to_string(), group: false }
}

/// `ringlog ARGS` with stdout and stderr piped, stdin as given.
fn spawn_ringlog(args: &[&str], stdin: Stdio) -> Proc {
    let mut c = ringlog_cmd(args);
    c.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
    spawn(c, &format!("ringlog {}", args.join(" ")))
}

/// What a finished command produced.
#[derive(Debug)]
struct Out {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
    took: Duration,
}

impl Out {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_string).collect()
    }

    fn json(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
            .collect()
    }

    fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// Exit 0 and nothing on stderr.
    fn ok(self) -> Out {
        assert_eq!(self.code(), Some(0), "expected success: {self:?}");
        assert!(self.stderr.is_empty(), "expected no stderr: {self:?}");
        self
    }

    /// Exit 1 with exactly one line on stderr, `ringlog: ...`, no panic;
    /// returns that line.
    fn one_line_error(&self) -> String {
        assert_eq!(self.code(), Some(1), "expected status 1: {self:?}");
        let lines = self.stderr_lines();
        assert_eq!(lines.len(), 1, "expected exactly one line on stderr: {:?}", self.stderr);
        assert!(lines[0].starts_with("ringlog: "), "stderr does not start with `ringlog: `: {:?}", self.stderr);
        assert!(lines[0].len() > "ringlog: ".len() + 3, "empty message: {:?}", self.stderr);
        no_panic(&self.stderr);
        lines[0].to_string()
    }
}

fn no_panic(stderr: &str) {
    for bad in ["panicked", "RUST_BACKTRACE", "internal error", "stack backtrace"] {
        assert!(!stderr.contains(bad), "stderr shows a panic ({bad}): {stderr:?}");
    }
}

/// Reads a pipe to its end in a thread; the bytes come through the channel.
fn drain(mut r: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Runs `cmd` to its end with `input` on stdin, within `limit`.
fn run_cmd(mut cmd: Command, input: Option<Vec<u8>>, limit: Duration) -> Out {
    let what = format!("{cmd:?}");
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut p = spawn(cmd, &what);
    if let Some(input) = input {
        let mut stdin = p.stdin();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let out = drain(p.child.stdout.take().expect("stdout"));
    let err = drain(p.child.stderr.take().expect("stderr"));
    let status = p.must_end(limit);
    let took = start.elapsed();
    let stdout = out.recv_timeout(LIMIT).expect("stdout not closed (a process left behind?)");
    let stderr = err.recv_timeout(LIMIT).expect("stderr not closed (a process left behind?)");
    Out { status, stdout, stderr: String::from_utf8_lossy(&stderr).into_owned(), took }
}

/// `ringlog ARGS`, to its end.
fn rl(args: &[&str]) -> Out {
    run_cmd(ringlog_cmd(args), None, LIMIT)
}

/// `ringlog ARGS` with `input` on stdin, to its end.
fn rl_in(args: &[&str], input: &[u8]) -> Out {
    run_cmd(ringlog_cmd(args), Some(input.to_vec()), LIMIT)
}

/// The lines a running process prints, each with the time it arrived.
struct Lines {
    rx: Receiver<(Instant, Vec<u8>)>,
    what: String,
}

impl Lines {
    fn of(r: impl Read + Send + 'static, what: &str) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(r);
            loop {
                let mut line = Vec::new();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.send((Instant::now(), line)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Lines { rx, what: what.to_string() }
    }

    /// The next line (without its newline) and when it arrived; fails the
    /// test after `limit`.
    fn next_at(&self, limit: Duration) -> (Instant, String) {
        match self.rx.recv_timeout(limit) {
            Ok((t, l)) => {
                let s = String::from_utf8(l).expect("UTF-8 line");
                (t, s.strip_suffix('\n').unwrap_or(&s).to_string())
            }
            Err(e) => panic!("no line from {} within {limit:?} ({e})", self.what),
        }
    }

    fn next(&self, limit: Duration) -> String {
        self.next_at(limit).1
    }

    /// The lines that come within `quiet` of each other (none after that).
    fn rest(&self, quiet: Duration) -> Vec<String> {
        let mut v = Vec::new();
        while let Ok((_, l)) = self.rx.recv_timeout(quiet) {
            v.push(String::from_utf8(l).expect("UTF-8").trim_end_matches('\n').to_string());
        }
        v
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("ringlog-cli-test").tempdir().expect("tempdir")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A new ring file of `capacity` bytes with `records` written into it.
fn ring_with(path: &Path, capacity: usize, records: impl IntoIterator<Item = Vec<u8>>) -> Ring {
    let ring = Ring::open_file(path, capacity).expect("open_file");
    for r in records {
        ring.write(&r).expect("write");
    }
    ring
}

/// `rec NNNN\n`: 9 bytes, 32 in the ring with framing.
fn rec(i: u64) -> Vec<u8> {
    format!("rec {i:04}\n").into_bytes()
}

fn stat_json(path: &Path) -> Value {
    let out = rl(&["stat", "--json", s(path)]).ok();
    serde_json::from_slice(&out.stdout).expect("stat --json is one JSON object")
}

fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

/// Polls `cond` every few ms until it holds; fails the test after `limit`.
fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

// ---------------------------------------------------------------------------
// The child process: this test binary run again with CHILD_ENV set.

/// Not a test of its own: the body of the child processes some tests start
/// (this binary, run with `--exact child_process_entry` and CHILD_ENV
/// set). Without CHILD_ENV it does nothing.
#[test]
fn child_process_entry() {
    let Ok(what) = std::env::var(CHILD_ENV) else { return };
    let mut args = what.split(':');
    match (args.next(), args.next(), args.next()) {
        // Writes N records `rec i`, claims one more without committing it,
        // and waits to be killed: a writer killed in the middle of a record.
        (Some("mid-record"), Some(path), Some(n)) => {
            let ring = Ring::open_file(path, 0).expect("child: open");
            for i in 0..n.parse::<u64>().expect("n") {
                ring.write(&rec(i)).expect("child: write");
            }
            let pending = ring.begin_write(b"the record being written when killed\n").expect("child: begin");
            std::thread::sleep(Duration::from_secs(60));
            drop(pending);
            std::process::exit(3);
        }
        _ => panic!("child: unknown {CHILD_ENV}={what}"),
    }
}

fn spawn_child(what: &str) -> Proc {
    let mut c = Command::new(std::env::current_exe().expect("current_exe"));
    c.args(["--exact", "child_process_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, what)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    spawn(c, &format!("child {what}"))
}

// ---------------------------------------------------------------------------
// dump

#[test]
fn dump_adds_a_newline_only_when_missing() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let recs: Vec<&[u8]> = vec![b"one\n", b"two", b"", b"\n", b"three\n\n", b"four\r\n", b"five"];
    ring_with(&f, 4096, recs.iter().map(|r| r.to_vec()));
    let out = rl(&["dump", s(&f)]).ok();
    assert_eq!(out.stdout, b"one\ntwo\n\n\nthree\n\nfour\r\nfive\n".to_vec());
}

#[test]
fn dump_last_and_from() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    // 1 KiB holds 32 records of 32 bytes: 100 written, 68..99 retained.
    ring_with(&f, 1024, (0..100).map(rec));
    let st = stat_json(&f);
    let oldest = u(&st, "oldest_seq");
    assert_eq!(u(&st, "written"), 100);
    assert_eq!(oldest, 100 - 1024 / record_size(9) as u64);
    let want = |range: std::ops::Range<u64>| range.map(|i| format!("rec {i:04}")).collect::<Vec<_>>();

    assert_eq!(rl(&["dump", s(&f)]).ok().lines(), want(oldest..100));
    assert_eq!(rl(&["dump", s(&f), "--last", "5"]).ok().lines(), want(95..100));
    assert_eq!(rl(&["dump", s(&f), "--last", "1"]).ok().lines(), want(99..100));
    assert!(rl(&["dump", s(&f), "--last", "0"]).ok().stdout.is_empty());
    assert_eq!(rl(&["dump", s(&f), "--last", "1000"]).ok().lines(), want(oldest..100));
    assert_eq!(rl(&["dump", s(&f), "--from", "90"]).ok().lines(), want(90..100));
    assert_eq!(rl(&["dump", s(&f), "--from", &oldest.to_string()]).ok().lines(), want(oldest..100));
    // Nothing at or after the end, and no waiting for it.
    assert!(rl(&["dump", s(&f), "--from", "100"]).ok().stdout.is_empty());
    assert!(rl(&["dump", s(&f), "--from", "5000"]).ok().stdout.is_empty());

    // An evicted --from: the gap on stderr, then every retained record.
    for from in [0, 3, oldest - 1] {
        let out = rl(&["dump", s(&f), "--from", &from.to_string()]);
        assert_eq!(out.code(), Some(0), "{out:?}");
        assert_eq!(out.stderr_lines(), vec![format!("ringlog: lost {} records", oldest - from)], "{out:?}");
        assert_eq!(out.lines(), want(oldest..100));
        let out = rl(&["dump", s(&f), "--from", &from.to_string(), "--json"]);
        let recs = out.json();
        assert_eq!(u(&recs[0], "seq"), oldest);
        assert_eq!(u(&recs[0], "lost"), oldest - from);
        assert!(recs[1..].iter().all(|r| u(r, "lost") == 0));
        assert_eq!(recs.len() as u64 + oldest - from, 100 - from, "read + lost == written since --from");
    }
}

#[test]
fn dump_json_utf8_and_bytes() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let texts: Vec<&[u8]> = vec![
        "plain\n".as_bytes(),
        "h\u{e9}llo \u{1f980} \"quoted\" back\\slash\ttab\u{1}ctl".as_bytes(),
        b"",
        b"ab\xff\xfe\x00z\n",
        b"\x80lone continuation",
        b"cut \xe2\x82",
        b"\xc3(",
    ];
    ring_with(&f, 4096, texts.iter().map(|t| t.to_vec()));
    let out = rl(&["dump", "--json", s(&f)]).ok();
    let recs = out.json();
    assert_eq!(recs.len(), texts.len());
    for (i, (r, want)) in recs.iter().zip(&texts).enumerate() {
        assert_eq!(u(r, "seq"), i as u64);
        assert_eq!(u(r, "lost"), 0);
        let data = r["data"].as_str().expect("data is a string");
        match std::str::from_utf8(want) {
            Ok(text) => {
                assert_eq!(data, text, "record {i}");
                assert!(r.get("data_base64").is_none(), "UTF-8 record {i} has data_base64: {r}");
            }
            Err(_) => {
                let b64 = r["data_base64"].as_str().unwrap_or_else(|| panic!("record {i} lacks data_base64: {r}"));
                let back = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64");
                assert_eq!(&back, want, "record {i}: data_base64 must decode to the exact bytes");
                assert!(data.contains("\\x"), "record {i}: invalid bytes escaped as \\xNN in data: {data:?}");
            }
        }
    }
    // The keys, in the documented order.
    assert!(out.lines()[0].starts_with(r#"{"seq":0,"lost":0,"data":"plain\n""#), "{}", out.lines()[0]);
}

#[test]
fn dump_after_writer_killed_mid_stream() {
    let dir = tmp();
    let f = dir.path().join("crash.ring");
    // A `ringlog write` fed from a pipe, killed with SIGKILL while it runs.
    let mut w = spawn_ringlog(&["write", "--capacity", "1MiB", s(&f)], Stdio::piped());
    let mut stdin = w.stdin();
    let n = 500u64;
    for i in 0..n {
        stdin.write_all(&rec(i)).expect("feed the writer");
    }
    stdin.flush().expect("flush");
    eventually(LIMIT, "the writer to commit 500 records", || {
        Ring::open_existing(&f).map(|r| r.stats().written == n).unwrap_or(false)
    });
    w.signal(libc::SIGKILL);
    assert_eq!(w.must_end(LIMIT).signal(), Some(libc::SIGKILL));
    drop(stdin);
    let out = rl(&["dump", "--json", s(&f)]).ok();
    let recs = out.json();
    assert_eq!(recs.len() as u64, n);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(u(r, "seq"), i as u64);
        assert_eq!(r["data"].as_str().unwrap().as_bytes(), rec(i as u64));
    }
}

#[test]
fn dump_after_writer_killed_mid_record() {
    let dir = tmp();
    let f = dir.path().join("crash.ring");
    Ring::open_file(&f, 64 * 1024).expect("create");
    // A writer that committed 50 records and then died inside the 51st.
    let mut child = spawn_child(&format!("mid-record:{}:50", s(&f)));
    eventually(LIMIT, "the child to claim record 50", || {
        Ring::open_existing(&f).map(|r| r.stats().written == 51).unwrap_or(false)
    });
    child.signal(libc::SIGKILL);
    assert_eq!(child.must_end(LIMIT).signal(), Some(libc::SIGKILL));

    // Every committed record, whole, and promptly: the writer is dead, so
    // its record is not "still being written".
    let out = rl(&["dump", "--json", s(&f)]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    no_panic(&out.stderr);
    let recs = out.json();
    let seqs: Vec<u64> = recs.iter().map(|r| u(r, "seq")).collect();
    assert_eq!(seqs, (0..50).collect::<Vec<_>>(), "{out:?}");
    for r in &recs {
        assert_eq!(r["data"].as_str().unwrap().as_bytes(), rec(u(r, "seq")));
    }
    // (Checked at the end, after the rest of the test ran.)
    let mut problems = Vec::new();
    if out.stderr.contains("still being written") || out.took >= Duration::from_secs(2) {
        problems.push(format!("dump took {:?} and said {:?}", out.took, out.stderr));
    }

    // -n counts seqs: the last 3 are 48, 49 and the dead 50 (reported lost).
    let out = rl(&["tail", "-n", "3", s(&f)]);
    if out.lines() != ["rec 0048", "rec 0049"] || !out.stderr.contains("ringlog: lost 1 records") {
        problems.push(format!("tail -n 3 printed {:?} and said {:?}", out.lines(), out.stderr));
    }
    if out.stderr.contains("still being written") || out.took >= Duration::from_secs(2) {
        problems.push(format!("tail took {:?} and said {:?}", out.took, out.stderr));
    }

    // Writing goes on after the crash, with a later seq.
    rl(&["write", s(&f), "after", "the", "crash"]).ok();
    let last = rl(&["dump", "--json", "--last", "1", s(&f)]).ok().json();
    assert_eq!(last[0]["data"], "after the crash\n");
    assert!(u(&last[0], "seq") >= 50);
    // The dead record is accounted for: read + lost == written.
    let out = rl(&["dump", "--json", s(&f)]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let recs = out.json();
    let lost: u64 = recs.iter().map(|r| u(r, "lost")).sum();
    assert_eq!(recs.len() as u64 + lost, u(&stat_json(&f), "written"), "{out:?}");

    assert!(
        problems.is_empty(),
        "the ring of a writer killed mid-record (it is dead, its record is not being written):\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------
// tail

#[test]
fn tail_without_follow() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    ring_with(&f, 1024, (0..100).map(rec));
    let oldest = u(&stat_json(&f), "oldest_seq");
    let want = |range: std::ops::Range<u64>| range.map(|i| format!("rec {i:04}")).collect::<Vec<_>>();

    assert_eq!(rl(&["tail", s(&f)]).ok().lines(), want(90..100), "-n defaults to 10");
    assert_eq!(rl(&["tail", "-n", "3", s(&f)]).ok().lines(), want(97..100));
    assert_eq!(rl(&["tail", "--lines", "1", s(&f)]).ok().lines(), want(99..100));
    assert!(rl(&["tail", "-n", "0", s(&f)]).ok().stdout.is_empty());
    assert_eq!(rl(&["tail", "-n", "500", s(&f)]).ok().lines(), want(oldest..100));
    assert_eq!(rl(&["tail", "--from", "oldest", s(&f)]).ok().lines(), want(oldest..100));
    assert!(rl(&["tail", "--from", "newest", s(&f)]).ok().stdout.is_empty());
    assert_eq!(rl(&["tail", "--from", "95", s(&f)]).ok().lines(), want(95..100));
    assert!(rl(&["tail", "--from", "100", s(&f)]).ok().stdout.is_empty());
    assert!(rl(&["tail", "--from", "100000", s(&f)]).ok().stdout.is_empty());
    let out = rl(&["tail", "--from", "10", s(&f)]);
    assert_eq!(out.code(), Some(0));
    assert_eq!(out.stderr_lines(), vec![format!("ringlog: lost {} records", oldest - 10)]);
    assert_eq!(out.lines(), want(oldest..100));
    let j = rl(&["tail", "-n", "2", "--json", s(&f)]).ok().json();
    assert_eq!(j.len(), 2);
    assert_eq!((u(&j[0], "seq"), u(&j[1], "seq")), (98, 99));
    assert_eq!(j[1]["data"], "rec 0099\n");

    // Fewer records than -n: all of them; an empty ring: nothing.
    let g = dir.path().join("few.ring");
    ring_with(&g, 4096, (0..3).map(rec));
    assert_eq!(rl(&["tail", s(&g)]).ok().lines(), want(0..3));
    let e = dir.path().join("empty.ring");
    ring_with(&e, 4096, []);
    assert!(rl(&["tail", s(&e)]).ok().stdout.is_empty());
    assert!(rl(&["dump", s(&e)]).ok().stdout.is_empty());
}

#[test]
fn tail_follow_across_processes_latency_readers_and_close() {
    let dir = tmp();
    let f = dir.path().join("live.ring");
    rl(&["write", s(&f), "ready"]).ok();
    let mut tail = spawn_ringlog(&["tail", "-f", s(&f)], Stdio::null());
    let lines = Lines::of(tail.child.stdout.take().unwrap(), "tail -f");
    assert_eq!(lines.next(LIMIT), "ready");

    // stat from a third process counts tail's reader.
    assert!(u(&stat_json(&f), "readers") >= 1, "a following tail is a reader");

    // Another process writes, one line at a time; tail shows each.
    let mut w = spawn_ringlog(&["write", s(&f)], Stdio::piped());
    let mut feed = w.stdin();
    let mut lat = Vec::new();
    for i in 0..20 {
        let t0 = Instant::now();
        writeln!(feed, "live {i}").unwrap();
        feed.flush().unwrap();
        let (t1, line) = lines.next_at(Duration::from_secs(5));
        assert_eq!(line, format!("live {i}"));
        lat.push(t1 - t0);
        std::thread::sleep(Duration::from_millis(10));
    }
    let max = *lat.iter().max().unwrap();
    let med = median(&mut lat);
    println!("tail -f latency (another process's `ringlog write` to tail's stdout): median {med:?}, max {max:?}");
    assert!(max < Duration::from_millis(500), "tail -f showed a record {max:?} after it was written");
    drop(feed);
    assert_eq!(w.must_end(LIMIT).code(), Some(0));

    // Closing the ring (from this process) ends tail -f with status 0.
    Ring::open_file(&f, 0).unwrap().close().unwrap();
    let st = tail.must_end(Duration::from_secs(5));
    assert_eq!(st.code(), Some(0));
    assert!(lines.rest(Duration::from_millis(100)).is_empty());
    let mut err = String::new();
    tail.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.is_empty(), "{err:?}");
    assert_eq!(stat_json(&f)["closed"], true);

    // tail -f of a ring closed already prints what it retains and ends.
    let out = rl(&["tail", "-f", "-n", "2", s(&f)]).ok();
    assert_eq!(out.lines(), vec!["live 18", "live 19"]);
}

#[test]
fn tail_follow_from_newest_seq_and_oldest() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let ring = ring_with(&f, 64 * 1024, (0..5).map(rec));
    let mut procs = Vec::new();
    let mut outs = Vec::new();
    for from in ["newest", "3", "oldest", "7"] {
        let mut p = spawn_ringlog(&["tail", "-f", "--from", from, s(&f)], Stdio::null());
        outs.push(Lines::of(p.child.stdout.take().unwrap(), &format!("tail -f --from {from}")));
        procs.push(p);
    }
    // The readers exist once stat counts them; then write.
    eventually(LIMIT, "four readers", || u(&stat_json(&f), "readers") == 4);
    for i in 5..9 {
        ring.write(&rec(i)).unwrap();
    }
    let want = |range: std::ops::Range<u64>| range.map(|i| format!("rec {i:04}")).collect::<Vec<_>>();
    // A seq not written yet is waited for.
    for (lines, range) in outs.iter().zip([5..9, 3..9, 0..9, 7..9]) {
        let got: Vec<String> = range.clone().map(|_| lines.next(LIMIT)).collect();
        assert_eq!(got, want(range));
    }
    ring.close().unwrap();
    for p in &mut procs {
        assert_eq!(p.must_end(Duration::from_secs(5)).code(), Some(0));
    }
}

#[test]
fn tail_follow_sigint_exits_0_and_saves_cursor() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let cur = dir.path().join("cursor");
    let ring = ring_with(&f, 64 * 1024, (0..3).map(rec));
    let mut tail = spawn_ringlog(&["tail", "-f", "--json", "--cursor", s(&cur), s(&f)], Stdio::null());
    let lines = Lines::of(tail.child.stdout.take().unwrap(), "tail -f --cursor");
    for i in 0..3 {
        assert_eq!(u(&serde_json::from_str(&lines.next(LIMIT)).unwrap(), "seq"), i);
    }
    ring.write(&rec(3)).unwrap();
    assert_eq!(u(&serde_json::from_str(&lines.next(LIMIT)).unwrap(), "seq"), 3);
    let t0 = Instant::now();
    tail.signal(libc::SIGINT);
    let st = tail.must_end(Duration::from_secs(5));
    assert_eq!(st.code(), Some(0), "tail -f after SIGINT: {st:?}");
    assert!(t0.elapsed() < Duration::from_secs(2), "SIGINT took {:?}", t0.elapsed());
    let mut err = String::new();
    tail.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.is_empty(), "{err:?}");
    assert_eq!(std::fs::read_to_string(&cur).unwrap().trim(), "4");

    // The next run starts there.
    ring.write(&rec(4)).unwrap();
    ring.write(&rec(5)).unwrap();
    let recs = rl(&["tail", "--json", "--cursor", s(&cur), s(&f)]).ok().json();
    assert_eq!(recs.iter().map(|r| (u(r, "seq"), u(r, "lost"))).collect::<Vec<_>>(), vec![(4, 0), (5, 0)]);
    assert_eq!(std::fs::read_to_string(&cur).unwrap().trim(), "6");
}

#[test]
fn tail_follow_lapped_reports_exact_loss() {
    // A tail -f that falls behind (stopped here with SIGSTOP) is lapped: it
    // says how many records it lost, on stderr and in the JSON, and the
    // records it read plus those lost are every record written.
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let ring = ring_with(&f, 1024, (0..5).map(rec));
    let mut tail = spawn_ringlog(&["tail", "-f", "--json", "--from", "oldest", s(&f)], Stdio::null());
    let lines = Lines::of(tail.child.stdout.take().unwrap(), "tail -f");
    let err = drain(tail.child.stderr.take().unwrap());
    for i in 0..5 {
        assert_eq!(u(&serde_json::from_str(&lines.next(LIMIT)).unwrap(), "seq"), i);
    }
    tail.signal(libc::SIGSTOP);
    eventually(LIMIT, "tail to stop", || {
        // The state is the field after `(comm)` in /proc/PID/stat.
        let st = std::fs::read_to_string(format!("/proc/{}/stat", tail.pid())).unwrap_or_default();
        st.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('T'))
    });
    for i in 5..200 {
        ring.write(&rec(i)).unwrap();
    }
    let oldest = ring.stats().oldest_seq;
    tail.signal(libc::SIGCONT);
    let (mut read, mut lost, mut next) = (5u64, 0u64, 5u64);
    while next < 200 {
        let r: Value = serde_json::from_str(&lines.next(LIMIT)).unwrap();
        let (seq, l) = (u(&r, "seq"), u(&r, "lost"));
        assert_eq!(seq, next + l, "{r}");
        assert_eq!(r["data"].as_str().unwrap().as_bytes(), rec(seq));
        next = seq + 1;
        read += 1;
        lost += l;
    }
    assert_eq!(read + lost, 200);
    assert_eq!(lost, oldest - 5, "lapped once, while stopped");
    ring.close().unwrap();
    assert_eq!(tail.must_end(Duration::from_secs(5)).code(), Some(0));
    let err = String::from_utf8(err.recv_timeout(LIMIT).unwrap()).unwrap();
    assert_eq!(err, format!("ringlog: lost {lost} records\n"));
}

#[test]
fn tail_follow_sigterm_and_sighup_exit_0() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    ring_with(&f, 4096, (0..3).map(rec));
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        let cur = dir.path().join(format!("cursor{sig}"));
        let mut tail = spawn_ringlog(&["tail", "-f", "--cursor", s(&cur), s(&f)], Stdio::null());
        let lines = Lines::of(tail.child.stdout.take().unwrap(), "tail -f");
        assert_eq!(lines.next(LIMIT), "rec 0000");
        assert_eq!(lines.next(LIMIT), "rec 0001");
        assert_eq!(lines.next(LIMIT), "rec 0002");
        tail.signal(sig);
        assert_eq!(tail.must_end(Duration::from_secs(5)).code(), Some(0), "tail -f after signal {sig}");
        assert_eq!(std::fs::read_to_string(&cur).unwrap(), "3\n");
    }
}

#[test]
fn tail_cursor_resume_reports_exact_losses() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let cur = dir.path().join("cursor");
    let ring = ring_with(&f, 1024, (0..10).map(rec));
    let mut seen: Vec<u64> = Vec::new();
    let mut lost_total = 0;
    let mut run = |expect_lost: Option<u64>| {
        let out = rl(&["tail", "--json", "--cursor", s(&cur), s(&f)]);
        assert_eq!(out.code(), Some(0), "{out:?}");
        let recs = out.json();
        let lost: u64 = recs.iter().map(|r| u(r, "lost")).sum();
        match expect_lost {
            Some(0) | None => assert!(out.stderr.is_empty(), "{out:?}"),
            Some(n) => assert_eq!(out.stderr_lines(), vec![format!("ringlog: lost {n} records")]),
        }
        if let Some(n) = expect_lost {
            assert_eq!(lost, n, "{out:?}");
            if n > 0 {
                assert_eq!(u(&recs[0], "lost"), n, "the first record after the gap carries it");
            }
        }
        for r in &recs {
            assert_eq!(r["data"].as_str().unwrap().as_bytes(), rec(u(r, "seq")));
        }
        seen.extend(recs.iter().map(|r| u(r, "seq")));
        lost_total += lost;
        recs.len()
    };

    // First run: no cursor file yet: from the oldest record.
    assert_eq!(run(Some(0)), 10);
    assert_eq!(std::fs::read_to_string(&cur).unwrap(), "10\n");
    // Nothing new: nothing printed.
    assert_eq!(run(Some(0)), 0);
    // A few: exactly those.
    for i in 10..15 {
        ring.write(&rec(i)).unwrap();
    }
    assert_eq!(run(Some(0)), 5);
    // Far more than the ring holds between two runs: the evicted ones are
    // reported as lost, exactly.
    for i in 15..115 {
        ring.write(&rec(i)).unwrap();
    }
    let oldest = ring.stats().oldest_seq;
    assert!(oldest > 15);
    assert_eq!(run(Some(oldest - 15)), (115 - oldest) as usize);
    assert_eq!(run(Some(0)), 0);

    // No record twice, and read + lost == written.
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted, seen, "a record printed twice: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seen.len() as u64 + lost_total, 115);
    assert_eq!(std::fs::read_to_string(&cur).unwrap().trim(), "115");
}

#[test]
fn tail_cursor_runs_while_another_process_writes() {
    // Successive `tail --cursor` runs while a writer goes on: together they
    // print every record once, or report it lost.
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let cur = dir.path().join("cursor");
    Ring::open_file(&f, 4096).unwrap();
    let mut w = spawn_ringlog(&["write", s(&f)], Stdio::piped());
    let mut feed = w.stdin();
    let writer = std::thread::spawn(move || {
        for i in 0..3000u64 {
            feed.write_all(&rec(i)).unwrap();
            if i % 50 == 0 {
                feed.flush().unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    let mut next = 0u64;
    let mut read = 0u64;
    let mut lost = 0u64;
    let mut runs = 0;
    loop {
        let done = writer.is_finished();
        let out = rl(&["tail", "--json", "--cursor", s(&cur), s(&f)]);
        assert_eq!(out.code(), Some(0), "{out:?}");
        for r in out.json() {
            let (seq, l) = (u(&r, "seq"), u(&r, "lost"));
            assert_eq!(seq, next + l, "a gap not reported, or a duplicate: {r} after {next}");
            assert_eq!(r["data"].as_str().unwrap().as_bytes(), rec(seq));
            next = seq + 1;
            read += 1;
            lost += l;
        }
        runs += 1;
        if done {
            break;
        }
    }
    writer.join().unwrap();
    assert_eq!(w.must_end(LIMIT).code(), Some(0));
    let out = rl(&["tail", "--json", "--cursor", s(&cur), s(&f)]).ok();
    for r in out.json() {
        let (seq, l) = (u(&r, "seq"), u(&r, "lost"));
        assert_eq!(seq, next + l);
        next = seq + 1;
        read += 1;
        lost += l;
    }
    assert_eq!(next, 3000);
    assert_eq!(read + lost, 3000, "read {read} + lost {lost} over {runs} runs");
}

#[test]
fn tail_cursor_ahead_and_corrupt() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let cur = dir.path().join("cursor");
    ring_with(&f, 4096, (0..5).map(rec));

    // A cursor from an older, longer ring: warn, start at the oldest.
    std::fs::write(&cur, "1000\n").unwrap();
    let out = rl(&["tail", "--cursor", s(&cur), s(&f)]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.stderr_lines().len(), 1, "{out:?}");
    assert!(out.stderr.starts_with("ringlog: ") && out.stderr.contains("cursor"), "{out:?}");
    assert_eq!(out.lines(), (0..5).map(|i| format!("rec {i:04}")).collect::<Vec<_>>());
    assert_eq!(std::fs::read_to_string(&cur).unwrap().trim(), "5");

    for bad in ["garbage\n", "-3\n", "12abc", "", "99999999999999999999999\n"] {
        std::fs::write(&cur, bad).unwrap();
        let out = rl(&["tail", "--cursor", s(&cur), s(&f)]);
        out.one_line_error();
        assert!(out.stdout.is_empty());
        assert_eq!(std::fs::read(&cur).unwrap(), bad.as_bytes(), "a corrupt cursor is left as it is");
    }
    // A cursor that is a directory.
    let out = rl(&["tail", "--cursor", s(dir.path()), s(&f)]);
    out.one_line_error();
}

// ---------------------------------------------------------------------------
// stat

#[test]
fn stat_text_and_json() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let ring = ring_with(&f, 1024, (0..100).map(rec));
    let per = record_size(9) as u64;
    let retained = 1024 / per;

    let j = stat_json(&f);
    assert_eq!(j["file"], s(&f));
    assert_eq!(u(&j, "capacity"), 1024);
    assert_eq!(u(&j, "max_record"), 256);
    assert_eq!(u(&j, "written"), 100);
    assert_eq!(u(&j, "retained"), retained);
    assert_eq!(u(&j, "oldest_seq"), 100 - retained);
    assert_eq!(u(&j, "bytes_used"), retained * per);
    assert_eq!(u(&j, "dropped"), 0);
    assert_eq!(u(&j, "readers"), 0);
    assert_eq!(j["closed"], false);
    assert_eq!(u(&j, "format_version"), u64::from(ringbuf_core::FORMAT_VERSION));
    for k in ["wakeups", "reaped", "recoveries"] {
        u(&j, k);
    }
    // Its records are what dump prints.
    assert_eq!(rl(&["dump", s(&f)]).ok().lines().len() as u64, retained);

    // The text form: `name value` lines, the same fields and values.
    let reader = ring.reader(Start::Oldest).unwrap(); // a reader in this process
    let out = rl(&["stat", s(&f)]).ok();
    let text: BTreeMap<String, String> = out
        .lines()
        .iter()
        .map(|l| {
            let (k, v) = l.split_once(char::is_whitespace).unwrap_or_else(|| panic!("not `name value`: {l:?}"));
            (k.to_string(), v.trim().to_string())
        })
        .collect();
    let j = stat_json(&f);
    let obj = j.as_object().unwrap();
    let text_keys: BTreeSet<&String> = text.keys().collect();
    assert_eq!(text_keys, obj.keys().collect::<BTreeSet<_>>(), "stat's text and JSON fields");
    for (k, v) in obj {
        if k == "recoveries" {
            continue; // each opener alone with the file may count one
        }
        let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        assert_eq!(text[k], v, "stat text vs json: {k}");
    }
    assert_eq!(text["readers"], "1");
    drop(reader);

    ring.close().unwrap();
    let j = stat_json(&f);
    assert_eq!(j["closed"], true);
    assert_eq!(u(&j, "readers"), 0);
    // stat does not reopen a closed ring.
    assert_eq!(stat_json(&f)["closed"], true);
}

// ---------------------------------------------------------------------------
// write

#[test]
fn write_arguments_and_stdin() {
    let dir = tmp();
    let f = dir.path().join("new.ring");
    // Arguments: one record, joined by spaces, with a newline; the file is
    // created with the default capacity.
    rl(&["write", s(&f), "hello", "big", "wide world", ""]).ok();
    let j = stat_json(&f);
    assert_eq!(u(&j, "capacity"), 1 << 20);
    assert_eq!(u(&j, "written"), 1);
    // Stdin: one record a line, newline kept; an empty line is an (almost
    // empty) record; a last line without a newline is a record as it is.
    rl_in(&["write", s(&f)], b"one\ntwo \xc3\xa9\n\nlast").ok();
    let recs = rl(&["dump", "--json", s(&f)]).ok().json();
    let data: Vec<&str> = recs.iter().map(|r| r["data"].as_str().unwrap()).collect();
    assert_eq!(data, vec!["hello big wide world \n", "one\n", "two \u{e9}\n", "\n", "last"]);
    assert_eq!(recs.iter().map(|r| u(r, "seq")).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    // No input: nothing written.
    rl_in(&["write", s(&f)], b"").ok();
    assert_eq!(u(&stat_json(&f), "written"), 5);
}

#[test]
fn write_arguments_that_are_not_utf8() {
    // Records are bytes, and so are Unix arguments: a Latin-1 message is
    // written as given (stdin lines are, already).
    use std::os::unix::ffi::OsStrExt;
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let mut c = ringlog_cmd(&["write", s(&f)]);
    c.arg(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    let out = run_cmd(c, None, LIMIT);
    assert_eq!(out.code(), Some(0), "`ringlog write FILE caf\\xe9` refused: {out:?}");
    let recs = rl(&["dump", "--json", s(&f)]).ok().json();
    let b64 = recs[0]["data_base64"].as_str().unwrap();
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).unwrap(), b"caf\xe9\n");
}

#[test]
fn write_splits_long_lines() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    rl(&["write", "--capacity", "1KiB", s(&f), "first"]).ok();
    assert_eq!(u(&stat_json(&f), "max_record"), 256);
    let mut long = vec![b'x'; 600];
    long.extend_from_slice(b"\n");
    let mut exact = vec![b'y'; 255];
    exact.push(b'\n');
    let mut input = long.clone();
    input.extend_from_slice(&exact);
    input.extend_from_slice(b"short\n");
    rl_in(&["write", s(&f)], &input).ok();
    let recs = rl(&["dump", "--json", "--from", "1", s(&f)]).ok().json();
    let data: Vec<String> = recs.iter().map(|r| r["data"].as_str().unwrap().to_string()).collect();
    assert!(data.iter().all(|d| d.len() <= 256), "a record longer than max_record");
    assert_eq!(data.len(), 3 + 1 + 1, "600+1 bytes in 256-byte records, then 256, then short: {data:?}");
    assert_eq!(data[..3].concat().as_bytes(), &long[..]);
    assert_eq!(data[3].as_bytes(), &exact[..]);
    assert_eq!(data[4], "short\n");

    // As arguments: too large for one record is an error, not a crash.
    let big = "z".repeat(300);
    let out = rl(&["write", s(&f), &big]);
    out.one_line_error();
}

#[test]
fn write_capacity() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    rl(&["write", "--capacity", "64KiB", s(&f), "hi"]).ok();
    let j = stat_json(&f);
    assert_eq!(u(&j, "capacity"), 64 * 1024);
    assert_eq!(u(&j, "max_record"), 16 * 1024);
    // Same capacity again: fine; none: fine.
    rl(&["write", "--capacity", "65536", s(&f), "again"]).ok();
    rl(&["write", s(&f), "and again"]).ok();
    // Another: one line, status 1, nothing written.
    let out = rl(&["write", "--capacity", "1MiB", s(&f), "no"]);
    out.one_line_error();
    let out = rl_in(&["write", "--capacity", "4K", s(&f)], b"no\n");
    out.one_line_error();
    assert_eq!(u(&stat_json(&f), "written"), 3);
    // Rounded up, never down.
    let g = dir.path().join("b.ring");
    rl(&["write", "--capacity", "3000", s(&g), "x"]).ok();
    let cap = u(&stat_json(&g), "capacity");
    assert!((3000..=8192).contains(&cap), "capacity {cap} for --capacity 3000");
    // Lower case and short units.
    let h = dir.path().join("c.ring");
    rl(&["write", "--capacity", "2m", s(&h), "x"]).ok();
    assert_eq!(u(&stat_json(&h), "capacity"), 2 << 20);
}

#[test]
fn write_reopens_a_closed_ring() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let ring = ring_with(&f, 4096, (0..3).map(rec));
    ring.close().unwrap();
    drop(ring);
    assert_eq!(stat_json(&f)["closed"], true);
    // dump and tail leave it closed.
    rl(&["dump", s(&f)]).ok();
    rl(&["tail", s(&f)]).ok();
    assert_eq!(stat_json(&f)["closed"], true);
    // write opens it again: the next run, seqs going on.
    rl(&["write", s(&f), "next", "run"]).ok();
    let j = stat_json(&f);
    assert_eq!(j["closed"], false);
    assert_eq!(u(&j, "written"), 4);
    let last = rl(&["dump", "--json", "--last", "1", s(&f)]).ok().json();
    assert_eq!((u(&last[0], "seq"), last[0]["data"].as_str().unwrap()), (3, "next run\n"));
    // And run as well.
    Ring::open_file(&f, 0).unwrap().close().unwrap();
    let out = run_cmd(ringlog_cmd(&["run", s(&f), "--", "echo", "from run"]), None, LIMIT);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let last = rl(&["dump", "--json", "--last", "1", s(&f)]).ok().json();
    assert_eq!((u(&last[0], "seq"), last[0]["data"].as_str().unwrap()), (4, "from run\n"));
}

// ---------------------------------------------------------------------------
// run

fn sh_run(f: &Path, extra: &[&str], script: &str) -> Out {
    let mut args = vec!["run", s(f)];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "-c", script]);
    run_cmd(ringlog_cmd(&args), None, LIMIT)
}

fn ring_data(f: &Path) -> Vec<String> {
    rl(&["dump", "--json", s(f)]).ok().json().iter().map(|r| r["data"].as_str().unwrap().to_string()).collect()
}

#[test]
fn run_exit_status() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    for (script, code) in
        [("true", 0), ("exit 3", 3), ("exit 255", 255), ("kill -9 $$", 128 + 9), ("kill -TERM $$", 128 + 15)]
    {
        let out = sh_run(&f, &[], script);
        assert_eq!(out.code(), Some(code), "ringlog run -- sh -c '{script}': {out:?}");
        assert!(out.stderr.is_empty(), "{out:?}");
    }
    // A command that cannot be started: one line, not success.
    let out = run_cmd(ringlog_cmd(&["run", s(&f), "--", "/no/such/program"]), None, LIMIT);
    assert_ne!(out.code(), Some(0));
    assert_eq!(out.stderr_lines().len(), 1, "{out:?}");
    assert!(out.stderr.starts_with("ringlog: "));
    no_panic(&out.stderr);
    // No command.
    rl(&["run", s(&f)]).one_line_error();
    rl(&["run", s(&f), "--"]).one_line_error();
}

#[test]
fn run_passes_through_and_captures() {
    let dir = tmp();
    let f = dir.path().join("new.ring");
    let out =
        sh_run(&f, &["--capacity", "16KiB"], "echo out1; echo err1 >&2; echo out2; echo err2 >&2; printf partial");
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.text(), "out1\nout2\npartial", "stdout passed through as it was");
    assert_eq!(out.stderr, "err1\nerr2\n", "stderr passed through as it was");
    assert_eq!(u(&stat_json(&f), "capacity"), 16 * 1024, "created with --capacity");
    let data = ring_data(&f);
    let mut sorted = data.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["err1\n", "err2\n", "out1\n", "out2\n", "partial"], "each line one record");
    let outs: Vec<&String> = data.iter().filter(|d| !d.starts_with("err")).collect();
    assert_eq!(outs, vec!["out1\n", "out2\n", "partial"]);
    let errs: Vec<&String> = data.iter().filter(|d| d.starts_with("err")).collect();
    assert_eq!(errs, vec!["err1\n", "err2\n"]);

    // Arguments reach the command as given, stdin too.
    let out = run_cmd(
        ringlog_cmd(&["run", s(&f), "--", "sh", "-c", "printf '[%s]' \"$@\"; cat", "sh", "a b", "--capacity", "-x"]),
        Some(b"from stdin\n".to_vec()),
        LIMIT,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.text(), "[a b][--capacity][-x]from stdin\n");
    assert_eq!(ring_data(&f).last().unwrap(), "[a b][--capacity][-x]from stdin\n");
}

#[test]
fn run_captures_lots_of_output_in_order() {
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let n = 100_000;
    let out =
        run_cmd(ringlog_cmd(&["run", "--capacity", "16MiB", s(&f), "--", "seq", "1", &n.to_string()]), None, LIMIT);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let want: String = (1..=n).map(|i| format!("{i}\n")).collect();
    assert!(out.text() == want, "stdout passed through whole and in order");
    let dumped = rl(&["dump", s(&f)]).ok();
    assert!(dumped.text() == want, "every line captured, in order");
    assert_eq!(u(&stat_json(&f), "written"), n);

    // Both streams at once, fast: each in its order.
    let g = dir.path().join("b.ring");
    let out =
        sh_run(&g, &["--capacity", "4MiB"], "i=0; while [ $i -lt 3000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done");
    assert_eq!(out.code(), Some(0));
    let data = ring_data(&g);
    assert_eq!(data.len(), 6000);
    let o: Vec<String> = data.iter().filter(|d| d.starts_with('o')).cloned().collect();
    let e: Vec<String> = data.iter().filter(|d| d.starts_with('e')).cloned().collect();
    assert_eq!(o, (0..3000).map(|i| format!("o{i}\n")).collect::<Vec<_>>());
    assert_eq!(e, (0..3000).map(|i| format!("e{i}\n")).collect::<Vec<_>>());
}

#[test]
fn run_keeps_capturing_when_its_stdout_goes_away() {
    // `ringlog run f -- cmd | head -1`: the pass-through stops, the capture
    // and the command go on, and the command's status is ringlog's.
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let (first, out) =
        head_1(&["run", "--capacity", "4MiB", s(&f), "--", "sh", "-c", "seq 1 50000; echo done >&2; exit 5"], || {});
    assert_eq!(first, "1\n");
    assert_eq!(out.code(), Some(5), "{out:?}");
    assert_eq!(out.stderr, "done\n");
    let data = ring_data(&f);
    assert_eq!(data.len(), 50_001);
    assert!(data.contains(&"done\n".to_string()));
    let outs: Vec<&String> = data.iter().filter(|d| *d != "done\n").collect();
    assert!(outs.iter().enumerate().all(|(i, d)| **d == format!("{}\n", i + 1)), "every stdout line, in order");
}

#[test]
fn run_forwards_sigterm_and_sighup() {
    let dir = tmp();
    for (sig, name) in [(libc::SIGTERM, "TERM"), (libc::SIGHUP, "HUP")] {
        let f = dir.path().join(format!("{name}.ring"));
        let script = format!("trap 'echo got {name}; exit 42' {name}; echo ready; while :; do sleep 0.05; done");
        let mut p = spawn_ringlog(&["run", s(&f), "--", "sh", "-c", &script], Stdio::null());
        let lines = Lines::of(p.child.stdout.take().unwrap(), "ringlog run");
        assert_eq!(lines.next(LIMIT), "ready");
        p.signal(sig);
        let st = p.must_end(Duration::from_secs(5));
        assert_eq!(st.code(), Some(42), "the command's status after its {name} trap: {st:?}");
        assert_eq!(lines.next(LIMIT), format!("got {name}"));
        assert_eq!(ring_data(&f), vec!["ready\n".to_string(), format!("got {name}\n")]);
    }
}

#[test]
fn run_ctrl_c_reaches_the_command() {
    // Ctrl-C at a terminal sends SIGINT to the foreground process group:
    // ringlog and its command. The command must get it (the help says so)
    // and ringlog then exits with its status, 128 + 2.
    let dir = tmp();
    let f = dir.path().join("a.ring");
    let mut c = ringlog_cmd(&["run", s(&f), "--", "sh", "-c", "echo ready; exec sleep 30"]);
    c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut p = spawn(c, "ringlog run -- sleep 30 (own process group)");
    p.group = true;
    let lines = Lines::of(p.child.stdout.take().unwrap(), "ringlog run");
    assert_eq!(lines.next(LIMIT), "ready");
    p.signal_group(libc::SIGINT);
    let st = p.wait_for(Duration::from_secs(5));
    assert!(st.is_some(), "Ctrl-C (SIGINT to the process group) did not stop `ringlog run -- sleep 30`");
    assert_eq!(st.unwrap().code(), Some(130));
}

// ---------------------------------------------------------------------------
// Errors, pipes, help, completions

#[test]
fn errors_are_one_line_and_status_1() {
    let dir = tmp();
    let d = dir.path();
    let good = d.join("good.ring");
    ring_with(&good, 4096, (0..50).map(rec));
    let image = std::fs::read(&good).unwrap();
    let missing = d.join("missing.ring");
    let random = d.join("random.ring");
    let mut bytes = vec![0u8; image.len()];
    let mut x = 0x9e3779b97f4a7c15u64;
    for b in bytes.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    std::fs::write(&random, &bytes).unwrap();
    let truncated = d.join("truncated.ring");
    std::fs::write(&truncated, &image[..image.len() / 2]).unwrap();
    let header_only = d.join("header.ring");
    std::fs::write(&header_only, &image[..2048]).unwrap();
    let empty = d.join("empty.ring");
    std::fs::write(&empty, b"").unwrap();
    let version = d.join("version.ring");
    let mut v = image.clone();
    v[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&version, &v).unwrap();
    let text = d.join("notes.txt");
    std::fs::write(&text, "just some text\n".repeat(2000)).unwrap();
    let bad_files = [&random, &truncated, &header_only, &empty, &version, &text];

    let mut cases: Vec<Vec<String>> = Vec::new();
    let p = |x: &PathBuf| s(x).to_string();
    for cmd in ["dump", "tail", "stat"] {
        cases.push(vec![cmd.into(), p(&missing)]);
        cases.push(vec![cmd.into(), s(d).into()]); // a directory
        for b in bad_files {
            cases.push(vec![cmd.into(), p(b)]);
        }
    }
    for b in bad_files {
        cases.push(vec!["write".into(), p(b), "hi".into()]);
        cases.push(vec!["tail".into(), "-f".into(), p(b)]);
        cases.push(vec!["dump".into(), "--json".into(), p(b)]);
        cases.push(vec!["run".into(), p(b), "--".into(), "true".into()]);
    }
    cases.push(vec!["write".into(), s(&d.join("no/such/dir/x.ring")).into(), "hi".into()]);
    let bad_args: &[&[&str]] = &[
        &["bogus"],
        &["dump"],
        &["dump", "GOOD", "--last", "x"],
        &["dump", "GOOD", "--last", "-1"],
        &["dump", "GOOD", "--from", "oldest"],
        &["dump", "GOOD", "--nonsense"],
        &["dump", "GOOD", "--last", "1", "--from", "2"],
        &["tail", "GOOD", "--from", "bogus"],
        &["tail", "GOOD", "-n", "x"],
        &["tail", "GOOD", "-n", "3", "--from", "1"],
        &["stat", "GOOD", "extra"],
        &["write", "--capacity", "1X", "NEW", "hi"],
        &["write", "--capacity", "12Q", "NEW", "hi"],
        &["write", "--capacity", "KiB", "NEW", "hi"],
        &["write", "--capacity", "100", "NEW", "hi"],
        &["write", "--capacity", "0", "NEW", "hi"],
        &["write", "--capacity", "2TiB", "NEW", "hi"],
        &["write", "--capacity", "99999999999999T", "NEW", "hi"],
        &["run", "--capacity", "1Y", "NEW", "--", "true"],
        &["completions", "tcsh"],
        &["serve", "GOOD", "--listen", "not-an-address"],
    ];
    let new = d.join("new.ring");
    for a in bad_args {
        cases.push(
            a.iter()
                .map(|x| match *x {
                    "GOOD" => p(&good),
                    "NEW" => p(&new),
                    x => x.to_string(),
                })
                .collect(),
        );
    }

    let mut failures = Vec::new();
    for args in &cases {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = rl(&argv);
        let ok = out.code() == Some(1)
            && out.stderr_lines().len() == 1
            && out.stderr.starts_with("ringlog: ")
            && !["panicked", "RUST_BACKTRACE", "internal error"].iter().any(|b| out.stderr.contains(b))
            && out.stdout.is_empty();
        if !ok {
            failures.push(format!("ringlog {}: status {:?}, stderr {:?}", argv.join(" "), out.code(), out.stderr));
        }
    }
    assert!(failures.is_empty(), "not one line + status 1:\n{}", failures.join("\n"));
    assert!(!new.exists(), "a failed write created the file");
    assert!(!missing.exists(), "a reading command created the file");
    // Files that are not rings are left untouched, even by write.
    assert_eq!(std::fs::read(&random).unwrap(), bytes);
    assert_eq!(std::fs::read(&truncated).unwrap(), &image[..image.len() / 2]);
    assert_eq!(std::fs::read(&version).unwrap(), v);
    assert_eq!(std::fs::read(&text).unwrap(), "just some text\n".repeat(2000).as_bytes());
}

#[test]
fn usage_errors_say_what_is_wrong() {
    // The one line must still say what is wrong: here, which argument is
    // missing.
    for (args, want) in [(vec!["dump"], "FILE"), (vec!["tail"], "FILE"), (vec!["write"], "FILE")] {
        let line = rl(&args).one_line_error();
        assert!(line.contains(want), "`ringlog {}` says {line:?}: which argument is missing?", args.join(" "));
    }
}

#[test]
fn corrupt_records_never_crash_or_hang() {
    // A valid header over damaged records: whatever dump makes of it, it
    // ends, without a panic, and any error is one line.
    let dir = tmp();
    let good = dir.path().join("good.ring");
    ring_with(&good, 4096, (0..200).map(rec));
    let image = std::fs::read(&good).unwrap();
    for (i, (at, len, byte)) in
        [(20480 + 100, 300, None), (20480, 64, Some(0xffu8)), (20480 + 1000, 8, Some(0))].into_iter().enumerate()
    {
        let f = dir.path().join(format!("bad{i}.ring"));
        let mut v = image.clone();
        for (k, b) in v[at..at + len].iter_mut().enumerate() {
            *b = byte.unwrap_or((k as u8).wrapping_mul(167).wrapping_add(13));
        }
        std::fs::write(&f, &v).unwrap();
        for args in [vec!["dump", s(&f)], vec!["dump", "--json", s(&f)], vec!["tail", "-n", "50", s(&f)]] {
            let out = rl(&args);
            no_panic(&out.stderr);
            assert!(out.code() == Some(0) || out.code() == Some(1), "{args:?}: {out:?}");
            if out.code() == Some(1) {
                out.one_line_error();
            }
            assert!(out.took < Duration::from_secs(10), "{args:?} took {:?}", out.took);
        }
    }
}

/// Starts `ringlog ARGS`, reads its first line, then closes the pipe (like
/// `| head -1`); returns the first line and the command's result.
fn head_1(args: &[&str], after_close: impl FnOnce()) -> (String, Out) {
    let mut p = spawn_ringlog(args, Stdio::null());
    let out = p.child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(out);
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        let _ = tx.send(line);
        // `r` dropped here: the pipe's read end is closed.
    });
    let first = rx.recv_timeout(LIMIT).expect("a first line");
    after_close();
    let err = drain(p.child.stderr.take().unwrap());
    let start = Instant::now();
    let status = p.must_end(LIMIT);
    let stderr = String::from_utf8_lossy(&err.recv_timeout(LIMIT).unwrap()).into_owned();
    (first, Out { status, stdout: Vec::new(), stderr, took: start.elapsed() })
}

#[test]
fn broken_pipe_exits_quietly() {
    let dir = tmp();
    let f = dir.path().join("big.ring");
    // 1 MiB of records, far more than a pipe holds.
    let ring = ring_with(&f, 1 << 20, (0..40_000).map(rec));
    let oldest = ring.stats().oldest_seq;
    for args in [
        vec!["dump", s(&f)],
        vec!["dump", "--json", s(&f)],
        vec!["tail", "-n", "30000", s(&f)],
        vec!["tail", "--from", "oldest", s(&f)],
    ] {
        let (first, out) = head_1(&args, || {});
        assert!(first.contains(&format!("{oldest:04}")) || args.contains(&"tail"), "{first:?}");
        assert_eq!(out.code(), Some(0), "{args:?} | head -1: {out:?}");
        assert!(out.stderr.is_empty(), "{args:?} | head -1: {out:?}");
    }
    // tail -f notices at its next record.
    let (_, out) = head_1(&["tail", "-f", "-n", "1", s(&f)], || {
        std::thread::sleep(Duration::from_millis(100));
        for i in 0..100 {
            ring.write(&rec(i)).unwrap();
        }
    });
    assert_eq!(out.code(), Some(0), "tail -f | head -1: {out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");

    // As in a shell pipeline.
    let out = run_cmd(
        {
            let mut c = Command::new("bash");
            c.args(["-c", "set -o pipefail; \"$0\" dump \"$1\" | head -1 >/dev/null", BIN, s(&f)]);
            c
        },
        None,
        LIMIT,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn help_everywhere_has_examples() {
    for sub in ["", "dump", "tail", "stat", "write", "run", "serve", "completions"] {
        let mut args: Vec<&str> = if sub.is_empty() { vec![] } else { vec![sub] };
        args.push("--help");
        let out = rl(&args).ok();
        assert!(out.text().contains("Examples"), "ringlog {sub} --help has no Examples:\n{}", out.text());
        assert!(out.text().contains("Usage"), "ringlog {sub} --help");
        if !sub.is_empty() {
            let out = rl(&["help", sub]).ok();
            assert!(out.text().contains("Examples"), "ringlog help {sub}");
        }
    }
    let out = rl(&["--version"]).ok();
    assert!(out.text().starts_with("ringlog "), "{out:?}");
}

#[test]
fn completions_are_scripts() {
    let dir = tmp();
    for shell in ["bash", "zsh", "fish"] {
        let out = rl(&["completions", shell]).ok();
        assert!(out.stdout.len() > 200, "ringlog completions {shell}: {} bytes", out.stdout.len());
        assert!(out.text().contains("ringlog"));
        for sub in ["dump", "tail", "stat", "write", "run", "serve"] {
            assert!(out.text().contains(sub), "{shell} completions lack {sub}");
        }
        let file = dir.path().join(format!("ringlog.{shell}"));
        std::fs::write(&file, &out.stdout).unwrap();
        // The shells there are check the syntax (bash always).
        let check = match shell {
            "bash" => Some(("bash", vec!["-n", s(&file)])),
            "zsh" => Some(("zsh", vec!["-n", s(&file)])),
            _ => Some(("fish", vec!["--no-execute", s(&file)])),
        };
        if let Some((prog, args)) = check {
            let found = Command::new(prog).arg("-c").arg("true").stdout(Stdio::null()).stderr(Stdio::null()).status();
            if found.is_err() {
                assert_ne!(prog, "bash", "bash is needed to check the bash completions");
                continue;
            }
            let mut c = Command::new(prog);
            c.args(&args);
            let res = run_cmd(c, None, LIMIT);
            assert_eq!(res.code(), Some(0), "{prog} rejects the {shell} completions: {res:?}");
        }
    }
    // bash: sourcing it defines the completion.
    let mut c = Command::new("bash");
    c.args(["-c", "source \"$0\" && complete -p ringlog", s(&dir.path().join("ringlog.bash"))]);
    let out = run_cmd(c, None, LIMIT);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.text().contains("ringlog"));
}
