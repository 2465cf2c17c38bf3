//! The syntax of a line magic: `%name args`, possibly bound
//! (`let r = %timeit -o stmt;`). Read by the planner and by the item
//! registry (which blanks magic lines before parsing a cell).

use crate::table::{self, Mode};

/// A `%name args` line, possibly bound: `let r = %timeit -o stmt;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineMagic<'a> {
    /// Leading white space, kept in the rewrite.
    pub(crate) indent: &'a str,
    /// `let r =` (trimmed) when the magic's value is bound, else "".
    pub(crate) binding: &'a str,
    pub(crate) name: &'a str,
    /// Everything after the name, trimmed; a trailing `;` is the user's.
    pub(crate) args: &'a str,
}

impl<'a> LineMagic<'a> {
    pub(crate) fn parse(line: &'a str) -> Option<Self> {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let (binding, magic) = if let Some(pos) = body.find('%') {
            let before = body[..pos].trim_end();
            if before.is_empty() {
                ("", &body[pos..])
            } else if before.starts_with("let ") && before.ends_with('=') && !before.ends_with("==") {
                (before, &body[pos..])
            } else {
                return None;
            }
        } else {
            return None;
        };
        let rest = magic.strip_prefix('%')?;
        if rest.starts_with('%') {
            return None;
        }
        let (name, args) = split_name(rest);
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        if !binding.is_empty() && !table::lookup(name, Mode::Line).is_some_and(|m| m.bindable) {
            return None;
        }
        Some(LineMagic { indent, binding, name, args })
    }
}

pub(crate) fn split_name(s: &str) -> (&str, &str) {
    let s = s.trim_end_matches('\r');
    match s.find(|c: char| c.is_whitespace()) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}
