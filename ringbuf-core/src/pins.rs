//! Pins: the ranges of the data area that stalled writers still own.
//!
//! A writer claims its frame, then copies. If it is preempted, stopped in a
//! debugger or interrupted for long enough, the ring laps it: the frame it
//! is still writing reaches the tail. Other writers must neither wait for it
//! nor overwrite its bytes (it will go on copying into them). So the
//! writer that moves the tail past it first *pins* it: it records (seq,
//! position, extent) in one of `PINS` slots in the region header and sets
//! the slot's bit in `pins_mask`. From then on, claims place their frames
//! around the pinned bytes (a skip frame covers them, `write`), lap after
//! lap, until the stalled writer commits and releases the pin itself (or
//! marks its frame dead). Readers are simply lapped past the stalled
//! record: it counts as lost for them, like any record evicted before they
//! read it.
//!
//! Pinning and committing race; both sides run a `SeqCst` fence between
//! their store and their load (a Dekker pair, checked by loom):
//!
//! * pin: fill the slot, set the bit; fence; re-read the frame's marker: if
//!   it was committed meanwhile, release the pin at once.
//! * commit: store the marker; fence; read `pins_mask`: if a bit is set,
//!   release any pin of this seq.
//!
//! Either the pinner sees the commit or the committer sees the pin, so no
//! pin outlives its writer's commit. All slots taken means Busy.

use crate::layout::{Header, PinSlot, PINS};
use crate::sync::{fence, Ordering};

/// A pinned range: the stalled record's seq, and the bytes it owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pin {
    pub seq: u64,
    pub pos: u64,
    pub ext: u64,
}

const FREE: u64 = 0;
const BUSY: u64 = 1;

/// The pin table of a region header.
pub(crate) struct Pins<'a>(pub(crate) &'a Header);

impl Pins<'_> {
    fn slot(&self, i: usize) -> &PinSlot {
        &self.0.pins[i]
    }

    /// Bit i set: slot i may hold a pin (Acquire: its fields are visible).
    #[inline]
    pub(crate) fn mask(&self) -> u64 {
        self.0.pins_mask.load(Ordering::Acquire)
    }

    /// Pins `pin`; the slot index, or `None` when every slot is taken.
    pub(crate) fn pin(&self, pin: Pin) -> Option<usize> {
        for i in 0..PINS {
            let slot = self.slot(i);
            if slot.seq.compare_exchange(FREE, BUSY, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                slot.pos.store(pin.pos, Ordering::Relaxed);
                slot.ext.store(pin.ext, Ordering::Relaxed);
                // Release: the fields above are visible to whoever reads the
                // seq (`get`).
                slot.seq.store(pin.seq + 2, Ordering::Release);
                // Release: pairs with the Acquire in `mask`; a claimer that
                // sees the bit sees the slot.
                self.0.pins_mask.fetch_or(1 << i, Ordering::Release);
                return Some(i);
            }
        }
        None
    }

    /// Releases slot `i` if it still pins `seq`; true if this call did.
    pub(crate) fn release(&self, i: usize, seq: u64) -> bool {
        let slot = self.slot(i);
        if slot.seq.compare_exchange(seq + 2, BUSY, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            return false;
        }
        self.0.pins_mask.fetch_and(!(1 << i), Ordering::Release);
        slot.seq.store(FREE, Ordering::Release);
        true
    }

    /// Releases every pin of `seq` (its writer committed or gave up). The
    /// caller ran a SeqCst fence after its commit (module doc).
    pub(crate) fn release_seq(&self, seq: u64) {
        let mut bits = self.0.pins_mask.load(Ordering::Relaxed);
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if self.slot(i).seq.load(Ordering::Acquire) == seq + 2 {
                self.release(i, seq);
            }
        }
    }

    /// The pin in slot `i`, read consistently (a seqlock on the slot's
    /// seq, which is unique per pin); `None` if the slot is free or changing.
    pub(crate) fn get(&self, i: usize) -> Option<Pin> {
        let slot = self.slot(i);
        let s1 = slot.seq.load(Ordering::Acquire);
        if s1 <= BUSY {
            return None;
        }
        let pos = slot.pos.load(Ordering::Relaxed);
        let ext = slot.ext.load(Ordering::Relaxed);
        // Acquire fence: the field loads above happen before the re-check.
        fence(Ordering::Acquire);
        (slot.seq.load(Ordering::Relaxed) == s1).then_some(Pin { seq: s1 - 2, pos, ext })
    }

    /// Every pin in `bits` (a value of `mask`).
    pub(crate) fn each(&self, mut bits: u64) -> impl Iterator<Item = Pin> + '_ {
        std::iter::from_fn(move || {
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(p) = self.get(i) {
                    return Some(p);
                }
            }
            None
        })
    }
}
