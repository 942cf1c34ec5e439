//! The baselines ringlog is measured against, in the same process and run.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Mutex;

/// The physical limit: copying `size` bytes into a buffer of the ring's
/// size, at the next offset each time (as a ring writes).
pub struct Memcpy {
    dst: Vec<u8>,
    src: Vec<u8>,
    off: usize,
}

impl Memcpy {
    pub fn new(ring: usize, size: usize) -> Memcpy {
        Memcpy { dst: vec![1; ring], src: vec![7; size], off: 0 }
    }

    #[inline]
    pub fn copy(&mut self) {
        let n = self.src.len();
        if self.off + n > self.dst.len() {
            self.off = 0;
        }
        self.dst[self.off..self.off + n].copy_from_slice(black_box(&self.src));
        self.off += n;
        black_box(&mut self.dst);
    }
}

/// The first thing anyone writes: a `Mutex<VecDeque<u8>>` of length-prefixed
/// records, dropping the oldest when full.
pub struct MutexRing {
    q: Mutex<VecDeque<u8>>,
    cap: usize,
}

impl MutexRing {
    pub fn new(cap: usize) -> MutexRing {
        MutexRing { q: Mutex::new(VecDeque::with_capacity(cap)), cap }
    }

    pub fn write(&self, data: &[u8]) {
        let mut q = self.q.lock().unwrap();
        while q.len() + 4 + data.len() > self.cap {
            let mut len = [0u8; 4];
            for (i, b) in q.drain(..4).enumerate() {
                len[i] = b;
            }
            q.drain(..u32::from_le_bytes(len) as usize);
        }
        q.extend((data.len() as u32).to_le_bytes());
        q.extend(data);
    }
}

/// `ringbuf` (a well-known lock-free ring of bytes, single producer): its
/// overwriting push, no record framing.
pub struct ByteRing {
    rb: ringbuf::HeapRb<u8>,
}

impl ByteRing {
    pub fn new(cap: usize) -> ByteRing {
        ByteRing { rb: ringbuf::HeapRb::new(cap) }
    }

    #[inline]
    pub fn write(&mut self, data: &[u8]) {
        use ringbuf::traits::RingBuffer;
        self.rb.push_slice_overwrite(black_box(data));
    }
}
