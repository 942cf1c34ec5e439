//! `ringlog serve FILE [--listen ADDR]`: the ring over HTTP (axum on
//! tokio, hyper's HTTP/1 server).
//!
//! # Endpoints
//!
//! * `GET /`: the live page (`page`): the ring followed in a browser
//!   through the server-sent events of `/records`, with a pause button, a
//!   filter (text or regular expression), a marker where records were
//!   lost, the newest 10,000 records kept, the ring's name, capacity and
//!   written count from `/stat`. `/?from=oldest|newest|SEQ` starts there;
//!   `/?keep=N` keeps N records. Its script and style sheet are
//!   `/app.js` and `/app.css`; all three are embedded in the binary and
//!   sent with a strict `Content-Security-Policy` (this server's script
//!   and style only, no inline ones, connections to this server only).
//! * `GET /records?from=oldest|newest|SEQ&format=text|json`: a live
//!   stream, `Transfer-Encoding: chunked`, each record sent as soon as it
//!   is committed. `text` (default, `text/plain; charset=utf-8`): each
//!   record as a line (`output::text`), a loss as the line
//!   `ringlog: lost N records` before the record after the gap. `json`
//!   (`application/x-ndjson`): one `{"seq":..,"lost":..,"data":".."}` per
//!   line (`output::json`).
//! * The same with `Accept: text/event-stream`: server-sent events. A
//!   record is
//!
//!   ```text
//!   id: <seq>
//!   data: <line 1 of the record>
//!   data: <line 2 ...>
//!
//!   ```
//!
//!   (the record's one trailing newline dropped; its lines split at `\n`,
//!   `\r\n` or `\r`; with `format=json`, a single `data:` line holding the
//!   JSON object). A loss comes before the record after the gap as
//!   `event: lost` / `data: N`. When the ring is closed and drained the
//!   stream sends `event: end` / `data: closed` and ends. A
//!   `Last-Event-ID: S` header (an `EventSource` reconnecting) starts at
//!   S + 1 and takes precedence over `from`; if the ring is closed and
//!   nothing is left from there, the answer is 204 (no content), which
//!   tells an `EventSource` to stop reconnecting.
//! * `GET /snapshot?format=text|json`: what the ring retains at the
//!   request, oldest first (records up to the `written` count then, never
//!   waiting for more), in the text or JSON format.
//! * `GET /stat`: `ringlog stat --json` ([`StatView`](crate::commands::stat::StatView)).
//! * `GET /help`: the list of endpoints (any other path: 404 and the list).
//!
//! # How a stream is fed (`feed`)
//!
//! Each streamed response has its own [`Reader`](ringbuf_core::Reader)
//! and a plain thread that blocks on it, renders what it reads in batches
//! (up to 64 KiB, as many records as are committed already) and sends
//! them into a bounded tokio channel of 4 batches; the response body reads
//! the channel. The bytes held for one client are bounded:
//!
//! | where | at most |
//! |---|---|
//! | the channel | 4 batches of 64 KiB |
//! | the batch the thread is sending | 64 KiB |
//! | hyper's write buffer (`HYPER_BUFFER`) | 64 KiB + one batch |
//! | the socket's send buffer (`SEND_BUFFER`) | SO_SNDBUF 64 KiB (the kernel doubles it to 128 KiB) |
//!
//! so about 640 KiB (a batch exceeds 64 KiB only by holding a single
//! larger record). Measured with the test
//! `stalled_client_never_slows_the_writer_and_is_told_its_loss` (a client
//! with a 4 KiB receive buffer stops reading while the ring is lapped 5
//! times; the bytes it receives before its `lost` line are what was held
//! for it, in the server and in both kernels): 170 to 530 KiB over 11 runs;
//! without the SO_SNDBUF bound (the kernel autotuning the send buffer up
//! to `tcp_wmem`'s 4 MiB) 2.8 to 3.0 MiB. The bound costs no throughput on
//! loopback (the `serve` group of benches/rust gives the same records/s
//! with and without it, within the machine's noise).
//!
//! When the client stops reading, the chain fills, the thread blocks in
//! `blocking_send` and stops reading the ring, and the ring laps its
//! reader: the next record it reads carries `lost`, rendered
//! in-stream. Writers never wait for any of it.
//!
//! The thread looks every 100 ms (while it waits for records) whether the
//! client went away (the body, and so the channel's receiver, is dropped
//! when hyper sees the connection end) and then exits, freeing the reader
//! slot. A ring file has 256 reader slots for all its processes; when none
//! is free a stream is answered 503 with a one-line body.
//!
//! A stream ends cleanly (the closing chunk, `curl` exits 0) when the ring
//! is closed and the reader has drained it. When the server stops
//! (SIGINT, SIGTERM) the streams are cut instead (no closing chunk: `curl`
//! reports a partial transfer, exit 18), so a client can tell a stopped
//! server, where it should reconnect, from the end of the ring.

