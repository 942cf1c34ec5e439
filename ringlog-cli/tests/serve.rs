//! End-to-end tests of `ringlog serve`: the binary serving a ring file
//! that this process writes (`Ring::open_file`), read by HTTP clients
//! (hyper's client; raw sockets where a client must misbehave, with
//! httparse for the chunked framing). Every wait is bounded (a watchdog
//! per test) and every server is killed when its test ends.
//!
//! Run with `--nocapture` to see the measured numbers (latency, the
//! writer's rate with a stalled client, the bytes held for it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ringbuf_core::{Error, Ring, Start};
use tokio::net::TcpStream;

/// Each test's bound.
const WATCHDOG: Duration = Duration::from_secs(60);

// ---- the server ---------------------------------------------------------------

/// A ring file in the temp directory, removed on drop.
struct TempRing(PathBuf);

impl TempRing {
    fn new(tag: &str) -> TempRing {
        let p = std::env::temp_dir().join(format!("ringlog-serve-test-{}-{tag}.ring", std::process::id()));
        let _ = std::fs::remove_file(&p);
        TempRing(p)
    }
    fn create(&self, capacity: usize) -> Ring {
        Ring::open_file(&self.0, capacity).expect("create the ring file")
    }
}

impl Drop for TempRing {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A running `ringlog serve`, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// What it printed on stderr after the first line.
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(path: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringlog"))
            .args(["serve", path.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ringlog serve");
        let err = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let rest = stderr.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(err);
            let mut first = String::new();
            let _ = r.read_line(&mut first);
            let _ = tx.send(first);
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            rest.lock().unwrap().push_str(&s);
        });
        let line = rx.recv_timeout(Duration::from_secs(15)).expect("ringlog serve said nothing");
        let addr: SocketAddr = line
            .trim_end()
            .strip_prefix(&format!("ringlog: serving {} on http://", path.display()))
            .and_then(|s| s.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .expect("an address");
        assert!(addr.ip().is_loopback());
        Server { child, addr, stderr }
    }

    /// Waits (bounded) for the server to exit; its status.
    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(t.elapsed() < within, "ringlog serve did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a test body with the watchdog.
async fn bounded<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(WATCHDOG, f).await.expect("the test's watchdog fired");
}

/// Waits (bounded) until `f` holds.
async fn eventually(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---- an HTTP client -------------------------------------------------------------

/// GET `path` on a new connection; the response with its streaming body.
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response<Incoming> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = Request::get(path).header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send.send_request(req.body(Empty::<Bytes>::new()).unwrap()).await.expect("response")
}

/// A whole (short) response body as text.
async fn body_text(resp: Response<Incoming>) -> String {
    let bytes = resp.into_body().collect().await.expect("a whole body").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

fn content_type(resp: &Response<Incoming>) -> &str {
    resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Lines of a streaming body.
struct Lines {
    body: Incoming,
    buf: Vec<u8>,
    pos: usize,
}

/// How a stream ended: cleanly (the closing chunk) or cut.
#[derive(Debug, PartialEq)]
enum StreamEnd {
    Clean,
    Cut(String),
}

impl Lines {
    fn new(resp: Response<Incoming>) -> Lines {
        Lines { body: resp.into_body(), buf: Vec::new(), pos: 0 }
    }

    /// The next line without its `\n`; `Err` at the end of the stream.
    async fn next(&mut self) -> Result<String, StreamEnd> {
        loop {
            if let Some(i) = self.buf[self.pos..].iter().position(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(&self.buf[self.pos..self.pos + i]).into_owned();
                self.pos += i + 1;
                return Ok(line);
            }
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            match self.body.frame().await {
                None if self.buf.is_empty() => return Err(StreamEnd::Clean),
                None => return Err(StreamEnd::Cut(format!("a partial line at the end: {:?}", self.buf))),
                Some(Ok(f)) => {
                    if let Ok(d) = f.into_data() {
                        self.buf.extend_from_slice(&d);
                    }
                }
                Some(Err(e)) => return Err(StreamEnd::Cut(e.to_string())),
            }
        }
    }
}

/// One server-sent event.
#[derive(Debug, Default, PartialEq)]
struct Event {
    id: Option<u64>,
    /// The event type (`message` when none was given).
    kind: String,
    data: String,
}

/// The next event of an event stream (the SSE parsing rules, for the
/// fields the server sends).
async fn next_event(lines: &mut Lines) -> Result<Event, StreamEnd> {
    let mut ev = Event::default();
    let mut data: Vec<String> = Vec::new();
    loop {
        let line = lines.next().await?;
        if line.is_empty() {
            if data.is_empty() && ev.kind.is_empty() {
                continue;
            }
            if ev.kind.is_empty() {
                ev.kind = "message".into();
            }
            ev.data = data.join("\n");
            return Ok(ev);
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "id" => ev.id = Some(value.parse().expect("a numeric id")),
            "event" => ev.kind = value.to_string(),
            "data" => data.push(value.to_string()),
            "" => {} // a comment
            other => panic!("unexpected field {other:?}"),
        }
    }
}

// ---- records the tests write ------------------------------------------------------

/// The record with seq `seq` in these tests: its seq, then filler.
fn record(seq: u64) -> String {
    format!("{seq:08} {}", "x".repeat(60 + (seq % 40) as usize))
}

fn check_record(seq: u64, data: &str) {
    assert_eq!(data, record(seq), "record {seq} arrived changed");
}

/// What a client saw of a stream: records (all checked, in seq order,
/// gaps = losses reported) and the losses.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    read: u64,
    lost: u64,
    next: u64,
}

impl Tally {
    fn starting_at(seq: u64) -> Tally {
        Tally { read: 0, lost: 0, next: seq }
    }
    /// A record arrived, `lost` reported just before it.
    fn record(&mut self, seq: u64, lost: u64) {
        assert_eq!(seq, self.next + lost, "record {seq} after {} lost, expected {}", lost, self.next + lost);
        self.read += 1;
        self.lost += lost;
        self.next = seq + 1;
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Text,
    Json,
    Sse,
}

impl Kind {
    fn query(self) -> &'static str {
        match self {
            Kind::Json => "&format=json",
            _ => "",
        }
    }
    fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Sse => &[("accept", "text/event-stream")],
            _ => &[],
        }
    }
}

/// Opens `/records?from=SEQ` of the given kind; its lines.
async fn open_stream(addr: SocketAddr, kind: Kind, from: u64) -> Lines {
    let resp = get(addr, &format!("/records?from={from}{}", kind.query()), kind.headers()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let want = match kind {
        Kind::Text => "text/plain; charset=utf-8",
        Kind::Json => "application/x-ndjson",
        Kind::Sse => "text/event-stream",
    };
    assert_eq!(content_type(&resp), want);
    Lines::new(resp)
}

/// Reads a stream of records written by [`record`] to its end, checking
/// every record; the tally and how it ended (an SSE stream must have said
/// `event: end` before a clean end).
async fn follow(mut lines: Lines, kind: Kind, from: u64) -> (Tally, StreamEnd) {
    let mut t = Tally::starting_at(from);
    let mut pending_lost = 0;
    loop {
        match kind {
            Kind::Text => match lines.next().await {
                Ok(line) => {
                    if let Some(n) = line.strip_prefix("ringlog: lost ").and_then(|s| s.strip_suffix(" records")) {
                        pending_lost += n.parse::<u64>().expect("a count");
                        continue;
                    }
                    let seq: u64 = line[..8].parse().expect("a seq");
                    check_record(seq, &line);
                    t.record(seq, std::mem::take(&mut pending_lost));
                }
                Err(end) => return (t, end),
            },
            Kind::Json => match lines.next().await {
                Ok(line) => {
                    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
                    let seq = v["seq"].as_u64().unwrap();
                    check_record(seq, v["data"].as_str().unwrap());
                    t.record(seq, v["lost"].as_u64().unwrap());
                }
                Err(end) => return (t, end),
            },
            Kind::Sse => match next_event(&mut lines).await {
                Ok(ev) if ev.kind == "lost" => pending_lost += ev.data.parse::<u64>().expect("a count"),
                Ok(ev) if ev.kind == "end" => {
                    assert_eq!(ev.data, "closed");
                    let end = lines.next().await.expect_err("nothing after event: end");
                    return (t, end);
                }
                Ok(ev) => {
                    assert_eq!(ev.kind, "message");
                    let seq = ev.id.expect("an id");
                    check_record(seq, &ev.data);
                    t.record(seq, std::mem::take(&mut pending_lost));
                }
                Err(end) => return (t, StreamEnd::Cut(format!("SSE stream without event: end ({end:?})"))),
            },
        }
    }
}

// ---- (a) many concurrent clients --------------------------------------------------

/// 50 clients (text, JSON and SSE) follow a ring while it is written
/// faster than most of them read (a 64 KiB ring): each sees every record
/// in order, whole, each gap reported, read + lost = written, and every
/// stream ends cleanly when the ring is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_every_record_or_its_loss() {
    bounded(async {
        let f = TempRing::new("fifty");
        let ring = f.create(64 * 1024);
        let server = Server::start(&f.0);
        let kinds = [Kind::Text, Kind::Text, Kind::Text, Kind::Json, Kind::Sse];
        let mut clients = Vec::new();
        for i in 0..50 {
            let kind = kinds[i % kinds.len()];
            let lines = open_stream(server.addr, kind, 0).await;
            clients.push(tokio::spawn(follow(lines, kind, 0)));
        }
        const N: u64 = 4000;
        let writer = {
            let ring = ring.clone();
            tokio::task::spawn_blocking(move || {
                for i in 0..N {
                    assert_eq!(ring.write(record(i).as_bytes()).unwrap(), i);
                    if i % 100 == 99 {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                ring.close().unwrap();
            })
        };
        writer.await.unwrap();
        let (mut read, mut lost) = (0, 0);
        for c in clients {
            let (t, end) = c.await.unwrap();
            assert_eq!(end, StreamEnd::Clean);
            assert_eq!(t.read + t.lost, N, "read + lost = written: {t:?}");
            read += t.read;
            lost += t.lost;
        }
        println!(
            "50 clients: {read} records read, {lost} reported lost ({:.1}%)",
            lost as f64 * 100.0 / (50 * N) as f64
        );
        drop(server);
    })
    .await;
}

// ---- (b) a client that stops reading --------------------------------------------

/// Decodes a whole HTTP/1.1 response with a chunked body (httparse).
fn decode_chunked(raw: &[u8]) -> (u16, Vec<u8>, bool) {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let head = match resp.parse(raw).expect("an HTTP response") {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => panic!("a partial head"),
    };
    let code = resp.code.unwrap();
    assert!(resp.headers.iter().any(|h| h.name.eq_ignore_ascii_case("transfer-encoding") && h.value == b"chunked"));
    let mut body = Vec::new();
    let mut rest = &raw[head..];
    loop {
        match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete((used, 0))) => {
                return (code, body, rest[used..].starts_with(b"\r\n"));
            }
            Ok(httparse::Status::Complete((used, size))) => {
                let size = size as usize;
                if rest.len() < used + size + 2 {
                    return (code, body, false); // cut in a chunk
                }
                body.extend_from_slice(&rest[used..used + size]);
                assert_eq!(&rest[used + size..used + size + 2], b"\r\n");
                rest = &rest[used + size + 2..];
            }
            Ok(httparse::Status::Partial) => return (code, body, false),
            Err(e) => panic!("bad chunk framing: {e:?}"),
        }
    }
}

/// Writes records `from..from + n`; the time it took.
fn write_range(ring: &Ring, from: u64, n: u64) -> Duration {
    let t = Instant::now();
    for i in from..from + n {
        assert_eq!(ring.write(record(i).as_bytes()).unwrap(), i);
    }
    t.elapsed()
}

/// A client sends its request and then reads nothing (a 4 KiB receive
/// buffer) while the writer laps the ring five times: the writer is not
/// slowed, and when the client reads again the stream says how many
/// records it lost, and read + lost = written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_client_never_slows_the_writer_and_is_told_its_loss() {
    bounded(async {
        let f = TempRing::new("stalled");
        let ring = f.create(1 << 20);
        let server = Server::start(&f.0);
        // 116 bytes of framing and payload per record: 45,000 records
        // are about 5 laps of the 1 MiB ring.
        const N: u64 = 45_000;
        let alone = write_range(&ring, 0, N);

        let addr = server.addr;
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        sock.connect(&addr.into()).unwrap();
        let mut sock: std::net::TcpStream = sock.into();
        write!(sock, "GET /records?from={N} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
        // The server's reader exists once it answers; with `from` = the
        // next seq it misses nothing either way.
        eventually("the stalled client's reader exists", Duration::from_secs(5), || ring.stats().readers == 1).await;
        let stalled = write_range(&ring, N, N);
        tokio::time::sleep(Duration::from_millis(200)).await; // the server settles where it blocks
        let written = ring.stats().written;
        ring.close().unwrap();

        let rate = |d: Duration| N as f64 / d.as_secs_f64();
        println!("writer alone: {:.0} records/s; with a stalled client: {:.0} records/s", rate(alone), rate(stalled));
        assert!(
            stalled <= alone * 3 + Duration::from_millis(500),
            "the stalled client slowed the writer: {alone:?} alone, {stalled:?} with it"
        );

        let raw = tokio::task::spawn_blocking(move || {
            sock.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut raw = Vec::new();
            sock.read_to_end(&mut raw).expect("read the response to its end");
            raw
        })
        .await
        .unwrap();
        let (code, body, complete) = decode_chunked(&raw);
        assert_eq!(code, 200);
        assert!(complete, "the stream ends with its closing chunk");
        let text = String::from_utf8(body).unwrap();
        let mut t = Tally::starting_at(N);
        let mut pending = 0;
        let mut held = None; // bytes received before the first loss line
        let mut at = 0;
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("ringlog: lost ").and_then(|s| s.strip_suffix(" records")) {
                pending += n.parse::<u64>().unwrap();
                held.get_or_insert(at);
            } else {
                let seq: u64 = line[..8].parse().unwrap();
                check_record(seq, line);
                t.record(seq, std::mem::take(&mut pending));
            }
            at += line.len() + 1;
        }
        assert_eq!(t.read + t.lost, written - N, "read + lost = written: {t:?}");
        let held = held.expect("a `ringlog: lost N records` line");
        assert!(t.lost > 0);
        println!(
            "stalled client: {} records read, {} lost; {} KiB were held for it (server + both kernels' buffers)",
            t.read,
            t.lost,
            held / 1024
        );
        assert!(held < 2 << 20, "{held} bytes held for a stalled client: the bound is about 640 KiB");
        drop(server);
    })
    .await;
}

