//! `snapshot`: every retained record's bytes, oldest first, in one buffer.

use crate::error::Error;
use crate::frame::{self, Frame, HEADER_LEN};
use crate::shared::Shared;

/// The whole record whose header starts at `off` in `raw` (a linear copy of
/// ring bytes), if its header passes its check, its length is at most
/// `max_len` and all of it lies inside `raw`.
pub(crate) fn frame_at(raw: &[u8], off: usize, max_len: u64) -> Option<Frame> {
    let header = raw.get(off..off.checked_add(HEADER_LEN as usize)?)?;
    let (w0, w1) = header.split_at(8);
    let f = frame::decode(u64::from_ne_bytes(w0.try_into().ok()?), u64::from_ne_bytes(w1.try_into().ok()?))?;
    let fits = f.len <= max_len && f.size() <= (raw.len() - off) as u64;
    fits.then_some(f)
}

impl Shared {
    pub(crate) fn snapshot(&self) -> Result<Vec<u8>, Error> {
        loop {
            let head = self.head();
            let tail = self.tail();
            if tail > head {
                continue; // writers evicted past the head we read: again
            }
            let n = (head - tail) as usize;
            let mut raw = Vec::new();
            raw.try_reserve_exact(n).map_err(|_| Error::NoMemory)?;
            raw.resize(n, 0);
            self.region.read_bytes(tail, &mut raw);
            // Records from the tail found *after* the copy on are whole in
            // it (`Shared::valid_after`); older ones may be torn: skip them.
            let from = self.tail_after_copy().max(tail);
            if from > tail && from >= head {
                continue; // all of it evicted while we copied: again
            }
            let mut at = (from - tail) as usize;
            let mut out = 0usize;
            while let Some(f) = frame_at(&raw, at, self.max_record) {
                let payload = at + HEADER_LEN as usize;
                raw.copy_within(payload..payload + f.len as usize, out);
                out += f.len as usize;
                at += f.size() as usize;
            }
            debug_assert_eq!(at, raw.len(), "snapshot walk stopped early");
            raw.truncate(out);
            crate::fault_point!(Snapshot);
            return Ok(raw);
        }
    }
}
