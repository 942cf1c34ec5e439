//! A ring in a file: the flight recorder.
//!
//! The region (`layout`: header, tables, data) is the file, mapped with
//! `MAP_SHARED` by every process that opens it, so that whatever a writer
//! committed is in the file the moment it is committed, and survives the
//! writer's crash without any flush. Nothing a writer, reader or flush
//! needs lives outside the mapping: positions, the futex word (a shared
//! futex: a write in one process wakes readers in all), reader progress,
//! sessions, the closed flag.
//!
//! **Creating.** A missing file is made whole before anyone can see it: a
//! temporary file next to it (mode 0600) gets its size once, with its
//! blocks reserved (`posix_fallocate`, so that no page of it can fault for
//! want of disk space later) and a fresh header; then `link(2)` publishes it
//! under the path, which fails if another process published one first (we
//! then open theirs). The file's size never changes afterwards.
//!
//! **Opening.** The header is read with `pread` and checked (`image`)
//! before anything is mapped: a file that is not a ring, of another
//! version, truncated or with contradicting positions is refused with
//! `BadFile` and left untouched. Then it is mapped, guarded against
//! SIGBUS (`sigbus`), and the handle takes the open lock and a session
//! (`session`).
//!
//! **Recovering.** An opener that finds itself alone with the file (it
//! gets the open lock as a write lock) checks every frame from the tail to
//! the claim; any frame that is neither whole nor explainable as a
//! record a dead writer left behind makes the file `BadFile`, untouched.
//! Otherwise it repairs what dead processes left: records still pending or
//! claimed without a header become dead records (readers count them as
//! lost), pins, sleeper flags and reader slots are cleared. Then it turns
//! the lock into a read lock and goes on like any opener. While other
//! processes have the file open, dead writers' records are reaped as they
//! are found instead (`reap`).

#![cfg(not(loom))]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;
use std::time::Duration;

use crate::error::Error;
use crate::frame::{Frame, HEADER_LEN};
use crate::futex::Scope;
use crate::image::{check_header, HeaderInfo, ImageError};
use crate::layout::{pos_of, Header, FILE_HEADER_SIZE, HEADER_SIZE};
use crate::region::Region;
use crate::session::{open_lock, shared_open_lock, Session};
use crate::shared::Shared;
use crate::sync::{Ordering, Pair};

/// How long an opener waits for another opener that is recovering the file.
const RECOVERY_PATIENCE: Duration = Duration::from_secs(10);

/// The errno of the last failed system call.
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// What a header check's failure means for an opener.
fn bad(e: ImageError) -> Error {
    Error::BadFile(match e {
        ImageError::Length => "the file's length does not match a ring (empty, truncated or grown)",
        ImageError::Magic => "not a ringlog ring file (bad magic)",
        ImageError::Version(_) => "a ring file of another format version",
        ImageError::Header(_) => "the ring file's header is inconsistent",
    })
}

fn c_path(p: &Path) -> Result<CString, Error> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::InvalidArgument("path contains a NUL byte"))
}

/// `open(2)` with O_CLOEXEC.
fn open_fd(path: &CString, flags: libc::c_int, mode: libc::mode_t) -> Result<OwnedFd, i32> {
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, libc::c_uint::from(mode)) };
    if fd < 0 {
        Err(errno())
    } else {
        // SAFETY: a fresh descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// Size of the open file.
fn file_len(fd: &OwnedFd) -> Result<u64, Error> {
    // SAFETY: a zeroed stat is a valid value; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open, `st` lives across the call.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(Error::Io(errno()));
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Error::BadFile("not a regular file"));
    }
    Ok(st.st_size as u64)
}

/// A shared read-write mapping of the first `len` bytes of `fd`.
fn map(fd: &OwnedFd, len: u64) -> Result<NonNull<u8>, Error> {
    let len = usize::try_from(len).map_err(|_| Error::NoMemory)?;
    // SAFETY: a fresh mapping chosen by the kernel; nothing is overwritten.
    let p = unsafe {
        libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd.as_raw_fd(), 0)
    };
    if p == libc::MAP_FAILED {
        let e = errno();
        return Err(if e == libc::ENOMEM { Error::NoMemory } else { Error::Io(e) });
    }
    NonNull::new(p.cast::<u8>()).ok_or(Error::Io(libc::EINVAL))
}

