//! `ringlog stat FILE [--json]`.

use std::io::Write;

use serde::Serialize;

use crate::cli::StatArgs;
use crate::fail::{is_broken_pipe, plain, Fail};
use crate::open;

/// What `stat` reports (also `GET /stat` of `serve`).
#[derive(Serialize)]
pub struct StatView {
    /// The ring file, as given.
    pub file: String,
    /// Bytes of records the ring retains, framing included.
    pub capacity: u64,
    /// The largest record the ring takes.
    pub max_record: u64,
    /// Records written so far: the next record's seq.
    pub written: u64,
    /// The oldest retained record's seq.
    pub oldest_seq: u64,
    /// Records retained.
    pub retained: u64,
    /// Bytes the retained records occupy.
    pub bytes_used: u64,
    /// Writes refused because the ring was busy.
    pub dropped: u64,
    /// Readers alive, in every process.
    pub readers: u64,
    /// True once the ring is closed.
    pub closed: bool,
    /// The file's format version (docs/FORMAT.md).
    pub format_version: u32,
    /// Times a writer or close woke sleepers.
    pub wakeups: u64,
    /// Records of writers killed mid-record.
    pub reaped: u64,
    /// Times an opener found the file unused and checked it whole.
    pub recoveries: u64,
}

impl StatView {
    /// The stats of an open ring.
    pub fn of(file: &std::path::Path, ring: &ringbuf_core::Ring) -> StatView {
        let s = ring.stats();
        StatView {
            file: file.display().to_string(),
            capacity: s.capacity,
            max_record: s.max_record,
            written: s.written,
            oldest_seq: s.oldest_seq,
            retained: s.written - s.oldest_seq,
            bytes_used: s.bytes_used,
            dropped: s.dropped,
            readers: s.readers,
            closed: s.closed,
            format_version: ringbuf_core::FORMAT_VERSION,
            wakeups: s.wakeups,
            reaped: s.reaped,
            recoveries: s.recoveries,
        }
    }
}

/// Prints the ring's stats, as `name: value` lines or one JSON object.
pub fn run(args: StatArgs) -> Result<(), Fail> {
    let ring = open::existing(&args.file)?;
    let view = StatView::of(&args.file, &ring);
    let text = if args.json {
        let mut s = serde_json::to_string(&view).map_err(|e| Fail(format!("JSON: {e}")))?;
        s.push('\n');
        s
    } else {
        let v = serde_json::to_value(&view).map_err(|e| Fail(format!("JSON: {e}")))?;
        let mut s = String::new();
        for (k, v) in v.as_object().into_iter().flatten() {
            let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            s.push_str(&format!("{k:<15}{v}\n"));
        }
        s
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if is_broken_pipe(&e) => Err(Fail::quiet()),
        Err(e) => Err(Fail(format!("writing to stdout: {}", plain(&e)))),
    }
}