mod feed;
mod http;
mod page;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::fail::{plain, Fail};
use crate::open;

/// The subcommand's help, after the options.
pub const HELP: &str = "\
Endpoints:
  GET /
        A live page for a browser: the records as they are written (each
        shown as text, its seq in the gutter), following the newest unless
        you scroll up; Pause; a filter (text, or a regular expression); a
        marker where records were lost (\"12 records lost here\"); the ring's
        name, capacity and written count. It reconnects by itself when the
        server restarts (without showing a record twice) and keeps the
        newest 10,000 records. /?from=oldest|newest|SEQ starts there,
        /?keep=N keeps N. Nothing is loaded from elsewhere; the page sends
        a strict Content-Security-Policy.
  GET /records?from=oldest|newest|SEQ&format=text|json
        Streams the records live (default from=oldest, format=text), each as
        soon as it is written, until the ring is closed. text: each record as
        a line (text/plain); json: one {\"seq\":..,\"lost\":..,\"data\":\"..\"} per
        line (application/x-ndjson).
  GET /records  with the header  Accept: text/event-stream
        The same as server-sent events: each record is an event whose id is
        its seq and whose data is the record without its trailing newline
        (one data: line per line of the record; with format=json one data:
        line holding the JSON object); a loss is an event `lost` whose data is
        the number of records lost, just before the record after the gap:

          event: lost
          data: 12

          id: 41
          data: first line of record 41
          data: its second line

        A reconnecting client's Last-Event-ID: S resumes at S+1 (it takes
        precedence over from=). When the ring is closed the stream sends
        `event: end` / `data: closed` and ends; a client that has every record
        of a closed ring is answered 204 (an EventSource stops reconnecting).
  GET /snapshot?format=text|json
        What the ring retains now, oldest first; does not wait.
  GET /stat
        The ring's stats as JSON (as `ringlog stat --json`).
  GET /help
        This list of endpoints (any other path: 404 and the list).

Losses: a client that falls behind the writers (a slow network, a client
that stops reading) never slows them: up to about 640 KiB are held for it,
then its reader is lapped and it is told in the stream, before the record
after the gap: the line `ringlog: lost N records` (text), \"lost\": N in the
object (json), or the event `event: lost` / `data: N` (server-sent events).
Records received plus records reported lost add up to every record written
since the stream's start.

Once it listens, serve prints `ringlog: serving FILE on http://ADDR/` on
stderr (with --listen 127.0.0.1:0 the port it got).

A stream ends cleanly (curl exits 0) when the ring is closed; when the
server stops (Ctrl-C, SIGTERM) open streams are cut (curl: exit 18), so
that a client knows to reconnect. Each stream uses one of the ring file's
256 reader slots; with none free the answer is 503. The server listens on
127.0.0.1 unless --listen says otherwise; it has no authentication.

Examples:
  ringlog serve app.ring                  then open http://127.0.0.1:8080/
  ringlog serve app.ring --listen 0.0.0.0:9000
  curl -N http://127.0.0.1:8080/records
  curl -N 'http://127.0.0.1:8080/records?from=newest&format=json'
  curl -N -H 'Accept: text/event-stream' -H 'Last-Event-ID: 41' http://127.0.0.1:8080/records
  curl http://127.0.0.1:8080/snapshot > ring.log
  curl -s http://127.0.0.1:8080/stat | jq .written";

/// `ringlog serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The ring file.
    pub file: PathBuf,
    /// Address to listen on (port 0: any free port, printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

/// Serves until SIGINT or SIGTERM; prints `ringlog: serving FILE on
/// http://ADDR/` on stderr once it listens.
pub fn run(args: ServeArgs) -> Result<(), Fail> {
    let ring = open::existing(&args.file)?;
    let app = Arc::new(http::App { path: args.file, ring, stop: Arc::new(AtomicBool::new(false)) });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ringlog-serve")
        .build()
        .map_err(|e| Fail(format!("cannot start the server: {}", plain(&e))))?;
    let result = rt.block_on(server::serve(app, args.listen));
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}
