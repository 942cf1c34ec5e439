//! A ring made before `fork` refuses to work in the child (never a
//! deadlock); one made in the child works; the parent is unaffected. The C
//! library and the Python module register `fork::forked_child` with
//! `pthread_atfork`; here the test calls it in the child itself.

use std::time::Duration;

use ringbuf_core::{fork, Error, Ring, Start};

#[test]
fn an_inherited_ring_refuses_to_work_in_the_child() {
    let ring = Ring::new(4096).unwrap();
    let mut rd = ring.reader(Start::Oldest).unwrap();
    ring.write(b"before").unwrap();
    // SAFETY: the child below only runs code that takes no lock another
    // thread could hold (the ring refuses before any), then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        fork::forked_child();
        let ok = ring.is_forked()
            && rd.is_forked()
            && ring.write(b"child") == Err(Error::Forked)
            && rd.try_next() == Err(Error::Forked)
            && rd.next_timeout(Duration::from_secs(3600)) == Err(Error::Forked)
            && ring.flush_timeout(Duration::from_secs(3600)).is_err()
            && ring.reader(Start::Oldest).unwrap().try_next() == Err(Error::Forked)
            && {
                let fresh = Ring::new(4096).unwrap();
                let mut frd = fresh.reader(Start::Oldest).unwrap();
                fresh.write(b"fresh").unwrap();
                frd.try_next().map(|r| r.data) == Ok(b"fresh".to_vec())
            };
        drop(rd);
        drop(ring);
        // SAFETY: ends the child without running the parent's test harness.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed: status {status:#x}");
    assert!(!ring.is_forked());
    ring.write(b"after").unwrap();
    assert_eq!(rd.try_next().unwrap().data, b"before");
    assert_eq!(rd.try_next().unwrap().data, b"after");
}