/// Creates a ring file of `capacity` bytes (a power of two) at `path`,
/// whole, or finds that another process created one first (`Ok(None)`).
fn create(path: &Path, cpath: &CString, capacity: u64) -> Result<Option<OwnedFd>, Error> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or(Error::InvalidArgument("the path names no file"))?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.{nanos}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let ctmp = c_path(&tmp)?;
    let fd = open_fd(&ctmp, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o600).map_err(Error::Io)?;
    let made = (|| {
        let header = Shared::new_header(capacity, true);
        let len = FILE_HEADER_SIZE as u64 + header.data_size;
        let off = libc::off_t::try_from(len).map_err(|_| Error::InvalidArgument("capacity too large for a file"))?;
        // Reserve the blocks: a page of a sparse file can fault (SIGBUS)
        // when the disk is full. Filesystems that cannot reserve get a
        // plain size.
        // SAFETY: `fd` is open for writing.
        match unsafe { libc::posix_fallocate(fd.as_raw_fd(), 0, off) } {
            0 => {}
            libc::EOPNOTSUPP | libc::EINVAL => {
                // SAFETY: as above.
                if unsafe { libc::ftruncate(fd.as_raw_fd(), off) } != 0 {
                    return Err(Error::Io(errno()));
                }
            }
            e => return Err(Error::Io(e)),
        }
        let base = map(&fd, len)?;
        // SAFETY: the mapping is `len >= HEADER_SIZE` bytes, page-aligned,
        // and nobody else can see the file yet.
        unsafe {
            base.cast::<Header>().as_ptr().write(header);
            libc::munmap(base.as_ptr().cast(), len as usize);
        }
        // SAFETY: both paths are NUL-terminated strings.
        if unsafe { libc::link(ctmp.as_ptr(), cpath.as_ptr()) } != 0 {
            return match errno() {
                libc::EEXIST => Ok(false),
                e => Err(Error::Io(e)),
            };
        }
        Ok(true)
    })();
    // SAFETY: a NUL-terminated path; the temporary name goes either way.
    unsafe { libc::unlink(ctmp.as_ptr()) };
    match made {
        Ok(true) => Ok(Some(fd)),
        Ok(false) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads the header of the open file and checks it against its length.
fn read_header(fd: &OwnedFd) -> Result<HeaderInfo, Error> {
    let len = file_len(fd)?;
    let mut buf = [0u8; HEADER_SIZE];
    if len < HEADER_SIZE as u64 {
        return Err(bad(ImageError::Length));
    }
    let mut got = 0;
    while got < HEADER_SIZE {
        // SAFETY: the buffer has HEADER_SIZE - got bytes left from `got`.
        let n = unsafe {
            libc::pread(fd.as_raw_fd(), buf[got..].as_mut_ptr().cast(), HEADER_SIZE - got, got as libc::off_t)
        };
        match n {
            n if n > 0 => got += n as usize,
            0 => return Err(bad(ImageError::Length)),
            _ if errno() == libc::EINTR => {}
            _ => return Err(Error::Io(errno())),
        }
    }
    let info = check_header(&buf, len).map_err(bad)?;
    if !info.file {
        return Err(Error::BadFile("a ring image, not a ring file"));
    }
    Ok(info)
}

/// How to open a ring file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OpenMode {
    /// Capacity to create a missing file with, or to require of an existing
    /// one (0: create nothing, take any capacity).
    pub(crate) capacity: u64,
    /// Open a closed ring again for writing (a program's next run); tools
    /// that only read leave it closed.
    pub(crate) reopen: bool,
}

impl Shared {
    /// Opens (or creates) the ring file at `path` (module doc).
    pub(crate) fn open_file(path: &Path, mode: OpenMode) -> Result<Shared, Error> {
        if !crate::sync::AtomicPair::lock_free() {
            return Err(Error::InvalidArgument("this CPU has no lock-free 16-byte compare-and-swap"));
        }
        let cpath = c_path(path)?;
        let fd = loop {
            match open_fd(&cpath, libc::O_RDWR, 0) {
                Ok(fd) => break fd,
                Err(libc::ENOENT) if mode.capacity != 0 => {
                    if let Some(fd) = create(path, &cpath, mode.capacity)? {
                        break fd;
                    }
                    // Another process created it first: open theirs.
                }
                Err(e) => return Err(Error::Io(e)),
            }
        };
        let info = read_header(&fd)?;
        if mode.capacity != 0 && mode.capacity != info.capacity {
            return Err(Error::InvalidArgument("the ring file exists with another capacity"));
        }
        let len = info.region_len();
        let base = map(&fd, len)?;
        // From here the mapping is unmapped by the region if anything fails.
        // SAFETY: a page-aligned MAP_SHARED mapping of `len` bytes, which
        // only the region will unmap, whose header was checked against `len`.
        let region = unsafe { Region::mapped(base, len as usize) };
        // The header may have changed between the read and the mapping
        // (another process wrote meanwhile, or someone rewrote the file):
        // check what is mapped, and that the file is still whole.
        let h = region.header();
        if h.key != info.key || h.capacity != info.capacity || file_len(&fd)? < len {
            return Err(Error::BadFile("the ring file changed while it was being opened"));
        }
        let alone = open_lock(&fd, RECOVERY_PATIENCE)?;
        let tables = region.tables().ok_or(Error::BadFile("not a ring file"))?;
        if alone {
            // Check before taking a session: a bad file stays untouched.
            let repairs = Repairs::find(&region)?;
            repairs.apply(&region);
            shared_open_lock(&fd)?;
        }
        let session = Session::take(fd, tables)?;
        let owner = session.tag;
        let shared = Shared::with_region(region, Scope::Shared, owner, Some(session));
        if mode.reopen {
            shared.reopen();
        }
        Ok(shared)
    }

