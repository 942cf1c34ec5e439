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
//!   writer is marked dead and its pin released (`reap_pins`); and, at
//!   most every `REAP_EVERY`, a writer evicting while pins are held (a
//!   writer killed after the ring pinned its record would otherwise hold
//!   its pin, and keep every write off the fast path, until then);
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
//! Readers pass such a frame after `STALL_UNWRITTEN` (they only skip, they
//! write nothing); writers pin it (its extent ends at the next group's
//! header), and the pin stays until an opener finds itself alone with the
//! file and recovers it (`file`), or until its writer, if it was only
//! stopped, commits. Several such claims in a row (a process with several
//! writing threads killed at once) have no boundaries between them: once
//! the run has blocked eviction for `STALL_UNWRITTEN`, writers pin the
//! whole run *for good* (`stuck_run`): nobody writes into it again until
//! recovery, so even a writer of the run that was only stopped, not dead,
//! finds its bytes untouched when it goes on; its record is lost to
//! readers.

use std::time::Duration;

use crate::frame::Frame;
use crate::layout::Tag;
use crate::pins::Pins;
use crate::shared::Shared;
use crate::sync::{fence, Ordering};

/// In a ring file: how long a claim without a header (its writer killed
/// between its claim and its first store, or stopped there) holds readers
/// up before they pass it, counted as lost, and how long a run of such
/// claims blocks eviction before writers pin it for good (module doc). A
/// pending record of a dead writer is passed within 10 ms instead.
pub const STALL_UNWRITTEN: Duration = Duration::from_secs(1);

/// The seq a pin of a headerless run carries: no writer's commit releases
/// it (`Pins::release_seq` never matches it); recovery does.
pub(crate) const RUN_PIN: u64 = u64::MAX - 2;

/// How often (at most) evicting writers ask whether the writers of pinned
/// records are still alive.
#[cfg(not(loom))]
const REAP_EVERY_MS: u64 = 10;

/// CLOCK_MONOTONIC in ms: one clock for every process.
#[cfg(not(loom))]
fn mono_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer; async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

impl Shared {
    /// A ring file: the claims from `x` (seq `s`) have no headers (at the
    /// tail, their extent cannot be told group by group). The first writer
    /// or reader to find them notes when (in the header); once that is
    /// `STALL_UNWRITTEN` ago, returns the run's extent and group count,
    /// for an evicting writer to pin for good (module doc).
    #[cfg(not(loom))]
    pub(crate) fn stuck_run(&self, x: u64, s: u64) -> Option<(u64, u64)> {
        if !self.is_file() {
            return None;
        }
        let h = self.header();
        let now = mono_ms();
        // Acquire: the time stored with this position is visible.
        if h.stuck_pos.load(Ordering::Acquire) != x + 1 {
            h.stuck_since.store(now, Ordering::Relaxed);
            h.stuck_pos.store(x + 1, Ordering::Release);
            return None;
        }
        // Relaxed: ordered after the position's Acquire load above.
        if now.saturating_sub(h.stuck_since.load(Ordering::Relaxed)) < STALL_UNWRITTEN.as_millis() as u64 {
            return None;
        }
        self.unwritten_run(x, s)
    }

    #[cfg(loom)]
    pub(crate) fn stuck_run(&self, _x: u64, _s: u64) -> Option<(u64, u64)> {
        None
    }

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

    /// A ring file with pins held: `reap_pins`, at most every
    /// REAP_EVERY_MS across all writers (one clock read otherwise).
    #[cfg(not(loom))]
    pub(crate) fn reap_pins_now_and_then(&self) {
        let h = self.header();
        let now = mono_ms();
        let last = h.reap_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= REAP_EVERY_MS
            && h.reap_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            self.reap_pins();
        }
    }

    #[cfg(loom)]
    pub(crate) fn reap_pins_now_and_then(&self) {}

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
