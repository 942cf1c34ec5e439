//! Formatting a `write!` into one buffer so that it becomes one record.

use std::fmt;

/// Bytes formatted on the stack before spilling to the heap.
const INLINE: usize = 1024;

/// A line being formatted: on the stack up to 1 KiB, then on the heap.
pub(crate) struct Line {
    inline: [u8; INLINE],
    len: usize,
    spilled: Option<Vec<u8>>,
}

impl Line {
    pub(crate) fn new() -> Line {
        Line { inline: [0; INLINE], len: 0, spilled: None }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.spilled {
            Some(v) => v,
            None => &self.inline[..self.len],
        }
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(v) = &mut self.spilled {
            v.extend_from_slice(s.as_bytes());
        } else if self.len + s.len() <= INLINE {
            self.inline[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            let mut v = Vec::with_capacity((self.len + s.len()) * 2);
            v.extend_from_slice(&self.inline[..self.len]);
            v.extend_from_slice(s.as_bytes());
            self.spilled = Some(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    #[test]
    fn short_lines_stay_inline_and_long_lines_spill_whole() {
        let mut l = Line::new();
        let two = "two";
        write!(l, "a={} b={two}", 1).unwrap();
        assert_eq!(l.as_bytes(), b"a=1 b=two");
        assert!(l.spilled.is_none());
        let long = "x".repeat(3000);
        let mut l = Line::new();
        write!(l, "{}-{}", &long[..600], &long[..600]).unwrap();
        assert_eq!(l.as_bytes().len(), 1201);
        assert!(l.spilled.is_some());
    }
}
