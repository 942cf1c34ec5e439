//! Byte sizes on the command line: `1048576`, `64KiB`, `16M`, `1GiB`.

use std::str::FromStr;

/// A size in bytes, parsed from a number with an optional binary suffix
/// (K, KiB, M, MiB, G, GiB, T, TiB; case-insensitive; K = 1024).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let digits = s.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let suffix = &s.trim()[digits.len()..];
        let shift = match suffix.to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kib" | "kb" => 10,
            "m" | "mib" | "mb" => 20,
            "g" | "gib" | "gb" => 30,
            "t" | "tib" | "tb" => 40,
            _ => return Err(format!("`{s}`: unknown unit `{suffix}` (use K, M, G or T: powers of 1024)")),
        };
        let n: u64 = digits.trim().parse().map_err(|_| format!("`{s}` is not a size (e.g. 1048576, 64KiB, 16MiB)"))?;
        n.checked_mul(1u64 << shift).map(Size).ok_or_else(|| format!("`{s}` is too large"))
    }
}

#[cfg(test)]
mod tests {
    use super::Size;

    #[test]
    fn sizes() {
        assert_eq!("1048576".parse(), Ok(Size(1 << 20)));
        assert_eq!("64KiB".parse(), Ok(Size(64 << 10)));
        assert_eq!("16m".parse(), Ok(Size(16 << 20)));
        assert_eq!("1G".parse(), Ok(Size(1 << 30)));
        assert_eq!(" 2 K".parse(), Ok(Size(2048)));
        assert!("1X".parse::<Size>().is_err());
        assert!("K".parse::<Size>().is_err());
        assert!("-1".parse::<Size>().is_err());
        assert!("99999999999999T".parse::<Size>().is_err());
    }
}
