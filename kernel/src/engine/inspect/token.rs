//! Which name an inspect request is about: IPython's `token_at_cursor`,
//! for Rust.
//!
//! Jupyter sends the whole cell and a cursor; the cursor may be in the
//! middle of a name (`Vec::with_ca|pacity`) or among a call's arguments
//! (`Pool::new(2, |`). rust-analyzer (through evcxr's `hover_at`) answers
//! for the name that ends where the text it is given ends, so the kernel
//! first finds the path the user means: the path the cursor is in (or
//! just after), else the innermost call whose `(` is still open before the
//! cursor. A small lexer skips strings, chars and comments so their
//! contents are never taken for names or parentheses.

/// The path an inspect request is about, as byte offsets into the cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    /// Where the path starts (`Vec` in `Vec::with_capacity`).
    pub(crate) start: usize,
    /// Just after its last identifier.
    pub(crate) end: usize,
    /// Whether it is called: the cursor is in its arguments, or `(`
    /// follows it. rust-analyzer finds methods only in a call.
    pub(crate) call: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    /// `::` or `.`: joins identifiers into one path.
    Join,
    Open,
    Close,
    Other,
}

/// The target at byte offset `cursor` of `code`, if there is one.
pub(crate) fn target(code: &str, cursor: usize) -> Option<Target> {
    let mut path: Option<(usize, usize)> = None;
    let mut previous = Kind::Other;
    // Open brackets, each with the path it calls (`f(`), if any.
    let mut calls: Vec<Option<(usize, usize)>> = Vec::new();
    for (kind, start, end) in tokens(code) {
        if start >= cursor {
            break;
        }
        match kind {
            Kind::Ident => {
                path = match (path, previous) {
                    (Some((s, _)), Kind::Join) => Some((s, end)),
                    _ => Some((start, end)),
                };
                if end >= cursor {
                    // The cursor is in this name (or just after it).
                    let call = code[end..].trim_start().starts_with('(');
                    let (s, e) = path?;
                    return Some(Target { start: s, end: e, call });
                }
            }
            Kind::Open => {
                let called = if previous == Kind::Ident && code.as_bytes()[start] == b'(' { path } else { None };
                calls.push(called);
                path = None;
            }
            Kind::Close => {
                // `f(x).len`: the call is the receiver of what follows.
                path = calls.pop().flatten().map(|(s, _)| (s, end));
            }
            Kind::Join => {}
            Kind::Other => path = None,
        }
        previous = kind;
    }
    let (s, e) = calls.into_iter().rev().flatten().next()?;
    Some(Target { start: s, end: e, call: true })
}

/// Rust's tokens as (kind, start, end), coarsely: what matters is names,
/// path separators and brackets outside literals and comments.
fn tokens(code: &str) -> impl Iterator<Item = (Kind, usize, usize)> + '_ {
    let b = code.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || loop {
        let start = i;
        let c = *b.get(i)?;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b[i..].starts_with(b"//") {
            i = code[i..].find('\n').map_or(b.len(), |n| i + n);
            continue;
        }
        if b[i..].starts_with(b"/*") {
            i = code[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            continue;
        }
        if c == b'"' || (c == b'r' && matches!(b.get(i + 1), Some(b'"' | b'#'))) || (c == b'b' && b.get(i + 1) == Some(&b'"')) {
            i = string_end(code, i);
            return Some((Kind::Other, start, i));
        }
        if c == b'\'' {
            // A char literal ('a', '\n') or a lifetime ('a).
            let rest = &code[i + 1..];
            let mut chars = rest.char_indices();
            match chars.next() {
                Some((_, '\\')) => {
                    i = rest[1..].find('\'').map_or(b.len(), |n| i + 1 + 1 + n + 1);
                }
                Some((_, ch)) if rest[ch.len_utf8()..].starts_with('\'') => i += 1 + ch.len_utf8() + 1,
                _ => {
                    i += 1;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                }
            }
            return Some((Kind::Other, start, i));
        }
        if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || (b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))) {
                i += 1;
            }
            return Some((Kind::Other, start, i));
        }
        let ch = code[i..].chars().next()?;
        if ch.is_alphabetic() || ch == '_' {
            while let Some(ch) = code[i..].chars().next().filter(|ch| ch.is_alphanumeric() || *ch == '_') {
                i += ch.len_utf8();
            }
            return Some((Kind::Ident, start, i));
        }
        if b[i..].starts_with(b"::") {
            i += 2;
            return Some((Kind::Join, start, i));
        }
        i += ch.len_utf8();
        let kind = match c {
            b'.' if b.get(i) != Some(&b'.') => Kind::Join,
            b'(' | b'[' | b'{' => Kind::Open,
            b')' | b']' | b'}' => Kind::Close,
            b'!' => {
                // `println!(`: the macro's `!` keeps the name callable.
                continue;
            }
            _ => Kind::Other,
        };
        return Some((kind, start, i));
    })
}

