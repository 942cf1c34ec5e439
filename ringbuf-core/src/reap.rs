//! Reaping: what a writer that died in the middle of a record leaves in a
//! ring file, turned into a dead record (lost for readers, passed by
//! eviction), so that it holds up neither readers nor writers.
//!
//! In memory, a writer in the middle of a record is alive by definition
//! (its process is ours), so a stalled record is pinned and written around
//! until it commits (`pins`). In a ring file the writer may belong to a
//! process that was killed: its record would stay pending for ever and its
//! pin would never be released. Every pending frame of a ring file carries
//! its writer's session (`frame`), and the kernel says whether that session
//! still exists (`session`). Whoever finds a pending record in the way asks:
//!
//! * a writer evicting, when the record reaches the tail (`write::evict`):
//!   a dead writer's record is marked dead and evicted, not pinned;
//! * a writer that cannot claim because every pin slot is taken or pinned
//!   bytes leave no room (`write::claim`): every pinned record of a dead
//!   writer is marked dead and its pin released (`reap_pins`);
//! * a reader that waited at the record for `reader::RECHECK`: marked
//!   dead, it passes it and counts it lost (`reader`).
//!
//! Marking dead is a compare-and-swap of the marker from pending to dead
//! (`Shared::kill_pending`): of several reapers one wins, and a live
//! writer's frame is never touched (its session is alive; the check costs
//! one `fcntl`, made only on these slow paths).
//!
//! What is not reaped: a writer killed between its claim and its first
//! store (a few instructions) leaves no header, so no session to ask.
//! Readers pass such a frame after `reader::STALL_UNWRITTEN` (they only
//! skip, they write nothing); writers pin it, and the pin stays until an
//! opener finds itself alone with the file and recovers it (`file`).

use crate::frame::Frame;
use crate::layout::Tag;
use crate::pins::Pins;
use crate::shared::Shared;
use crate::sync::{fence, Ordering};

impl Shared {
    /// The pending record `seq` at `x`, written by session
    /// `owner`: if that session is gone, marks it dead, releases its pins
    /// and wakes sleepers. True when the frame is no longer pending (this
    /// call or another reaped it, or it was finished meanwhile).
    pub(crate) fn reap(&self, x: u64, seq: u64, owner: Tag) -> bool {
        if !self.is_file() || self.alive(owner) {
            return false;
        }
        if self.kill_pending(x, seq) {
            let h = self.header();
            h.reaped.fetch_add(1, Ordering::Relaxed);
            // SeqCst: as after a commit (`write::after_commit`): pins made
            // before are seen and released; sleepers are woken.
            fence(Ordering::SeqCst);
            if h.pins_mask.load(Ordering::Relaxed) != 0 {
                Pins(h).release_seq(seq);
            }
            self.wake_sleepers();
        }
        true
    }

    /// Reaps the pinned records of writers that are gone (their pins are
    /// released). True when one was: the caller's claim may fit now.
    pub(crate) fn reap_pins(&self) -> bool {
        if !self.is_file() {
            return false;
        }
        let pins = Pins(self.header());
        let mut any = false;
        for p in pins.each(pins.mask()) {
            // The group: skip frames, then the record.
            let mut x = p.pos;
            let end = self.geo.advance(p.pos, p.ext.min(self.geo.cap));
            while x < end {
                match self.frame(x, p.seq) {
                    Frame::Skip { size } => x = self.geo.advance(x, size),
                    Frame::Pending { owner, .. } => {
                        any |= self.reap(x, p.seq, owner);
                        break;
                    }
                    _ => break,
                }
            }
        }
        any
    }
}
