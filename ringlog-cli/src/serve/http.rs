//! The endpoints (axum): the live page (`/`, `/app.js`, `/app.css`),
//! `/records`, `/snapshot`, `/stat`, and a listing of them (`/help`, and
//! the body of a 404).

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http_body::Frame;
use ringbuf_core::{Error, Ring, Start};
use tokio::sync::mpsc;

use super::feed::{self, Cut, Format, Item, Until};
use super::page;
use crate::cli::From;
use crate::commands::stat::StatView;

/// What every handler shares.
pub struct App {
    /// The ring file, as given on the command line.
    pub path: PathBuf,
    /// The ring.
    pub ring: Ring,
    /// Set when the server stops: feeds cut their streams.
    pub stop: Arc<AtomicBool>,
}

/// The text of `/help` and of a 404: the endpoints.
const ENDPOINTS: &str = "\
ringlog serve: the endpoints are
  GET /                                                   the live page (a browser)
  GET /records?from=oldest|newest|SEQ&format=text|json   live stream (Accept: text/event-stream for SSE)
  GET /snapshot?format=text|json                          what the ring retains now
  GET /stat                                               the ring's stats (JSON)
  GET /help                                               this list
";

/// The router over the shared state.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::app_js))
        .route("/app.css", get(page::app_css))
        .route("/help", get(help))
        .route("/records", get(records))
        .route("/snapshot", get(snapshot))
        .route("/stat", get(stat))
        .fallback(not_found)
        .with_state(app)
}

/// The query parameters of `/records` and `/snapshot`.
#[derive(serde::Deserialize, Debug, Default)]
pub struct Params {
    /// `oldest`, `newest` or a seq.
    from: Option<String>,
    /// `text` (default) or `json`.
    format: Option<String>,
}

async fn help() -> Response {
    text(StatusCode::OK, ENDPOINTS.to_string())
}

async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, ENDPOINTS.to_string())
}

async fn stat(State(app): State<Arc<App>>) -> Response {
    let view = StatView::of(&app.path, &app.ring);
    match serde_json::to_vec(&view) {
        Ok(mut body) => {
            body.push(b'\n');
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("ringlog: JSON: {e}\n")),
    }
}

async fn records(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    let sse = wants_sse(&headers);
    let parsed = query.map_err(|e| e.body_text()).and_then(|Query(p)| Ok((json_format(&p)?, start(&p, &headers)?)));
    let (json, start) = match parsed {
        Ok(v) => v,
        Err(msg) => return bad_request(&msg),
    };
    if sse && nothing_left(&app.ring, start) {
        // The ring is closed and this client has everything: 204 tells an
        // EventSource to stop reconnecting.
        return StatusCode::NO_CONTENT.into_response();
    }
    let format = if sse {
        Format::Sse { json }
    } else if json {
        Format::Json
    } else {
        Format::Text
    };
    stream(&app, start, format, Until::Closed)
}

async fn snapshot(State(app): State<Arc<App>>, query: Result<Query<Params>, QueryRejection>) -> Response {
    let json = match query.map_err(|e| e.body_text()).and_then(|Query(p)| json_format(&p)) {
        Ok(j) => j,
        Err(msg) => return bad_request(&msg),
    };
    let format = if json { Format::Json } else { Format::Text };
    let s = app.ring.stats();
    if s.oldest_seq >= s.written {
        return ([(header::CONTENT_TYPE, content_type(format))], Body::empty()).into_response();
    }
    stream(&app, Start::Oldest, format, Until::Seq(s.written))
}

/// A streamed response: a reader at `start`, its feeding thread, and the
/// channel as the body; 503 when no reader (or thread) can be had.
fn stream(app: &App, start: Start, format: Format, until: Until) -> Response {
    let reader = match app.ring.reader(start) {
        Ok(r) => r,
        Err(Error::NoMemory) => {
            let readers = app.ring.stats().readers;
            return unavailable(&format!(
                "ringlog: no free reader slot ({readers} readers alive on this ring file); try again later"
            ));
        }
        Err(e) => return unavailable(&format!("ringlog: cannot create a reader: {e}")),
    };
    let rx = match feed::spawn(reader, format, until, app.stop.clone()) {
        Ok(rx) => rx,
        Err(e) => return unavailable(&format!("ringlog: cannot start a reader thread: {}", crate::fail::plain(&e))),
    };
    let mut resp = Body::new(FeedBody { rx }).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(format)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Browsers show text/plain as it comes only when they do not sniff it;
    // proxies such as nginx pass it on unbuffered with this.
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

fn content_type(format: Format) -> &'static str {
    match format {
        Format::Text => "text/plain; charset=utf-8",
        Format::Json => "application/x-ndjson",
        Format::Sse { .. } => "text/event-stream",
    }
}

/// True when the client asks for server-sent events.
fn wants_sse(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().split(';').next().is_some_and(|m| m.trim() == "text/event-stream")))
}

/// `format=json` (true), `text` or none (false).
fn json_format(params: &Params) -> Result<bool, String> {
    match params.format.as_deref() {
        None | Some("text") => Ok(false),
        Some("json") => Ok(true),
        Some(other) => Err(format!("format `{other}` is not text or json")),
    }
}

/// Where the stream starts: after `Last-Event-ID` when given (a
/// reconnecting EventSource), else `?from` (default oldest).
fn start(params: &Params, headers: &HeaderMap) -> Result<Start, String> {
    if let Some(v) = headers.get("last-event-id") {
        let v = v.to_str().unwrap_or("").trim();
        if !v.is_empty() {
            return match v.parse::<u64>() {
                Ok(seq) => Ok(Start::Seq(seq.saturating_add(1))),
                Err(_) => Err(format!("Last-Event-ID `{v}` is not a record's seq (a number)")),
            };
        }
    }
    match params.from.as_deref() {
        None => Ok(Start::Oldest),
        Some(s) => match s.parse::<From>() {
            Ok(From::Oldest) => Ok(Start::Oldest),
            Ok(From::Newest) => Ok(Start::Newest),
            Ok(From::Seq(n)) => Ok(Start::Seq(n)),
            Err(msg) => Err(format!("from: {msg}")),
        },
    }
}

/// True when the ring is closed and a reader at `start` would find
/// nothing more.
fn nothing_left(ring: &Ring, start: Start) -> bool {
    let s = ring.stats();
    s.closed
        && match start {
            Start::Oldest => s.oldest_seq >= s.written,
            Start::Newest => true,
            Start::Seq(n) => n >= s.written,
        }
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn bad_request(msg: &str) -> Response {
    text(StatusCode::BAD_REQUEST, format!("ringlog: bad request: {}\n", msg.trim()))
}

fn unavailable(msg: &str) -> Response {
    text(StatusCode::SERVICE_UNAVAILABLE, format!("{msg}\n"))
}

/// A response body read from a feed's channel. Dropping it (the client
/// went away) closes the channel, which ends the feeding thread.
struct FeedBody {
    rx: mpsc::Receiver<Item>,
}

impl http_body::Body for FeedBody {
    type Data = Bytes;
    type Error = Cut;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Cut>>> {
        self.rx.poll_recv(cx).map(|item| item.map(|r| r.map(Frame::data)))
    }
}
