//! `ringlog serve`'s live page over HTTP: `GET /` is the page (HTML) with
//! a strict Content-Security-Policy, `/app.js` and `/app.css` its files,
//! the endpoint list moved to `/help` (and 404s). The page in a browser is
//! tested by tests/browser (headless Chromium).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `ringlog serve` on a fresh ring file; killed (and the file
/// removed) on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    path: PathBuf,
}

impl Server {
    fn start(tag: &str) -> Server {
        let path = std::env::temp_dir().join(format!("ringlog-page-test-{}-{tag}.ring", std::process::id()));
        let _ = std::fs::remove_file(&path);
        ringbuf_core::Ring::open_file(&path, 16 * 1024).unwrap().write(b"<b>hello</b>").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringlog"))
            .args(["serve", path.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ringlog serve");
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line
            .trim_end()
            .rsplit_once("on http://")
            .and_then(|(_, a)| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .unwrap();
        Server { child, addr, path }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A response: status, headers (names lowercased), body.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

/// `METHOD path` with `Connection: close`; the whole response (the
/// bodies asked for here have a Content-Length).
fn request(addr: SocketAddr, method: &str, path: &str) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut r = httparse::Response::new(&mut headers);
    let n = match r.parse(&raw).unwrap() {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => panic!("a partial response: {raw:?}"),
    };
    Resp {
        status: r.code.unwrap(),
        headers: r
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
            .collect(),
        body: String::from_utf8(raw[n..].to_vec()).unwrap(),
    }
}

#[test]
fn the_page_and_its_files_with_a_strict_csp() {
    let server = Server::start("page");
    let page = request(server.addr, "GET", "/");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert!(page.body.starts_with("<!doctype html>"), "{}", page.body);
    assert!(page.body.contains(r#"<script src="app.js" defer></script>"#));
    assert!(page.body.contains(r#"<link rel="stylesheet" href="app.css">"#));
    // The page is the same whatever the ring holds: nothing of a record
    // is in it (records come as text through /records).
    assert!(!page.body.contains("hello"));

    let csp = page.header("content-security-policy");
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for d in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'none'",
    ] {
        assert!(directives.contains(&d), "{d} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("referrer-policy"), "no-referrer");

    for (path, ty, needle) in [
        ("/app.js", "text/javascript; charset=utf-8", "new EventSource("),
        ("/app.css", "text/css; charset=utf-8", "prefers-color-scheme: dark"),
    ] {
        let r = request(server.addr, "GET", path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), ty, "{path}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(r.header("content-security-policy"), csp, "{path}");
        assert!(r.body.contains(needle), "{path}");
    }
    let js = request(server.addr, "GET", "/app.js").body;
    assert!(js.contains(".textContent = r.text") && !js.contains("innerHTML"));

    // HEAD works (axum answers it from GET) and has no body.
    let head = request(server.addr, "HEAD", "/");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(head.header("content-security-policy"), csp);
}

#[test]
fn the_endpoint_list_moved_to_help_and_404() {
    let server = Server::start("help");
    for (path, status) in [("/help", 200), ("/index.html", 404), ("/nope", 404)] {
        let r = request(server.addr, "GET", path);
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.header("content-type"), "text/plain; charset=utf-8", "{path}");
        for e in ["GET / ", "/records", "/snapshot", "/stat", "/help"] {
            assert!(r.body.contains(e), "{e} in {path}: {}", r.body);
        }
    }
    // The stream the page reads is unchanged: /records as server-sent events.
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET /records HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\n\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("content-type: text/event-stream"), "{text}");
    assert!(text.contains("id: 0\ndata: <b>hello</b>\n\n"), "{text}");
}
