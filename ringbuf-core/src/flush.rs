//! `flush`: wait until the readers that exist have read, or been lapped
//! past, everything written before the call.
//!
//! A flush is done when every such reader owes nothing before the flush
//! point (`want >= seq`, `registry`), or when every record before the point
//! is evicted (the oldest retained record comes at or after it: the
//! readers behind were lapped past it). Readers' progress wakes a sleeping
//! flush (`registry`); writers wake it when their claim evicts the last
//! record before the point, that is, reaches its start plus the capacity
//! (`wake::flush_sleep`, `write::after_commit`). The flush finds that start
//! once, by walking from the oldest retained record, before it first
//! sleeps.

use crate::error::Error;
use crate::frame::Frame;
use crate::layout::pos_of;
use crate::shared::Shared;
use crate::sync::Deadline;

/// A flush in progress: the flush point (everything claimed when it began,
/// as a position and as a seq) and which readers to wait for (those older
/// than it). Waiting on it in slices (to check for signals between them)
/// keeps all three fixed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlushPoint {
    pos: u64,
    seq: u64,
    readers_before: u64,
}

impl Shared {
    /// Fixes the flush point and the set of readers to wait for.
    pub(crate) fn flush_point(&self) -> Result<FlushPoint, Error> {
        self.check_fork()?;
        // Readers first: one created after the claim we read starts at or
        // after it, which only makes it done sooner.
        let readers_before = self.readers_next_id();
        let c = self.claim_word();
        Ok(FlushPoint { pos: pos_of(c), seq: c.seq, readers_before })
    }

    /// True when the flush of `p` is complete.
    fn flushed(&self, p: &FlushPoint) -> bool {
        p.seq == 0 || self.oldest().seq >= p.seq || self.readers_all_past(p.readers_before, p.seq)
    }

    /// The claim end at which the last record before `p` is evicted: its
    /// start plus the capacity, plus 8. Found by walking from the oldest
    /// retained record; `None` when it cannot be found now (evicted already,
    /// a header not yet written, or the tail moved during the walk).
    fn evicted_at(&self, p: &FlushPoint) -> Option<u64> {
        let g = self.geo;
        let t = self.header().tail.load(crate::sync::Ordering::Acquire);
        let o = self.oldest();
        let (mut x, mut s) = (o.pos, o.seq);
        if s >= p.seq {
            return None;
        }
        let start = loop {
            let f = self.frame(x, s);
            let size = match f {
                Frame::Skip { size } => size,
                Frame::Unwritten => return None,
                _ if s + 1 == p.seq => break x,
                _ => f.size()?,
            };
            x = g.advance(x, size);
            s = f.next_seq(s);
            if x >= p.pos {
                return None;
            }
        };
        // The frames walked were intact if the tail did not move past them.
        crate::sync::fence(crate::sync::Ordering::Acquire);
        let t2 = self.header().tail.load(crate::sync::Ordering::Relaxed);
        (t2.pos <= t.pos.max(o.pos)).then(|| g.advance(start, g.cap + 8))
    }

    /// Waits until `p` is flushed or `deadline` passes (Timeout). Forked in
    /// the child of a fork, at once.
    pub(crate) fn flush_wait(&self, p: &FlushPoint, deadline: Deadline) -> Result<(), Error> {
        self.check_fork()?;
        crate::fault_point!(Flush);
        let mut at = None;
        loop {
            if self.flushed(p) {
                return Ok(());
            }
            if deadline.expired() {
                return Err(Error::Timeout);
            }
            // The claim end that evicts the point: a writer that reaches it
            // wakes us. Found by a walk that fails when the tail moves under
            // it: retried, and else late rather than early (a wake-up per
            // write is worse than a re-check after RECHECK).
            let fallback = self.geo.advance(p.pos, self.geo.cap);
            let threshold = match at {
                Some(a) => a,
                None => {
                    at = (0..3).find_map(|_| self.evicted_at(p));
                    at.unwrap_or(fallback)
                }
            };
            // A claim can evict the point without a commit (a stalled
            // writer): re-check at least every RECHECK.
            let deadline = deadline.at_most(crate::reader::RECHECK);
            if self.flush_sleep(deadline, threshold, || self.flushed(p)) {
                return Ok(());
            }
        }
    }
}
