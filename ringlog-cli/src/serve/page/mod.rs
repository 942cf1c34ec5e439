//! The live page at `GET /`: one HTML page, its script and its style
//! sheet, embedded in the binary (`include_str!`; plain JavaScript, no
//! build step, nothing from elsewhere).
//!
//! The page follows the ring through the server-sent events of
//! `/records` (an `EventSource`, which reconnects by itself with
//! `Last-Event-ID` when the server stops; the page also drops any seq it
//! has already shown) and polls `/stat` for the header. Every record is
//! put in the page as text (`textContent`), never as HTML. The script
//! and the style sheet are separate responses so that the
//! [`CSP`] can forbid every inline script and style.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The page.
pub const INDEX_HTML: &str = include_str!("index.html");
/// Its script (`/app.js`).
pub const APP_JS: &str = include_str!("app.js");
/// Its style sheet (`/app.css`).
pub const APP_CSS: &str = include_str!("app.css");

/// The `Content-Security-Policy` of the page and its files: scripts and
/// styles from this server only (no inline ones), connections
/// (`EventSource`, `fetch`) to this server only, images only as `data:`
/// URLs (the empty favicon), nothing else; no `<base>`, no form
/// submissions, no framing by other pages.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                       img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /`.
pub async fn index() -> Response {
    asset(INDEX_HTML, "text/html; charset=utf-8")
}

/// `GET /app.js`.
pub async fn app_js() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

/// `GET /app.css`.
pub async fn app_css() -> Response {
    asset(APP_CSS, "text/css; charset=utf-8")
}

/// An embedded file with the security headers. `no-cache`: a browser
/// asks again (the files are small), so a new `ringlog` serves its page.
fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files() {
        assert!(INDEX_HTML.contains(r#"<script src="app.js" defer></script>"#));
        assert!(INDEX_HTML.contains(r#"<link rel="stylesheet" href="app.css">"#));
        // No inline script or style, nothing from elsewhere.
        assert_eq!(INDEX_HTML.matches("<script").count(), 1);
        assert!(!INDEX_HTML.contains("<style") && !INDEX_HTML.contains(" style="));
        for page in [INDEX_HTML, APP_JS, APP_CSS] {
            assert!(!page.contains("http://") && !page.contains("https://"));
        }
        // Records go in as text.
        assert!(!APP_JS.contains("innerHTML") && !APP_JS.contains("insertAdjacentHTML"));
        assert!(!APP_JS.contains("document.write") && !APP_JS.contains("eval("));
    }
}