// ---- (c) server-sent events and Last-Event-ID ------------------------------------

/// An SSE client reads part of the stream, goes away, and resumes with
/// `Last-Event-ID`: no record twice, none missing. A resume at a record
/// the ring evicted meanwhile gets `event: lost` with the exact count. A
/// record of several lines is several `data:` lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_resumes_with_last_event_id() {
    bounded(async {
        let f = TempRing::new("sse");
        let ring = f.create(16 * 1024);
        let server = Server::start(&f.0);
        for i in 0..40 {
            ring.write(record(i).as_bytes()).unwrap();
        }
        let accept = [("accept", "text/event-stream")];
        let mut lines = Lines::new(get(server.addr, "/records", &accept).await);
        for i in 0..25 {
            let ev = next_event(&mut lines).await.unwrap();
            assert_eq!((ev.id, ev.kind.as_str()), (Some(i), "message"));
            check_record(i, &ev.data);
        }
        drop(lines); // the connection goes away after id 24
        for i in 40..60 {
            ring.write(record(i).as_bytes()).unwrap();
        }
        let resp = get(server.addr, "/records?from=newest", &[accept[0], ("last-event-id", "24")]).await;
        let mut lines = Lines::new(resp);
        for i in 25..60 {
            let ev = next_event(&mut lines).await.unwrap();
            assert_eq!((ev.id, ev.kind.as_str()), (Some(i), "message"), "no duplicate, no gap");
            check_record(i, &ev.data);
        }
        // A record of several lines (CRLF, LF) and its trailing newline.
        assert_eq!(ring.write(b"first\nsecond\r\nthird\n").unwrap(), 60);
        let ev = next_event(&mut lines).await.unwrap();
        assert_eq!(ev.id, Some(60));
        assert_eq!(ev.data, "first\nsecond\nthird");
        drop(lines);

        // Resuming at a record evicted since: the loss first, exactly.
        let mut i = 61;
        while ring.stats().oldest_seq < 100 {
            ring.write(record(i).as_bytes()).unwrap();
            i += 1;
        }
        let oldest = ring.stats().oldest_seq;
        let resp = get(server.addr, "/records", &[accept[0], ("last-event-id", "9")]).await;
        let mut lines = Lines::new(resp);
        let ev = next_event(&mut lines).await.unwrap();
        assert_eq!((ev.kind.as_str(), ev.id), ("lost", None));
        assert_eq!(ev.data, (oldest - 10).to_string());
        let ev = next_event(&mut lines).await.unwrap();
        assert_eq!(ev.id, Some(oldest));
        drop(lines);

        // JSON in SSE: one data line with the object.
        let resp = get(server.addr, "/records?format=json", &[accept[0], ("last-event-id", "59")]).await;
        let mut lines = Lines::new(resp);
        let ev = next_event(&mut lines).await.unwrap();
        assert_eq!((ev.kind.as_str(), ev.data), ("lost", (oldest - 60).to_string()));
        let ev = next_event(&mut lines).await.unwrap();
        assert_eq!(ev.id, Some(oldest));
        let v: serde_json::Value = serde_json::from_str(&ev.data).unwrap();
        assert_eq!(v["seq"], oldest);
        assert_eq!(v["lost"], oldest - 60);
        drop(lines);

        // A bad Last-Event-ID is a 400.
        let resp = get(server.addr, "/records", &[accept[0], ("last-event-id", "x")]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        drop(server);
    })
    .await;
}

