//! The two JSON shapes a panic marker needs, without serde (this crate
//! must stay small: every cell links it).

/// Appends `s` as a JSON string literal.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A number or `null`.
pub(crate) fn opt(n: Option<u32>) -> String {
    n.map_or_else(|| "null".to_owned(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_what_json_requires() {
        let mut s = String::new();
        super::string(&mut s, "a \"b\" \\ c\nd\u{1}é");
        assert_eq!(s, r#""a \"b\" \\ c\nd\u0001é""#);
        assert_eq!(super::opt(None), "null");
        assert_eq!(super::opt(Some(7)), "7");
    }
}