/// The end of the string literal starting at `i` (`"…"`, `r#"…"#`, `b"…"`).
fn string_end(code: &str, mut i: usize) -> usize {
    let b = code.as_bytes();
    if b[i] == b'b' {
        i += 1;
    }
    if b[i] == b'r' {
        let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
        let open = i + 1 + hashes;
        if b.get(open) != Some(&b'"') {
            return open;
        }
        let close = format!("\"{}", "#".repeat(hashes));
        return code[open + 1..].find(&close).map_or(b.len(), |n| open + 1 + n + close.len());
    }
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The target at the `|` of `marked`, as (path text, call).
    fn at(marked: &str) -> Option<(String, bool)> {
        let cursor = marked.find('|').unwrap();
        let code = marked.replacen('|', "", 1);
        target(&code, cursor).map(|t| (code[t.start..t.end].to_owned(), t.call))
    }

    fn found(path: &str, call: bool) -> Option<(String, bool)> {
        Some((path.to_owned(), call))
    }

    #[test]
    fn inside_and_after_names() {
        assert_eq!(at("Vec::with_ca|pacity"), found("Vec::with_capacity", false));
        assert_eq!(at("Vec::with_capacity|"), found("Vec::with_capacity", false));
        assert_eq!(at("let v = Vec::with_ca|pacity(10);"), found("Vec::with_capacity", true));
        assert_eq!(at("|Vec"), None);
        assert_eq!(at("v.it|er()"), found("v.iter", true));
        assert_eq!(at("std::collections::Hash|Map::new()"), found("std::collections::HashMap", false));
    }

    #[test]
    fn in_a_call_s_arguments() {
        assert_eq!(at("Pool::new(|"), found("Pool::new", true));
        assert_eq!(at("Pool::new(2, |"), found("Pool::new", true));
        assert_eq!(at("Pool::new(2, |)"), found("Pool::new", true));
        assert_eq!(at("let p = Pool::new(2, f(3), |"), found("Pool::new", true));
        assert_eq!(at("distance(&x, |"), found("distance", true));
        assert_eq!(at("println!(\"{}, (\", |"), found("println", true));
        assert_eq!(at("f(a[1|"), found("f", true));
        assert_eq!(at("let x = (1, |"), None);
        assert_eq!(at("f(1);\n|"), None);
    }

    #[test]
    fn literals_and_comments_are_not_code() {
        assert_eq!(at("f(\"g(\", |"), found("f", true));
        assert_eq!(at("f('(', |"), found("f", true));
        assert_eq!(at("f(r#\"(\"#, |"), found("f", true));
        assert_eq!(at("f(// g(\n|"), found("f", true));
        assert_eq!(at("fn g<'a>(x: &'a str) { h(x, |"), found("h", true));
    }

    #[test]
    fn never_panics() {
        let code = "é(\"x\\\" '\\u{1F600}' r#\"a b'c // /*";
        for i in 0..=code.len() {
            if code.is_char_boundary(i) {
                let _ = target(code, i);
            }
        }
    }
}
