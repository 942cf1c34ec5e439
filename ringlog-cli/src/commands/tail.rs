//! `ringlog tail FILE [-n N] [-f] [--from oldest|newest|SEQ] [--cursor PATH] [--json]`.

use ringbuf_core::Start;

use crate::cli::{From, TailArgs};
use crate::cursor::Cursor;
use crate::fail::Fail;
use crate::open;
use crate::signals;
use crate::stream::{self, Print, Until};

/// Records printed without -n, --from or --cursor.
const DEFAULT_LINES: u64 = 10;

/// Prints the last records, or those from a seq, and follows with -f.
pub fn run(args: TailArgs) -> Result<(), Fail> {
    let ring = open::existing(&args.file)?;
    // Installed before the reader exists: a Ctrl-C from now on is a clean stop.
    let stop = if args.follow { Some(signals::stop_on_signals()?) } else { None };
    let mut cursor = args.cursor.as_deref().map(Cursor::load).transpose()?;
    let st = ring.stats();
    let from = match cursor.as_ref().and_then(Cursor::saved) {
        Some(seq) if seq > st.written => {
            eprintln!(
                "ringlog: the cursor's seq {seq} is past the ring's last record ({} written): \
                 the ring file is a new one; reading from its oldest record",
                st.written
            );
            From::Oldest
        }
        Some(seq) => From::Seq(seq),
        None => match (args.from, args.lines) {
            (Some(f), _) => f,
            (None, _) if cursor.is_some() => From::Oldest,
            (None, n) => From::Seq(st.written.saturating_sub(n.unwrap_or(DEFAULT_LINES)).max(st.oldest_seq)),
        },
    };
    let first = match from {
        From::Oldest => st.oldest_seq,
        From::Newest => st.written,
        From::Seq(n) => n,
    };
    let start = match (&mut cursor, from) {
        // A cursor names a seq from the first run on: what is overwritten
        // between now and the reader's start is reported as lost.
        (Some(c), _) => {
            c.save(first)?;
            Start::Seq(first)
        }
        (None, From::Oldest) => Start::Oldest,
        (None, From::Newest) => Start::Newest,
        (None, From::Seq(n)) => Start::Seq(n),
    };
    let mut reader = ring.reader(start).map_err(|e| Fail::ring(&args.file, "read the ring", e))?;
    let until = match stop {
        Some(flag) => Until::Stopped(flag),
        None => {
            if first >= st.written {
                return Ok(());
            }
            Until::Seq { from: first, end: st.written }
        }
    };
    stream::print(&mut reader, until, Print { json: args.json, cursor: cursor.as_mut() })
}
