//! `ringlog dump FILE [--last N] [--from SEQ] [--json]`.

use ringbuf_core::Start;

use crate::cli::DumpArgs;
use crate::fail::Fail;
use crate::open;
use crate::stream::{self, Print, Until};

/// Prints the retained records (as of the start), oldest first.
pub fn run(args: DumpArgs) -> Result<(), Fail> {
    let ring = open::existing(&args.file)?;
    let st = ring.stats();
    let first = match (args.from, args.last) {
        // An evicted --from is reported as lost: the user asked for it.
        (Some(seq), _) => seq,
        (None, Some(n)) => st.written.saturating_sub(n).max(st.oldest_seq),
        (None, None) => st.oldest_seq,
    };
    let end = st.written;
    if first >= end {
        return Ok(());
    }
    let mut reader = ring.reader(Start::Seq(first)).map_err(|e| Fail::ring(&args.file, "read the ring", e))?;
    stream::print(&mut reader, Until::Seq { from: first, end }, Print { json: args.json, cursor: None })
}