// ---- (d) /snapshot and /stat ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_stat() {
    bounded(async {
        let f = TempRing::new("snapshot");
        let ring = f.create(16 * 1024);
        let server = Server::start(&f.0);

        let resp = get(server.addr, "/snapshot", &[]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(body_text(resp).await, "", "an empty ring");

        for i in 0..10 {
            ring.write(record(i).as_bytes()).unwrap();
        }
        let resp = get(server.addr, "/snapshot", &[]).await;
        assert_eq!(content_type(&resp), "text/plain; charset=utf-8");
        let want: String = (0..10).map(|i| record(i) + "\n").collect();
        assert_eq!(body_text(resp).await, want);

        // Lapped: only what the ring retains, and no waiting for more.
        for i in 10..400 {
            ring.write(record(i).as_bytes()).unwrap();
        }
        let s = ring.stats();
        assert!(s.oldest_seq > 0);
        let t = Instant::now();
        let text = body_text(get(server.addr, "/snapshot", &[]).await).await;
        assert!(t.elapsed() < Duration::from_secs(2));
        let want: String = (s.oldest_seq..400).map(|i| record(i) + "\n").collect();
        assert_eq!(text, want);

        let resp = get(server.addr, "/snapshot?format=json", &[]).await;
        assert_eq!(content_type(&resp), "application/x-ndjson");
        let text = body_text(resp).await;
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["seq"], s.oldest_seq);
        assert_eq!(text.lines().count() as u64, 400 - s.oldest_seq);

        let resp = get(server.addr, "/stat", &[]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(content_type(&resp), "application/json");
        let v: serde_json::Value = serde_json::from_str(&body_text(resp).await).unwrap();
        assert_eq!(v["file"], f.0.display().to_string());
        assert_eq!(v["written"], 400);
        assert_eq!(v["oldest_seq"], s.oldest_seq);
        assert_eq!(v["capacity"], 16 * 1024);
        assert_eq!(v["closed"], false);
        ring.close().unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&body_text(get(server.addr, "/stat", &[]).await).await).unwrap();
        assert_eq!(v["closed"], true);
        drop(server);
    })
    .await;
}

