//! A write performs no heap allocation: a counting global allocator watches
//! the writer thread through a million writes while readers run (and sleep
//! and get woken) on other threads.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use ringbuf_core::{Error, Ring, Start};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the
// thread-local counter is const-initialised and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs_here() -> u64 {
    ALLOCS.with(|c| c.get())
}

#[test]
fn a_million_writes_allocate_nothing() {
    let _dog = common::watchdog("a_million_writes_allocate_nothing", Duration::from_secs(120));
    let ring = Ring::new(1 << 16).unwrap();
    // A fast reader, a slow one (lapped), and one that mostly sleeps, so
    // writes take the wake-up path too.
    let readers: Vec<_> = [0u64, 1, 50]
        .into_iter()
        .map(|pause_us| {
            let mut rd = ring.reader(Start::Oldest).unwrap();
            std::thread::spawn(move || {
                let mut n = 0u64;
                loop {
                    match rd.next_timeout(Duration::from_secs(20)) {
                        Ok(_) => n += 1,
                        Err(Error::Closed) => return n,
                        Err(e) => panic!("{e:?}"),
                    }
                    if pause_us > 0 && n % 1000 == 0 {
                        std::thread::sleep(Duration::from_micros(pause_us * 100));
                    }
                }
            })
        })
        .collect();
    let line = [b'x'; 100];
    ring.write(&line).unwrap(); // first use of lazily set-up state, if any
    let n = common::scaled(1_000_000) as u32; // reads the environment: allocates
    let before = allocs_here();
    for i in 0..n {
        ring.write(&line[..(i % 100) as usize]).unwrap();
        if i % 100_000 == 0 {
            std::thread::sleep(Duration::from_millis(2)); // let readers park
        }
    }
    let after = allocs_here();
    assert_eq!(after - before, 0, "writes allocated {} times", after - before);
    assert!(ring.stats().wakeups > 0, "the wake-up path ran too");
    ring.close().unwrap();
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}
