//! IPython's help: `%lsmagic`, `%timeit?`, `name?`, `?name`, `name??`.
//!
//! Help on a magic is rendered here from [`crate::table`]; help on a Rust
//! name needs rust-analyzer, so the planner only says which name
//! ([`crate::Plan::Inspect`]) and the kernel asks evcxr.
//!
//! ```
//! use parlab_magics::help::{help_request, HelpRequest};
//! assert_eq!(help_request("Pool::new?"), Some(HelpRequest::Name { name: "Pool::new".into(), source: false }));
//! assert_eq!(help_request("?Vec"), Some(HelpRequest::Name { name: "Vec".into(), source: false }));
//! assert!(matches!(help_request("%timeit??"), Some(HelpRequest::Magic { .. })));
//! assert_eq!(help_request("x?;"), None);
//! ```

use crate::table::{by_name, lookup, Magic, Mode, MAGICS};

/// What a `?` cell asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpRequest {
    /// `%timeit?`, `%%timeit??`, `?%lprun`.
    Magic { name: String, mode: Mode },
    /// `Vec?`, `?Pool::new`, `distance??` (`source`: show the item's
    /// source when the notebook defined it).
    Name { name: String, source: bool },
}

/// The help request a whole cell makes, if it is one: a single path (or
/// magic name) with `?` or `??` before or after it. `x?;` and `f()?` are
/// Rust's `?` operator, not help.
pub fn help_request(cell: &str) -> Option<HelpRequest> {
    let text = cell.trim();
    if text.contains('\n') {
        return None;
    }
    let (inner, marks) = if let Some(rest) = text.strip_prefix("??") {
        (rest, 2)
    } else if let Some(rest) = text.strip_prefix('?') {
        (rest, 1)
    } else if let Some(rest) = text.strip_suffix("??") {
        (rest, 2)
    } else if let Some(rest) = text.strip_suffix('?') {
        (rest, 1)
    } else {
        return None;
    };
    let inner = inner.trim();
    let (mode, name) = if let Some(n) = inner.strip_prefix("%%") {
        (Some(Mode::Cell), n)
    } else if let Some(n) = inner.strip_prefix('%') {
        (Some(Mode::Line), n)
    } else {
        (None, inner)
    };
    if !is_path(name) {
        return None;
    }
    Some(match mode {
        Some(mode) => HelpRequest::Magic { name: name.to_owned(), mode },
        None => HelpRequest::Name { name: name.to_owned(), source: marks == 2 },
    })
}

