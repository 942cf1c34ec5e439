//! Virtual positions: where a byte of the ring's history lives.
//!
//! The data area holds `data` bytes (the capacity plus a slack, see
//! `layout`), which is not a power of two. Positions count laps and offsets
//! without a division: position `v` is `lap << shift | offset`, where
//! `2^shift >= data` and `offset < data`. Offsets `data..2^shift` are never
//! used, so positions grow monotonically with the bytes written but skip a
//! gap at every lap: compare positions as plain integers, measure bytes with
//! [`Geometry::dist`]. 2^64 positions cover at least 2^63 bytes of history
//! whatever the ring's size (292 years at 1 GB/s): positions never wrap.
//!
//! Every position in the protocol is a multiple of 8; the low three bits of
//! the claim's position carry flags (`layout::CLOSED`).

/// The sizes of a ring, and position arithmetic over them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Retention capacity: the ring keeps the newest records whose frames
    /// fit in this many bytes.
    pub cap: u64,
    /// Bytes in the data area (`cap` plus the slack), a multiple of 8.
    pub data: u64,
    /// `log2` of the lap stride: `2^(shift - 1) < data <= 2^shift`.
    pub shift: u32,
    /// `2^shift - 1`: the offset bits of a position.
    off_mask: u64,
}

impl Geometry {
    /// The geometry of a ring keeping `cap` bytes with `data` bytes of room.
    pub(crate) fn new(cap: u64, data: u64) -> Geometry {
        debug_assert!(data > cap && data % 8 == 0 && cap % 8 == 0);
        let shift = 64 - (data - 1).leading_zeros();
        Geometry { cap, data, shift, off_mask: (1 << shift) - 1 }
    }

    /// Offset of `v` in the data area.
    #[inline]
    pub(crate) fn off(&self, v: u64) -> u64 {
        v & self.off_mask
    }

    #[inline]
    fn lap(&self, v: u64) -> u64 {
        v >> self.shift
    }

    /// The position `n` bytes after `v` (`n <= data`).
    #[inline]
    pub(crate) fn advance(&self, v: u64, n: u64) -> u64 {
        debug_assert!(n <= self.data && self.off(v) < self.data);
        let o = self.off(v) + n;
        if o < self.data {
            v + n
        } else {
            // The next lap: skip the unused offsets `data..2^shift`.
            v + n + (self.off_mask + 1 - self.data)
        }
    }

    /// The position `n` bytes before `v` (`n <= data`), or 0 when that would
    /// be before the ring's first byte.
    #[inline]
    pub(crate) fn back(&self, v: u64, n: u64) -> u64 {
        debug_assert!(n <= self.data);
        let o = self.off(v);
        if o >= n {
            v - n
        } else if self.lap(v) == 0 {
            0
        } else {
            ((self.lap(v) - 1) << self.shift) | (o + self.data - n)
        }
    }

    /// Bytes from `b` to `a` (`a >= b`).
    #[inline]
    pub(crate) fn dist(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a >= b);
        (self.lap(a) - self.lap(b)) * self.data + self.off(a) - self.off(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_advance_across_laps_and_measure_bytes() {
        let g = Geometry::new(1024, 1088);
        assert_eq!(g.shift, 11);
        let mut v = 0;
        let mut bytes = 0;
        for step in [16u64, 1000, 72, 8, 1088, 24, 512, 512, 64] {
            let next = g.advance(v, step);
            assert!(next > v, "positions grow");
            assert_eq!(g.dist(next, v), step);
            assert_eq!(g.back(next, step), v);
            assert!(g.off(next) < g.data);
            bytes += step;
            assert_eq!(g.dist(next, 0), bytes);
            v = next;
        }
        assert_eq!(g.back(16, 1024), 0, "before the start");
    }
}
