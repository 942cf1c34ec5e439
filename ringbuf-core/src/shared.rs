//! `Shared`: what every handle and reader of one ring holds, and the check
//! every reading path makes (is a frame still intact and still retained).

use crate::error::Error;
use crate::futex::Scope;
use crate::layout::{pos_of, slack, Header, CLOSED};
use crate::pos::Geometry;
use crate::region::Region;
use crate::registry::Registry;
use crate::sync::{fence, AtomicPair, AtomicUsize, Ordering, Pair};

/// Everything one ring's handles and readers share.
pub(crate) struct Shared {
    pub(crate) region: Region,
    pub(crate) geo: Geometry,
    /// Keys the frame markers (`frame`).
    pub(crate) key: u64,
    pub(crate) max_record: u64,
    /// Private futex for a ring in memory, shared for one in a file.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) scope: Scope,
    /// Live readers' progress, for flush.
    pub(crate) registry: Registry,
    /// Live `Ring` handles; the ring closes when the last one goes.
    pub(crate) handles: AtomicUsize,
    /// The fork generation the ring was made in (`fork`).
    generation: u64,
}

/// A random key for a new ring's markers, without a system call of our own:
/// std's per-process random hasher keys, mixed with the time and an address.
fn new_key() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_usize(&h as *const _ as usize);
    h.finish()
}

impl Shared {
    /// A new ring in memory keeping `capacity` bytes (a power of two).
    pub(crate) fn new(capacity: u64) -> Result<Shared, Error> {
        if !AtomicPair::lock_free() {
            return Err(Error::InvalidArgument("this CPU has no lock-free 16-byte compare-and-swap"));
        }
        let data = capacity + slack(capacity);
        let max_record = capacity / 4;
        let key = new_key();
        let region = Region::new(Header::new(capacity, max_record, data, key))?;
        crate::fork::watch();
        Ok(Shared {
            region,
            geo: Geometry::new(capacity, data),
            key,
            max_record,
            scope: Scope::Private,
            registry: Registry::new(),
            handles: AtomicUsize::new(1),
            generation: crate::fork::generation(),
        })
    }

    /// The region header.
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        self.region.header()
    }

    /// True in the child of a fork that happened after the ring was made.
    #[inline]
    pub(crate) fn forked(&self) -> bool {
        crate::fork::generation() != self.generation
    }

    /// `Err(Forked)` in the child of a fork.
    #[inline]
    pub(crate) fn check_fork(&self) -> Result<(), Error> {
        if self.forked() {
            Err(Error::Forked)
        } else {
            Ok(())
        }
    }

    /// The claim word: (end of the last claimed frame | flags, next seq).
    #[inline]
    pub(crate) fn claim_word(&self) -> Pair {
        // Acquire: pairs with the claim CAS (and `close`).
        self.header().claim.load(Ordering::Acquire)
    }

    /// True once `close` ran.
    pub(crate) fn is_closed(&self) -> bool {
        self.claim_word().pos & CLOSED != 0
    }

    /// True when the ring is closed and everything claimed lies before `x`:
    /// a reader at `x` has reached the end for good.
    pub(crate) fn finished_at(&self, x: u64) -> bool {
        let c = self.claim_word();
        c.pos & CLOSED != 0 && x >= pos_of(c)
    }

    /// Validates what was read of the frame at `x` (its header, its
    /// payload): true when no writer can have overwritten it meanwhile and
    /// it is still retained (it starts within the newest `capacity` bytes).
    ///
    /// Ordering: the Acquire fence pairs with the Release fence a writer
    /// runs after its claim and before its first store into the data area
    /// (`write`). If what we read includes one byte of such a store, the
    /// fence makes the tail that writer saw (already past `x`) visible to
    /// the load below.
    ///
    /// Retention: every claim ends at most `data - 16` bytes after the tail
    /// it saw, so a frame at least `data - capacity` bytes after the tail
    /// read here is retained without reading the claim (whose line every
    /// write changes); frames nearer the tail read it.
    #[inline]
    pub(crate) fn valid(&self, x: u64) -> bool {
        fence(Ordering::Acquire);
        let h = self.header();
        let t = h.tail.load(Ordering::Relaxed);
        if t.pos > x {
            return false;
        }
        let g = self.geo;
        if x >= g.advance(t.pos, g.data - g.cap) {
            return true;
        }
        x >= g.back(pos_of(h.claim.load(Ordering::Relaxed)), g.cap)
    }
}
