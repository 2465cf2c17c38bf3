//! Input history for `history_request`: tail, range and search.
//!
//! One session's cells, numbered by execution count. IPython keeps history
//! in SQLite across sessions; parlab keeps this session's (the kernel is
//! the only writer, and a restart starts a new session like IPython's
//! session numbering).

/// A recorded cell: execution count, input, and its `text/plain` output if
/// it had one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub line: u32,
    pub input: String,
    pub output: Option<String>,
}

/// The session's history.
#[derive(Debug, Default)]
pub(crate) struct History {
    entries: Vec<Entry>,
}

impl History {
    pub(crate) fn push(&mut self, line: u32, input: &str) {
        self.entries.push(Entry { line, input: input.to_owned(), output: None });
    }

    pub(crate) fn set_output(&mut self, line: u32, output: String) {
        if let Some(e) = self.entries.iter_mut().rev().find(|e| e.line == line) {
            e.output = Some(output);
        }
    }

    /// The last `n` entries.
    pub(crate) fn tail(&self, n: usize) -> Vec<&Entry> {
        let start = self.entries.len().saturating_sub(n);
        self.entries[start..].iter().collect()
    }

    /// Entries with `start <= line < stop` (IPython's half-open range; a
    /// `stop` of 0 or less means "to the end").
    pub(crate) fn range(&self, start: i64, stop: i64) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| i64::from(e.line) >= start && (stop <= 0 || i64::from(e.line) < stop))
            .collect()
    }

    /// Entries whose input matches a glob (`*` any run, `?` one char), the
    /// last `n` of them (all when `n` is 0), optionally without repeats.
    pub(crate) fn search(&self, pattern: &str, n: usize, unique: bool) -> Vec<&Entry> {
        let pattern: Vec<char> = pattern.chars().collect();
        let mut seen = std::collections::HashSet::new();
        let mut hits: Vec<&Entry> = self
            .entries
            .iter()
            .rev()
            .filter(|e| glob(&pattern, &e.input.chars().collect::<Vec<_>>()))
            .filter(|e| !unique || seen.insert(e.input.as_str()))
            .collect();
        if n > 0 {
            hits.truncate(n);
        }
        hits.reverse();
        hits
    }
}

fn glob(p: &[char], s: &[char]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some('*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some('?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h() -> History {
        let mut h = History::default();
        for (i, code) in ["let a = 1;", "a + 1", "println!(\"hi\")", "a + 1"].iter().enumerate() {
            h.push(i as u32 + 1, code);
        }
        h
    }

    #[test]
    fn tail_range_search() {
        let h = h();
        assert_eq!(h.tail(2).iter().map(|e| e.line).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(h.range(1, 3).iter().map(|e| e.line).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(h.range(2, 0).len(), 3);
        assert_eq!(h.search("a*", 0, false).len(), 2);
        assert_eq!(h.search("*a*", 0, false).len(), 3);
        assert_eq!(h.search("*a*", 0, true).iter().map(|e| e.line).collect::<Vec<_>>(), [1, 4]);
        assert_eq!(h.search("*hi*", 1, false)[0].line, 3);
        assert!(h.search("zzz", 0, false).is_empty());
    }
}
