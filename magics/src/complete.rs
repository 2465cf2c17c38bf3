//! Completion of what rust-analyzer does not know: magic names (`%ti` →
//! `%timeit`, `%time`), a magic's options (`%lprun -` → `-f -m -u …`), the
//! notebook's functions after `-f`, and evcxr's `:` commands.
//!
//! ```
//! use parlab_magics::{complete::complete, ItemRegistry};
//! let c = complete("%ti", 3, &ItemRegistry::default(), &[]).unwrap();
//! assert_eq!(c.matches, ["%time", "%timeit", "%%time", "%%timeit", "%%timeline"]);
//! assert_eq!((c.start, c.end), (0, 3));
//! ```

use crate::items::{ItemKind, ItemRegistry};
use crate::table::{Completes, Mode, MAGICS};

/// Matches for the word that ends at the cursor, which they replace
/// (`start..end`, byte offsets in the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub matches: Vec<String>,
    pub start: usize,
    pub end: usize,
}

/// Completion at byte offset `cursor` of `code`, when the cursor is in a
/// magic line or a `:` command; `None` hands the request to rust-analyzer.
/// `commands` are evcxr's command names (`:dep`).
pub fn complete(code: &str, cursor: usize, items: &ItemRegistry, commands: &[String]) -> Option<Completion> {
    let cursor = floor_char_boundary(code, cursor);
    let line_start = code[..cursor].rfind('\n').map_or(0, |i| i + 1);
    let before = &code[line_start..cursor];
    let word_len = before.len() - before.trim_end_matches(|c: char| !c.is_whitespace()).len();
    let word = &before[before.len() - word_len..];
    let start = cursor - word_len;
    let done = |matches: Vec<String>| Some(Completion { matches, start, end: cursor });
    let first_line = code[..line_start].trim().is_empty();

    // `let r = %ti|` is a magic line too.
    let magic_text = magic_part(before)?;
    if let Some(cmd) = magic_text.strip_prefix(':') {
        if magic_text.len() == before.trim_start().len() && !cmd.contains(char::is_whitespace) {
            return done(commands.iter().filter(|c| c.starts_with(word)).cloned().collect());
        }
        return None;
    }
    let (mode, rest) = match magic_text.strip_prefix("%%") {
        Some(rest) => (Mode::Cell, rest),
        None => (Mode::Line, magic_text.strip_prefix('%')?),
    };
    if !rest.contains(char::is_whitespace) {
        // The name itself.
        let mut matches: Vec<String> = Vec::new();
        let mut modes = vec![mode];
        if mode == Mode::Line && first_line && before.trim_start() == magic_text {
            modes.push(Mode::Cell);
        }
        for m in modes {
            let mut names: Vec<&str> = MAGICS.iter().filter(|x| x.usage(m).is_some() && x.name.starts_with(rest)).map(|x| x.name).collect();
            names.sort_unstable();
            matches.extend(names.into_iter().map(|n| format!("{}{n}", m.prefix())));
        }
        return done(matches);
    }
    let name = rest.split_whitespace().next().unwrap_or("");
    let magic = crate::table::lookup(name, mode)?;
    let args: Vec<&str> = rest.trim_start().strip_prefix(name)?.split_whitespace().collect();
    let previous = if word.is_empty() { args.last() } else { args.len().checked_sub(2).and_then(|i| args.get(i)) };
    if let Some(option) = previous.and_then(|p| magic.option(p)).filter(|o| o.value.is_some()) {
        let names = match option.completes {
            Completes::Functions => items.function_names(),
            Completes::Modules => module_names(items),
            Completes::Nothing => return done(Vec::new()),
        };
        return done(names.into_iter().filter(|n| n.starts_with(word)).collect());
    }
    if word.starts_with('-') {
        return done(magic.options.iter().map(|o| o.flag).filter(|f| f.starts_with(word)).map(str::to_owned).collect());
    }
    None
}

/// The magic (or command) text of a line: the line itself, or what
/// follows `let NAME =`.
fn magic_part(before: &str) -> Option<&str> {
    let t = before.trim_start();
    if t.starts_with('%') || t.starts_with(':') {
        return Some(t);
    }
    let pos = t.find('%')?;
    let binding = t[..pos].trim_end();
    (binding.starts_with("let ") && binding.ends_with('=') && !binding.ends_with("==")).then(|| &t[pos..])
}

/// Modules and types `%lprun -m` accepts, sorted.
fn module_names(items: &ItemRegistry) -> Vec<String> {
    let mut names: Vec<String> =
        items.items.iter().filter(|i| matches!(i.kind, ItemKind::Mod | ItemKind::Type)).map(|i| i.name.clone()).collect();
    names.sort();
    names.dedup();
    names
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_end(code: &str) -> Option<Vec<String>> {
        let mut items = ItemRegistry::default();
        items.record_cell(1, "fn distance() {}\nfn dot() {}\nfn norm() {}\nmod geo { pub fn area() {} }");
        complete(code, code.len(), &items, &[":dep".into(), ":vars".into(), ":version".into()]).map(|c| c.matches)
    }

    #[test]
    fn magic_names() {
        assert_eq!(at_end("%ti").unwrap(), ["%time", "%timeit", "%%time", "%%timeit", "%%timeline"]);
        assert_eq!(at_end("%%mp").unwrap(), ["%%mpirun"]);
        assert_eq!(at_end("x\n%ti").unwrap(), ["%time", "%timeit"]);
        assert_eq!(at_end("let r = %tim").unwrap(), ["%time", "%timeit"]);
        assert_eq!(at_end("%zz").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn options_and_function_names() {
        assert_eq!(at_end("%lprun -").unwrap(), ["-f", "-m", "-u", "-s", "-z", "-r", "-T", "-D"]);
        assert_eq!(at_end("%lprun -f d").unwrap(), ["distance", "dot"]);
        assert_eq!(at_end("%lprun -f distance -f ").unwrap(), ["distance", "dot", "geo::area", "norm"]);
        assert_eq!(at_end("%lprun -m ").unwrap(), ["geo"]);
        assert_eq!(at_end("%timeit -n ").unwrap(), Vec::<String>::new());
        assert_eq!(at_end("%%mpirun --o").unwrap(), ["--oversubscribe"]);
        assert_eq!(at_end("%timeit v.so"), None);
        assert_eq!(at_end("%nope -"), None);
    }

    #[test]
    fn commands() {
        assert_eq!(at_end(":v").unwrap(), [":vars", ":version"]);
        assert_eq!(at_end(":dep ser"), None);
        assert_eq!(at_end("let x = a.b"), None);
    }

    #[test]
    fn never_panics_on_odd_cursors() {
        let code = "é%ti\n%lprun -f ";
        for i in 0..=code.len() + 2 {
            let _ = complete(code, i, &ItemRegistry::default(), &[]);
        }
    }
}
