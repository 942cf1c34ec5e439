//! How a record is printed: as a line of text, or as one JSON object.
//!
//! Text: the record's bytes as written, plus a newline when it has none.
//! JSON: `{"seq":S,"lost":L,"data":"..."}` and a newline. `data` is the
//! record as UTF-8; a record that is not valid UTF-8 has each invalid byte
//! written as the four characters `\xNN` in `data` and its exact bytes in
//! `data_base64` (standard alphabet, padded).

use base64::Engine;

/// Appends the record as a line of text.
pub fn text(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    if data.last() != Some(&b'\n') {
        out.push(b'\n');
    }
}

/// Appends the record as one JSON object and a newline.
pub fn json(out: &mut Vec<u8>, seq: u64, lost: u64, data: &[u8]) {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        seq: u64,
        lost: u64,
        data: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        data_base64: Option<String>,
    }
    let (text, exact) = match std::str::from_utf8(data) {
        Ok(s) => (std::borrow::Cow::Borrowed(s), None),
        Err(_) => (
            std::borrow::Cow::Owned(escape_invalid(data)),
            Some(base64::engine::general_purpose::STANDARD.encode(data)),
        ),
    };
    let line = Line { seq, lost, data: &text, data_base64: exact };
    // Serializing plain strings and integers into a Vec cannot fail.
    serde_json::to_writer(&mut *out, &line).expect("JSON of a string and integers");
    out.push(b'\n');
}

/// The message for a gap: `lost N records` (stderr and the text streams).
pub fn lost(n: u64) -> String {
    format!("lost {n} records")
}

/// `data` as text, each byte that is not part of valid UTF-8 as `\xNN`.
fn escape_invalid(mut data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() + 16);
    loop {
        match std::str::from_utf8(data) {
            Ok(valid) => {
                s.push_str(valid);
                return s;
            }
            Err(e) => {
                let (good, rest) = data.split_at(e.valid_up_to());
                // Valid by construction: from_utf8 said so up to here.
                s.push_str(std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len());
                for b in &rest[..bad] {
                    s.push_str(&format!("\\x{b:02x}"));
                }
                data = &rest[bad..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(data: &[u8]) -> serde_json::Value {
        let mut out = Vec::new();
        json(&mut out, 7, 2, data);
        assert_eq!(out.last(), Some(&b'\n'));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn text_adds_one_newline_when_missing() {
        let mut out = Vec::new();
        text(&mut out, b"a");
        text(&mut out, b"b\n");
        text(&mut out, b"");
        assert_eq!(out, b"a\nb\n\n");
    }

    #[test]
    fn json_utf8_and_not() {
        let v = json_of("h\u{e9} \"q\"\n".as_bytes());
        assert_eq!(v["seq"], 7);
        assert_eq!(v["lost"], 2);
        assert_eq!(v["data"], "h\u{e9} \"q\"\n");
        assert!(v.get("data_base64").is_none());

        let raw = b"ok\xff\xc3(\x00end";
        let v = json_of(raw);
        assert_eq!(v["data"], "ok\\xff\\xc3(\u{0}end");
        let back = base64::engine::general_purpose::STANDARD.decode(v["data_base64"].as_str().unwrap()).unwrap();
        assert_eq!(back, raw);
    }

    #[test]
    fn lost_message() {
        assert_eq!(lost(1), "lost 1 records"); // one form, for scripts that match it
        assert_eq!(lost(12), "lost 12 records");
    }
}