// ---- (e) close ends every stream --------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_every_stream_cleanly() {
    bounded(async {
        let f = TempRing::new("close");
        let ring = f.create(64 * 1024);
        let server = Server::start(&f.0);
        let mut clients = Vec::new();
        for kind in [Kind::Text, Kind::Json, Kind::Sse, Kind::Text, Kind::Sse] {
            let lines = open_stream(server.addr, kind, 0).await;
            clients.push(tokio::spawn(follow(lines, kind, 0)));
        }
        for i in 0..5 {
            ring.write(record(i).as_bytes()).unwrap();
        }
        ring.close().unwrap();
        for c in clients {
            let (t, end) = tokio::time::timeout(Duration::from_secs(5), c).await.expect("ended").unwrap();
            assert_eq!(end, StreamEnd::Clean);
            assert_eq!((t.read, t.lost), (5, 0));
        }
        // After the close: a new stream drains what is left and ends; an
        // EventSource that has everything is told 204 (stop reconnecting).
        let (t, end) = follow(open_stream(server.addr, Kind::Text, 2).await, Kind::Text, 2).await;
        assert_eq!((t.read, end), (3, StreamEnd::Clean));
        let resp = get(server.addr, "/records", &[("accept", "text/event-stream"), ("last-event-id", "4")]).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        eventually("the readers are gone", Duration::from_secs(3), || ring.stats().readers == 0).await;
        drop(server);
    })
    .await;
}

