//! `ringlog serve` throughput: records per second delivered over HTTP
//! (`GET /records`, text, chunked) to one client and to 50 concurrent
//! clients, against the ceiling measured in the same run: the same
//! records drained by in-process [`Reader`](ringbuf_core::Reader)s (one,
//! and 50 threads at once).
//!
//! The ring is a file filled with 100-byte records (it laps once, so it
//! is full) and closed: every stream drains it and ends, nothing is lost,
//! and the time is the server's (reader thread, rendering, channel,
//! hyper, loopback TCP) plus the clients' reading. The clients are plain
//! threads on sockets, decoding the chunked body with httparse and
//! counting the records. Runs alternate between the four measurements;
//! each row is the median over the runs with its spread.
//!
//! The `ringlog` binary is `$RINGLOG_BIN` or the one beside this
//! benchmark in the target directory (`cargo build --release -p
//! ringlog-cli`); without it the group prints `NOT RUN` and no rows.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use ringbuf_core::{Error, Ring, Start};

use crate::measure::{Plan, Row, Spread};

/// Bytes per record, its newline included.
const RECORD: usize = 100;

/// Concurrent clients of the many-clients rows.
const CLIENTS: usize = 50;

/// The `ringlog` binary to serve with, if it is built.
fn ringlog_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RINGLOG_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.join("ringlog");
    p.exists().then_some(p)
}

/// A running `ringlog serve`, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(bin: &Path, ring: &Path) -> Server {
        let mut child = Command::new(bin)
            .args(["serve", ring.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ringlog serve");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        let addr = line
            .trim_end()
            .rsplit_once("http://")
            .and_then(|(_, a)| a.strip_suffix('/'))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("ringlog serve said {line:?}"));
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A ring file of `cap` bytes, written full (one lap and more) of
/// [`RECORD`]-byte records, then closed; the records it retains.
fn filled_ring(path: &Path, cap: usize) -> u64 {
    let _ = std::fs::remove_file(path);
    let ring = Ring::open_file(path, cap).unwrap();
    let mut rec = vec![b'x'; RECORD];
    rec[RECORD - 1] = b'\n';
    let per_lap = cap / ringbuf_core::record_size(RECORD);
    for i in 0..per_lap + per_lap / 4 {
        let seq = format!("{i:012}");
        rec[..12].copy_from_slice(seq.as_bytes());
        ring.write(&rec).unwrap();
    }
    ring.close().unwrap();
    let s = ring.stats();
    s.written - s.oldest_seq
}

/// One client: GET /records (from the oldest), the chunked body decoded
/// and its records counted to the end: (records, payload bytes, when it
/// sent the request, when the stream ended).
fn client(addr: SocketAddr, start: &Barrier) -> (u64, u64, Instant, Instant) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    start.wait();
    let t = Instant::now();
    write!(s, "GET /records HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut d = Dechunk::default();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        d.feed(&buf[..n]);
    }
    assert!(d.done, "the stream ended without its closing chunk");
    (d.records, d.bytes, t, Instant::now())
}

/// An incremental decoder of a response with a chunked body: counts the
/// body's bytes and lines.
#[derive(Default)]
struct Dechunk {
    state: State,
    /// The start of a head or chunk header cut by the end of a read.
    pending: Vec<u8>,
    done: bool,
    records: u64,
    bytes: u64,
}

#[derive(Default, Clone, Copy)]
enum State {
    /// The response's head.
    #[default]
    Head,
    /// A chunk-size line.
    Size,
    /// Inside a chunk: bytes left.
    Data(usize),
    /// The CRLF after a chunk.
    Crlf,
}