/// `a`, `a::b`, `a.b` (identifiers joined by `::` or `.`).
fn is_path(s: &str) -> bool {
    !s.is_empty()
        && s.replace("::", ".").split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// The help page of `%name` (`Mode::Line`) or `%%name`, in IPython's
/// layout; `None` if there is no such magic.
pub fn magic_help(name: &str, mode: Mode) -> Option<String> {
    // `%lprun?` also finds `%%lprun`'s usage, as IPython shows both forms.
    let magic = lookup(name, mode).or_else(|| by_name(name))?;
    Some(render(magic))
}

/// The page for one entry of the table.
pub fn render(m: &Magic) -> String {
    let mut out = format!("Docstring:\n{}\n\n", m.summary);
    match (m.line, m.cell) {
        (Some(line), Some(cell)) => {
            out.push_str(&format!("Usage, in line mode:\n  {line}\nor in cell mode:\n  {cell}\n  code\n  code...\n"))
        }
        (Some(line), None) => out.push_str(&format!("Usage:\n  {line}\n")),
        (None, Some(cell)) => out.push_str(&format!("Usage, in cell mode:\n  {cell}\n  code\n  code...\n")),
        (None, None) => {}
    }
    out.push('\n');
    for paragraph in m.details.split("\n\n") {
        out.push_str(&wrap(paragraph, 78));
        out.push_str("\n\n");
    }
    if !m.options.is_empty() {
        out.push_str("Options:\n");
        for o in m.options {
            let head = match o.value {
                Some(v) => format!("{} {v}", o.flag),
                None => o.flag.to_owned(),
            };
            let body = wrap(o.help, 60);
            let mut lines = body.lines();
            out.push_str(&format!("  {head:<16}{}\n", lines.next().unwrap_or("")));
            for l in lines {
                out.push_str(&format!("  {:<16}{l}\n", ""));
            }
        }
        out.push('\n');
    }
    out.push_str("Examples\n--------\n");
    for (i, e) in m.examples.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for l in e.lines() {
            out.push_str("  ");
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Wraps prose at `width` columns; lines indented by four spaces (code)
/// are kept as written.
fn wrap(paragraph: &str, width: usize) -> String {
    if paragraph.lines().any(|l| l.starts_with("    ")) {
        return paragraph.to_owned();
    }
    let mut out = String::new();
    let mut len = 0;
    for word in paragraph.split_whitespace() {
        let n = word.chars().count();
        if len > 0 && len + 1 + n > width {
            out.push('\n');
            len = 0;
        } else if len > 0 {
            out.push(' ');
            len += 1;
        }
        out.push_str(word);
        len += n;
    }
    out
}

/// `%lsmagic`'s text: IPython's layout, plus evcxr's commands
/// (`commands`, with their colon: `:dep`).
pub fn lsmagic(commands: &[String]) -> String {
    let names = |mode: Mode| -> String {
        MAGICS.iter().filter(|m| m.usage(mode).is_some()).map(|m| format!("{}{}", mode.prefix(), m.name)).collect::<Vec<_>>().join("  ")
    };
    format!(
        "Available line magics:\n{}\n\nAvailable cell magics:\n{}\n\nAvailable evcxr commands:\n{}\n\n\
         Automagic is OFF: line magics need their % prefix. Help: %timeit? (any magic), name? or Shift-Tab (any Rust name), :help (the commands).\n",
        names(Mode::Line),
        names(Mode::Cell),
        commands.join("  ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_cells() {
        let name = |n: &str, source| Some(HelpRequest::Name { name: n.into(), source });
        assert_eq!(help_request("Vec::with_capacity?"), name("Vec::with_capacity", false));
        assert_eq!(help_request("  ??distance \n"), name("distance", true));
        assert_eq!(help_request("v.len??"), name("v.len", true));
        assert_eq!(help_request("%%timeit?"), Some(HelpRequest::Magic { name: "timeit".into(), mode: Mode::Cell }));
        assert_eq!(help_request("?%lprun"), Some(HelpRequest::Magic { name: "lprun".into(), mode: Mode::Line }));
        for not_help in ["x?;", "f()?", "let y = x?;", "?", "a?\nb", "1?", "a b?"] {
            assert_eq!(help_request(not_help), None, "{not_help}");
        }
    }

    #[test]
    fn timeit_page() {
        let page = magic_help("timeit", Mode::Line).unwrap();
        assert!(page.starts_with("Docstring:\nTime a statement"), "{page}");
        assert!(page.contains("Usage, in line mode:\n  %timeit [-n N]"));
        assert!(page.contains("or in cell mode:\n  %%timeit"));
        assert!(page.contains("\n  -n N            Run the statement N times per repeat."), "{page}");
        assert!(page.contains("Examples\n--------\n  %timeit v.iter().sum::<f64>()"));
        assert!(page.lines().all(|l| l.chars().count() <= 90), "{page}");
        assert_eq!(magic_help("nope", Mode::Line), None);
        // `%lprun?` and `%%lprun?` show the same page.
        assert_eq!(magic_help("lprun", Mode::Line), magic_help("lprun", Mode::Cell));
    }

    #[test]
    fn lsmagic_layout() {
        let text = lsmagic(&[":dep".into(), ":vars".into()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Available line magics:");
        assert!(lines[1].contains("%timeit") && lines[1].contains("%who") && !lines[1].contains("%%"));
        assert_eq!(lines[3], "Available cell magics:");
        assert!(lines[4].contains("%%timeit") && lines[4].contains("%%mpirun") && lines[4].contains("%%lprun"));
        assert_eq!(lines[7], ":dep  :vars");
    }
}