// ---- (f) 404, 400, 503 ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_bad_request_and_no_reader_slot() {
    bounded(async {
        let f = TempRing::new("errors");
        let ring = f.create(16 * 1024);
        ring.write(b"one").unwrap();
        let server = Server::start(&f.0);

        let resp = get(server.addr, "/nope", &[]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let text = body_text(resp).await;
        for e in ["/records", "/snapshot", "/stat"] {
            assert!(text.contains(e), "{text}");
        }
        for q in ["/records?from=later", "/records?format=xml", "/snapshot?format=xml"] {
            let resp = get(server.addr, q, &[]).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{q}");
            let text = body_text(resp).await;
            assert!(text.starts_with("ringlog: bad request: ") && text.lines().count() == 1, "{text}");
        }

        // Every reader slot of the file taken (here, by this process).
        let mut held = Vec::new();
        loop {
            match ring.reader(Start::Newest) {
                Ok(r) => held.push(r),
                Err(Error::NoMemory) => break,
                Err(e) => panic!("{e:?}"),
            }
            assert!(held.len() <= 1024, "no limit on readers?");
        }
        println!("{} reader slots taken", held.len());
        for path in ["/records", "/snapshot"] {
            let resp = get(server.addr, path, &[]).await;
            assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
            let text = body_text(resp).await;
            assert!(text.starts_with("ringlog: no free reader slot") && text.lines().count() == 1, "{text}");
        }
        held.pop();
        let resp = get(server.addr, "/snapshot", &[]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(body_text(resp).await, "one\n");
        drop(held);
        drop(server);
    })
    .await;
}

// ---- (g) latency -----------------------------------------------------------------

/// Records reach a streaming client as they are written: written →
/// received under 1 s each (the median is printed; it is the ring's
/// wake-up latency plus loopback HTTP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_arrive_with_low_latency() {
    bounded(async {
        let f = TempRing::new("latency");
        let ring = f.create(64 * 1024);
        let server = Server::start(&f.0);
        let mut lines = Lines::new(get(server.addr, "/records?from=newest", &[]).await);
        // The reader exists once the response has begun.
        let base = Instant::now();
        const N: usize = 200;
        let writer = {
            let ring = ring.clone();
            std::thread::spawn(move || {
                for _ in 0..N {
                    std::thread::sleep(Duration::from_millis(3));
                    ring.write(base.elapsed().as_nanos().to_string().as_bytes()).unwrap();
                }
            })
        };
        let mut lat = Vec::with_capacity(N);
        for _ in 0..N {
            let line = lines.next().await.expect("a record");
            let sent: u128 = line.parse().unwrap();
            lat.push((base.elapsed().as_nanos() - sent) as f64 / 1e3);
        }
        writer.join().unwrap();
        lat.sort_by(|a, b| a.total_cmp(b));
        let (p50, p99, max) = (lat[N / 2], lat[N * 99 / 100], lat[N - 1]);
        println!("written -> received over HTTP: median {p50:.0} us, p99 {p99:.0} us, max {max:.0} us");
        assert!(max < 1e6, "a record took {max} us");
        drop(server);
    })
    .await;
}