impl Dechunk {
    fn feed(&mut self, input: &[u8]) {
        let joined;
        let mut data = if self.pending.is_empty() {
            input
        } else {
            self.pending.extend_from_slice(input);
            joined = std::mem::take(&mut self.pending);
            &joined[..]
        };
        while !data.is_empty() && !self.done {
            match self.state {
                State::Head => match data.windows(4).position(|w| w == b"\r\n\r\n") {
                    Some(i) => {
                        assert!(data.starts_with(b"HTTP/1.1 200"), "not a 200");
                        data = &data[i + 4..];
                        self.state = State::Size;
                    }
                    None => break,
                },
                State::Size => match httparse::parse_chunk_size(data) {
                    Ok(httparse::Status::Complete((_, 0))) => self.done = true,
                    Ok(httparse::Status::Complete((used, size))) => {
                        data = &data[used..];
                        self.state = State::Data(size as usize);
                    }
                    Ok(httparse::Status::Partial) => break,
                    Err(e) => panic!("bad chunk framing: {e:?}"),
                },
                State::Data(left) => {
                    let n = left.min(data.len());
                    self.records += data[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                    self.bytes += n as u64;
                    data = &data[n..];
                    self.state = if n == left { State::Crlf } else { State::Data(left - n) };
                }
                State::Crlf => {
                    if data.len() < 2 {
                        break;
                    }
                    assert_eq!(&data[..2], b"\r\n");
                    data = &data[2..];
                    self.state = State::Size;
                }
            }
        }
        self.pending = data.to_vec();
    }
}

/// Records per second over threads that each returned (records,
/// started, ended): from the first start to the last end.
fn aggregate(runs: impl IntoIterator<Item = (u64, Instant, Instant)>) -> f64 {
    let (mut total, mut first, mut last) = (0u64, None::<Instant>, None::<Instant>);
    for (n, t0, t1) in runs {
        total += n;
        first = Some(first.map_or(t0, |f| f.min(t0)));
        last = Some(last.map_or(t1, |l| l.max(t1)));
    }
    match (first, last) {
        (Some(f), Some(l)) => total as f64 / (l - f).as_secs_f64(),
        _ => f64::NAN,
    }
}

/// `clients` clients at once; records per second over all of them.
fn over_http(addr: SocketAddr, clients: usize, retained: u64) -> f64 {
    let start = Arc::new(Barrier::new(clients));
    let hs: Vec<_> = (0..clients)
        .map(|_| {
            let start = start.clone();
            thread::spawn(move || client(addr, &start))
        })
        .collect();
    aggregate(hs.into_iter().map(|h| {
        let (records, bytes, t0, t1) = h.join().unwrap();
        assert_eq!((records, bytes), (retained, retained * RECORD as u64), "every record, nothing lost");
        (records, t0, t1)
    }))
}

/// How long each in-process reader thread drains (the ring again and
/// again, a new reader each time): one drain takes a few ms.
const DRAIN_FOR: Duration = Duration::from_millis(100);

/// `readers` threads at once draining the ring with in-process readers
/// (the ceiling); records per second over all of them.
fn in_process(ring: &Ring, readers: usize, retained: u64) -> f64 {
    let start = Arc::new(Barrier::new(readers));
    let hs: Vec<_> = (0..readers)
        .map(|_| {
            let ring = ring.clone();
            let start = start.clone();
            thread::spawn(move || {
                let mut buf = vec![0u8; 4096];
                start.wait();
                let t = Instant::now();
                let mut n = 0u64;
                while n == 0 || t.elapsed() < DRAIN_FOR {
                    let mut rd = ring.reader(Start::Oldest).unwrap();
                    let mut k = 0;
                    loop {
                        match rd.next_into(&mut buf, None) {
                            Ok(info) => {
                                assert_eq!(info.lost, 0);
                                k += 1;
                            }
                            Err(Error::Closed) => break,
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                    assert_eq!(k, retained);
                    n += k;
                }
                (n, t, Instant::now())
            })
        })
        .collect();
    aggregate(hs.into_iter().map(|h| h.join().unwrap()))
}

/// The group's rows (none, with a note, when `ringlog` is not built).
pub fn rows(plan: Plan, quick: bool) -> Vec<Row> {
    let Some(bin) = ringlog_bin() else {
        println!("serve: NOT RUN: no ringlog binary beside the benchmark (cargo build --release -p ringlog-cli) and no $RINGLOG_BIN");
        return Vec::new();
    };
    let cap = if quick { 4 << 20 } else { 16 << 20 };
    let repeats = plan.repeats.max(5);
    let path = std::env::temp_dir().join(format!("ringlog-bench-{}-serve.ring", std::process::id()));
    let retained = filled_ring(&path, cap);
    let ring = Ring::open_existing(&path).unwrap();
    let server = Server::start(&bin, &path);
    let (mut base1, mut http1, mut base_n, mut http_n) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    over_http(server.addr, 1, retained); // warm: the file's pages, the server's threads
    for _ in 0..repeats {
        base1.push(in_process(&ring, 1, retained));
        http1.push(over_http(server.addr, 1, retained));
        base_n.push(in_process(&ring, CLIENTS, retained));
        http_n.push(over_http(server.addr, CLIENTS, retained));
    }
    drop(server);
    drop(ring);
    let _ = std::fs::remove_file(&path);
    let (base1, http1, base_n, http_n) =
        (Spread::of(&mut base1), Spread::of(&mut http1), Spread::of(&mut base_n), Spread::of(&mut http_n));
    let row = |name: String, s: Spread, baseline: Option<(&str, f64)>, threads| Row {
        group: "serve",
        name,
        size: RECORD,
        ring: cap,
        value: s.median,
        unit: "records/s",
        baseline: baseline.map(|(n, v)| (n.to_owned(), v)),
        threads: Some(threads),
        spread: Some(s),
        ..Default::default()
    };
    let rows = vec![
        row("in-process Reader draining the ring (ceiling)".into(), base1, None, 1),
        row("GET /records, 1 client".into(), http1, Some(("in-process Reader", base1.median)), 1),
        row(format!("{CLIENTS} in-process Readers at once, total (ceiling)"), base_n, None, CLIENTS),
        row(
            format!("GET /records, {CLIENTS} clients at once, total"),
            http_n,
            Some((&format!("{CLIENTS} in-process Readers"), base_n.median)),
            CLIENTS,
        ),
    ];
    println!("serve: {retained} records of {RECORD} bytes per stream, {repeats} runs each (median, min-max):");
    for r in &rows {
        let s = r.spread.unwrap();
        println!("  {:58} {:>12.0} records/s  ({:.0}-{:.0})", r.name, s.median, s.min, s.max);
    }
    rows
}
