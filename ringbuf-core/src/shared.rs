//! `Shared`: what every handle and reader of one ring holds, and the check
//! every reading path makes (is a frame still intact and still retained).

use crate::error::Error;
use crate::futex::Scope;
use crate::layout::Tag;
use crate::layout::{pos_of, slack, Header, CLOSED};
use crate::pos::Geometry;
use crate::region::Region;
use crate::registry::{Registry, Slot};
#[cfg(not(loom))]
use crate::session::Session;
use crate::sync::{fence, Arc, AtomicPair, AtomicUsize, Ordering, Pair};

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
    /// This handle's session tag in a ring file (0 in memory): what its
    /// pending frames carry (`frame`).
    pub(crate) owner: Tag,
    /// A ring in a file: the open file and its session (`session`).
    #[cfg(not(loom))]
    pub(crate) session: Option<Session>,
}

/// Where a reader publishes its progress (`registry`).
pub(crate) enum ReaderSlot {
    /// A ring in memory: a slot of the in-process registry.
    Local(Arc<Slot>),
    /// A ring in a file: slot `i` of the file's table.
    #[cfg_attr(loom, allow(dead_code))]
    File(usize),
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
        let region = Region::new(Shared::new_header(capacity, false))?;
        Ok(Shared::with_region(
            region,
            Scope::Private,
            0,
            #[cfg(not(loom))]
            None,
        ))
    }

    /// The header of a new ring keeping `capacity` bytes (a power of two).
    pub(crate) fn new_header(capacity: u64, file: bool) -> Header {
        let data = capacity + slack(capacity);
        Header::new(capacity, capacity / 4, data, new_key(), file)
    }

    /// The handles' state over a region (in memory, or a validated file).
    pub(crate) fn with_region(
        region: Region,
        scope: Scope,
        owner: Tag,
        #[cfg(not(loom))] session: Option<Session>,
    ) -> Shared {
        crate::fork::watch();
        let h = region.header();
        let (capacity, data, key, max_record) = (h.capacity, h.data_size, h.key, h.max_record);
        Shared {
            region,
            geo: Geometry::new(capacity, data),
            key,
            max_record,
            scope,
            registry: Registry::new(),
            handles: AtomicUsize::new(1),
            generation: crate::fork::generation(),
            owner,
            #[cfg(not(loom))]
            session,
        }
    }

    /// True for a ring in a file.
    #[inline]
    pub(crate) fn is_file(&self) -> bool {
        self.owner != 0
    }

    /// True when the session `tag` may still be writing or reading: always
    /// for a ring in memory, else as the kernel's locks say (`session`).
    pub(crate) fn alive(&self, tag: Tag) -> bool {
        #[cfg(not(loom))]
        if let (Some(s), Some(t)) = (&self.session, self.region.tables()) {
            return s.alive(t, tag);
        }
        let _ = tag;
        true
    }

    /// `Err(BadFile)` when the ring's file was shrunk under its mapping
    /// (`sigbus`).
    pub(crate) fn check_file(&self) -> Result<(), Error> {
        #[cfg(not(loom))]
        if self.region.broken() {
            return Err(Error::BadFile("the ring file was truncated while mapped"));
        }
        Ok(())
    }

    /// Registers a new reader owing records from seq `want` on.
    pub(crate) fn reader_add(&self, want: u64) -> Result<ReaderSlot, Error> {
        #[cfg(not(loom))]
        if let Some(t) = self.region.tables() {
            let h = self.header();
            return crate::registry::file::add(t, &h.reader_ids, want, self.owner, |tag| self.alive(tag))
                .map(ReaderSlot::File)
                .ok_or(Error::NoMemory); // all READER_SLOTS slots are held by live readers
        }
        self.header().readers.fetch_add(1, Ordering::Relaxed);
        Ok(ReaderSlot::Local(self.registry.add(want)))
    }

    /// Publishes a reader's progress; true when a flush waits for it.
    #[inline]
    pub(crate) fn reader_publish(&self, slot: &ReaderSlot, want: u64) -> bool {
        match slot {
            ReaderSlot::Local(s) => s.publish(want),
            #[cfg(not(loom))]
            ReaderSlot::File(i) => self.region.tables().is_some_and(|t| crate::registry::file::publish_at(t, *i, want)),
            #[cfg(loom)]
            ReaderSlot::File(_) => false,
        }
    }

    /// Unregisters a reader; true when a flush waited for it.
    pub(crate) fn reader_remove(&self, slot: &ReaderSlot) -> bool {
        match slot {
            ReaderSlot::Local(s) => {
                self.header().readers.fetch_sub(1, Ordering::Relaxed);
                self.registry.remove(s)
            }
            #[cfg(not(loom))]
            ReaderSlot::File(i) => self.region.tables().is_some_and(|t| crate::registry::file::remove(t, *i)),
            #[cfg(loom)]
            ReaderSlot::File(_) => false,
        }
    }

    /// Id the next reader will get (flushes wait for the ones before).
    pub(crate) fn readers_next_id(&self) -> u64 {
        #[cfg(not(loom))]
        if self.region.tables().is_some() {
            return crate::registry::file::next_id(&self.header().reader_ids);
        }
        self.registry.next_id()
    }

    /// True when every reader with an id below `before` owes nothing
    /// before seq `target` (see `Registry::all_past`).
    pub(crate) fn readers_all_past(&self, before: u64, target: u64) -> bool {
        #[cfg(not(loom))]
        if let Some(t) = self.region.tables() {
            return crate::registry::file::all_past(t, before, target, |tag| self.alive(tag));
        }
        self.registry.all_past(before, target)
    }

    /// Live readers (in every process, for a ring in a file).
    /// Async-signal-safe (atomics, and `fcntl` for a ring file).
    pub(crate) fn readers_count(&self) -> u64 {
        #[cfg(not(loom))]
        if let Some(t) = self.region.tables() {
            return crate::registry::file::count(t, |tag| self.alive(tag));
        }
        self.header().readers.load(Ordering::Relaxed)
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