// ---- lifecycle -------------------------------------------------------------------

/// A client that goes away frees its reader slot; SIGTERM cuts the open
/// streams (no closing chunk) and the server exits 0; SIGINT likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_clients_free_their_reader_and_signals_stop_the_server() {
    bounded(async {
        let f = TempRing::new("lifecycle");
        let ring = f.create(16 * 1024);
        for sig in [libc::SIGTERM, libc::SIGINT] {
            let mut server = Server::start(&f.0);
            let lines = Lines::new(get(server.addr, "/records?from=newest", &[]).await);
            eventually("one reader", Duration::from_secs(3), || ring.stats().readers == 1).await;
            drop(lines);
            eventually("the gone client's reader freed", Duration::from_secs(3), || ring.stats().readers == 0).await;

            let mut lines = Lines::new(get(server.addr, "/records?from=newest", &[]).await);
            ring.write(b"before the stop").unwrap();
            assert_eq!(lines.next().await.unwrap(), "before the stop");
            // SAFETY: kill(2) on our own live child.
            assert_eq!(unsafe { libc::kill(server.child.id() as libc::pid_t, sig) }, 0);
            let end = tokio::time::timeout(Duration::from_secs(5), lines.next()).await.expect("the stream ends");
            assert!(matches!(end, Err(StreamEnd::Cut(_))), "a stop cuts the stream: {end:?}");
            let st = server.wait_exit(Duration::from_secs(5));
            assert_eq!(st.code(), Some(0), "exit status after signal {sig}");
            assert_eq!(server.stderr.lock().unwrap().as_str(), "", "nothing more on stderr");
        }
    })
    .await;
}

/// Errors at the start are one line and status 1: a missing file, a file
/// that is not a ring, a port in use.
#[test]
fn startup_errors_are_one_line() {
    let f = TempRing::new("startup");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ringlog")).arg("serve").args(args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.starts_with("ringlog: ") && err.lines().count() == 1, "{args:?}: {err:?}");
        err
    };
    let missing = f.0.to_str().unwrap();
    assert!(run(&[missing]).contains("no such file"));
    assert!(!f.0.exists(), "serve never creates the file");
    std::fs::write(&f.0, b"not a ring").unwrap();
    assert!(run(&[missing]).contains("not a usable ring file"));
    std::fs::remove_file(&f.0).unwrap();
    let _ring = f.create(16 * 1024);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    assert!(run(&[missing, "--listen", &port]).contains("cannot listen on"));
    run(&[missing, "--listen", "nonsense"]);
}