    /// Clears the closed flag: the ring takes writes again.
    fn reopen(&self) {
        let h = self.header();
        let mut cur = h.claim.load(Ordering::Acquire);
        while cur.pos & crate::layout::CLOSED != 0 {
            let open = Pair { pos: pos_of(cur), seq: cur.seq };
            match h.claim.compare_exchange(cur, open, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
    }
}

/// A frame group a dead writer left unfinished: record `seq` at `x`,
/// `Pending`, or claimed without a header over `ext` bytes.
#[derive(Clone, Copy, Debug)]
enum Repair {
    Pending {
        x: u64,
        seq: u64,
    },
    /// `groups` claims in a row without headers over `ext` bytes (one, or
    /// a run whose boundaries are lost, `Shared::unwritten_run`).
    Unwritten {
        x: u64,
        seq: u64,
        ext: u64,
        groups: u64,
    },
}

/// What recovery will change (found first, so that a bad file is refused
/// untouched).
struct Repairs(Vec<Repair>);

impl Repairs {
    /// Walks every frame from the tail to the claim of a file nobody else
    /// has open. Every frame must be whole, or a record whose writer died.
    fn find(region: &Region) -> Result<Repairs, Error> {
        // A temporary view with the frame functions of `Shared` (no session:
        // this process owns nothing in the file yet, everything pending is
        // a dead writer's).
        let view = View::new(region);
        let sh = &view.0;
        let g = sh.geo;
        let h = sh.header();
        let claim = h.claim.load(Ordering::Acquire);
        let tail = h.tail.load(Ordering::Acquire);
        let end = pos_of(claim);
        let (mut x, mut s) = (tail.pos, tail.seq);
        let mut fixes = Vec::new();
        // True when the word at `y` is a marker made for position `y` in
        // a frame group near seq `s`: a header was written there. Positions
        // are never reused and markers are keyed by position (with the
        // ring's secret key), so the bytes an older lap or a payload left at
        // `y` are no such marker but by chance (2^-59 per word).
        let header_at = |y: u64, s: u64| {
            let w0 = sh.region.word(g.off(y)).load(Ordering::Acquire);
            crate::frame::unmark(sh.key, y, w0).is_some_and(|(q, _)| q.abs_diff(s) <= 2)
        };
        const DAMAGED: Error = Error::BadFile("a record in the ring file is damaged");
        while x < end {
            let f = sh.frame(x, s);
            let mut groups = 1;
            let size = match f {
                Frame::Pending { .. } => {
                    fixes.push(Repair::Pending { x, seq: s });
                    f.size()
                }
                Frame::Unwritten => {
                    // A writer that died before its first store left no
                    // marker for `x` here. A marker for `x` means a header
                    // was written, `w1` before `w0`: it would be whole, and
                    // of the seq the walk expects. One that is neither is
                    // damage (a bad `w1`, a bad length, a walk gone astray).
                    if header_at(x, s) {
                        return Err(DAMAGED);
                    }
                    let one = sh.unwritten_extent(x, s).map(|e| (e, 1));
                    let run = one.or_else(|| sh.unwritten_run(x, s));
                    let (ext, k) = run.filter(|&(e, k)| k <= e / HEADER_LEN && e % 8 == 0).ok_or(DAMAGED)?;
                    fixes.push(Repair::Unwritten { x, seq: s, ext, groups: k });
                    groups = k;
                    Some(ext)
                }
                _ => f.size(),
            };
            let size = size.ok_or(DAMAGED)?;
            if size > g.dist(end, x) || s >= claim.seq {
                return Err(Error::BadFile("a record in the ring file overruns the claimed bytes"));
            }
            // Lengths no check vouches for (a claim without a header; in a
            // ring file, every frame's but a skip frame's): the bytes they
            // cover were claimed by one writer that wrote no header among
            // them, so a header there means the length is wrong, and going
            // on would take whole records for a dead writer's bytes (and
            // write a dead frame into them).
            if !matches!(f, Frame::Skip { .. }) {
                let stop = g.advance(x, size);
                let mut y = g.advance(x, 8);
                while y < stop {
                    if header_at(y, s) {
                        return Err(DAMAGED);
                    }
                    y = g.advance(y, 8);
                }
            }
            s = if let Frame::Unwritten = f { s + groups } else { f.next_seq(s) };
            x = g.advance(x, size);
        }
        if x != end || s != claim.seq {
            return Err(Error::BadFile("the ring file's records do not add up to its header"));
        }
        // Nothing was ever claimed at the claim: a header there means the
        // claim went back (readers would take the frames after it).
        if header_at(end, s) {
            return Err(Error::BadFile("the ring file holds records beyond its claim"));
        }
        Ok(Repairs(fixes))
    }

    /// Repairs the file (its opener is alone with it), and counts the
    /// check in `recoveries` (whether or not anything needed repair).
    fn apply(&self, region: &Region) {
        use crate::frame::Kind;
        let view = View::new(region);
        let sh = &view.0;
        let h = sh.header();
        let put = |x: u64, seq: u64, kind: Kind, len: u64| sh.put_header(x, sh.mask_at(x), seq, kind, len);
        let mut dead = 0;
        for fix in &self.0 {
            match *fix {
                Repair::Pending { x, seq } => {
                    sh.kill_pending(x, seq);
                    dead += 1;
                }
                Repair::Unwritten { x, seq, ext, groups: 1 } if ext - HEADER_LEN <= sh.max_record => {
                    put(x, seq, Kind::Dead, ext - HEADER_LEN);
                    dead += 1;
                }
                Repair::Unwritten { x, seq, ext, groups } => {
                    // A skip frame over the rest, then one empty dead
                    // record per claim (8 bytes left over go to the first).
                    let mut y = x;
                    let rest = ext - HEADER_LEN * groups;
                    let mut first_len = 0;
                    if rest >= HEADER_LEN {
                        put(y, seq, Kind::Skip, rest);
                        y = sh.geo.advance(y, rest);
                    } else {
                        first_len = rest;
                    }
                    for k in 0..groups {
                        let len = if k == 0 { first_len } else { 0 };
                        put(y, seq + k, Kind::Dead, len);
                        y = sh.geo.advance(y, crate::frame::frame_size(len));
                    }
                    dead += groups;
                }
            }
        }
        let t = region.tables();
        let dirty = dead > 0
            || h.pins_mask.load(Ordering::Relaxed) != 0
            || h.pins.iter().any(|p| p.seq.load(Ordering::Relaxed) != 0)
            || h.sleepers.load(Ordering::Relaxed) != 0
            || t.is_some_and(|t| t.readers.iter().any(|r| r.id.load(Ordering::Relaxed) != 0));
        if dirty {
            self.clear(h, t, dead);
        }
        h.recoveries.fetch_add(1, Ordering::Release);
    }

    /// Forgets what dead processes held: pins, sleepers, reader slots.
    fn clear(&self, h: &Header, t: Option<&crate::layout::Tables>, dead: u64) {
        h.reaped.fetch_add(dead, Ordering::Relaxed);
        for p in &h.pins {
            p.seq.store(0, Ordering::Relaxed);
        }
        h.pins_mask.store(0, Ordering::Relaxed);
        h.sleepers.store(0, Ordering::Relaxed);
        h.flush_at.store(u64::MAX, Ordering::Relaxed);
        if let Some(t) = t {
            crate::registry::file::clear(t);
        }
        h.stuck_pos.store(0, Ordering::Relaxed);
    }
}

/// `Shared`'s frame functions over a region it does not own (recovery
/// runs before the opener's own `Shared` exists).
struct View(std::mem::ManuallyDrop<Shared>);

impl View {
    fn new(region: &Region) -> View {
        // SAFETY: a bitwise copy of the region handle, never dropped
        // (ManuallyDrop): it neither unmaps nor outlives `region`.
        let alias = unsafe { std::ptr::read(region) };
        // Owner 1 only marks the view as a ring file (`is_file`); it owns
        // nothing and takes nothing, and `alive` says no for every session
        // (no session here): everything pending is a dead writer's.
        let sh = Shared::with_region(alias, Scope::Shared, 1, None);
        View(std::mem::ManuallyDrop::new(sh))
    }
}
