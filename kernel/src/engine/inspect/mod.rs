//! Documentation on request: Shift-Tab (`inspect_request`) and the `?`
//! cells (`Pool::new?`, `?Vec`, `distance??`, `%timeit?`).
//!
//! Magics are documented by `parlab_magics::table`; Rust names by
//! rust-analyzer's hover, which evcxr runs over the session's code
//! (`CommandContext::hover_at`: std, `:dep` crates, the runtime, the
//! notebook's items and variables). [`token`] finds the name the cursor
//! means; this module asks the hover, adds a variable's current value and
//! a notebook item's source, and shapes the answer as a MIME bundle.

mod token;

use super::EvcxrInterpreter;
use crate::interpreter::{char_to_byte, Outcome, Output};
use parlab_magics::table::Mode;
use serde_json::{Map, Value};
use std::sync::Arc;

/// What rust-analyzer (or the table) says about a name.
struct Doc {
    plain: String,
    html: String,
}

impl Doc {
    fn bundle(self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("text/plain".into(), Value::String(self.plain));
        if !self.html.is_empty() {
            map.insert("text/html".into(), Value::String(self.html));
        }
        map
    }
}

impl EvcxrInterpreter {
    /// `inspect_request`: the magic or Rust name at `cursor` (code points).
    pub(super) fn inspect_at(&mut self, code: &str, cursor: usize) -> Option<Map<String, Value>> {
        let pos = char_to_byte(code, cursor);
        if let Some(page) = magic_at(code, pos) {
            return Some(Doc { plain: page, html: String::new() }.bundle());
        }
        let target = token::target(code, pos)?;
        let path = &code[target.start..target.end];
        let mut doc = self.hover(code, target)?;
        add_notebook_docs(&self.session.items, path, &mut doc);
        if !target.call {
            self.add_value(path, &mut doc);
        }
        Some(doc.bundle())
    }

    /// A `name?` / `?name` / `name??` cell: the docs as a pager page.
    pub(super) fn help_cell(&mut self, name: &str, source: bool, out: &Arc<dyn Output>) -> Outcome {
        let target = token::Target { start: 0, end: name.len(), call: false };
        let mut doc = self.hover(name, target);
        if let Some(doc) = doc.as_mut() {
            add_notebook_docs(&self.session.items, name, doc);
            self.add_value(name, doc);
        }
        let source = if source { source_of(&self.session.items, name) } else { None };
        let doc = match (doc, source) {
            (Some(mut doc), Some(source)) => {
                doc.plain.push_str(&format!("\n\nSource:\n{source}"));
                doc.html.push_str(&format!("<p>Source:</p><pre>{}</pre>", escape(&source)));
                doc
            }
            (Some(doc), None) => doc,
            (None, Some(source)) => Doc { html: format!("<pre>{}</pre>", escape(&source)), plain: format!("Source:\n{source}") },
            (None, None) => {
                out.stream("stdout", &format!("Object `{name}` not found.\n"));
                return Outcome::Ok { result: None };
            }
        };
        out.page(doc.bundle());
        Outcome::Ok { result: None }
    }

    /// rust-analyzer's hover for `target`, first in the cell's context (its
    /// earlier lines define names), then for the path alone.
    fn hover(&mut self, code: &str, target: token::Target) -> Option<Doc> {
        let open = if target.call { "(" } else { "" };
        let mut prefix = hover_context(&code[..target.start]);
        prefix.push_str(&code[target.start..target.end]);
        prefix.push_str(open);
        let alone = format!("{}{open}", &code[target.start..target.end]);
        for text in [prefix, alone] {
            let Ok((plain, html)) = self.ctx.hover_at(&text, text.len()) else { continue };
            if plain != "No documentation found" && !plain.trim().is_empty() {
                return Some(Doc { plain, html });
            }
        }
        None
    }

    /// A session variable's hover gets its current value (`%whos`'s
    /// Data/Info), read in the evaluation process.
    fn add_value(&mut self, path: &str, doc: &mut Doc) {
        if !self.ctx.variables_and_types().any(|(n, _)| n == path) {
            return;
        }
        if let Some(value) = self.variable_summary(path) {
            doc.plain.push_str(&format!("\n\nValue: {value}"));
            doc.html.push_str(&format!("<p>Value: <code>{}</code></p>", escape(&value)));
        }
    }
}

/// The help page for the magic whose name (or options) the cursor is on.
fn magic_at(code: &str, pos: usize) -> Option<String> {
    let line_start = code[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line_end = code[pos..].find('\n').map_or(code.len(), |i| pos + i);
    let line = &code[line_start..line_end];
    let body = line.trim_start();
    let magic_start = line_start + (line.len() - body.len()) + body.find('%')?;
    let before = code[line_start..magic_start].trim();
    if !(before.is_empty() || (before.starts_with("let ") && before.ends_with('='))) {
        return None;
    }
    let text = &code[magic_start..line_end];
    let (mode, rest) = match text.strip_prefix("%%") {
        Some(rest) => (Mode::Cell, rest),
        None => (Mode::Line, text.strip_prefix('%')?),
    };
    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    // The name and the options, not the statement after them.
    let mut options_end = magic_start + mode.prefix().len() + name.len();
    for w in code[options_end..line_end].split_whitespace().take_while(|w| w.starts_with('-')) {
        options_end = code[options_end..].find(w).map_or(options_end, |i| options_end + i + w.len());
    }
    if pos < magic_start || pos > options_end {
        return None;
    }
    parlab_magics::help::magic_help(&name, mode)
}

/// The cell's text before the name, for the hover's context: earlier
/// magic lines are blanked (they are not Rust), and so is everything on a
/// magic line before the statement.
fn hover_context(before: &str) -> String {
    let mut out = String::with_capacity(before.len());
    let mut lines = before.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        let last = lines.peek().is_none();
        if t.starts_with('%') || t.starts_with(':') || (t.contains('%') && t.starts_with("let ")) {
            if last {
                // The name is in this magic line's statement: no context.
                return String::new();
            }
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    out
}

/// evcxr drops the doc comments of the notebook's items from the code
/// rust-analyzer sees, so their hover has the signature alone: the `///`
/// lines come from the item's recorded source.
fn add_notebook_docs(items: &parlab_magics::ItemRegistry, path: &str, doc: &mut Doc) {
    let Some(docs) = notebook_docs(items, path) else { return };
    if doc.plain.contains(docs.lines().next().unwrap_or_default()) {
        return;
    }
    doc.plain.push_str("\n\n");
    doc.plain.push_str(&docs);
    doc.html.push_str(&format!("<pre>{}</pre>", escape(&docs)));
}

/// The `///` lines above the notebook's item or function `path`.
fn notebook_docs(items: &parlab_magics::ItemRegistry, path: &str) -> Option<String> {
    let path = path.replace('.', "::");
    let (source, line) = match items.function(&path) {
        Some((item, site)) => (&item.source, site.first_line.checked_sub(item.first_line)? as usize),
        None => (&items.items.iter().rev().find(|i| i.name == path && i.holder.is_none())?.source, usize::MAX),
    };
    let lines: Vec<&str> = source.lines().collect();
    let above = if line == usize::MAX {
        // A type: its docs come before its first non-doc line.
        let first = lines.iter().position(|l| !l.trim_start().starts_with("///") && !l.trim_start().starts_with("#["))?;
        &lines[..first]
    } else {
        &lines[..line.min(lines.len())]
    };
    let docs: Vec<&str> = above
        .iter()
        .rev()
        .map(|l| l.trim_start())
        .take_while(|l| l.starts_with("///") || l.starts_with("#["))
        .filter_map(|l| l.strip_prefix("///"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    (!docs.is_empty()).then(|| docs.into_iter().rev().collect::<Vec<_>>().join("\n"))
}

/// The notebook's source of `name`: a function (top-level, method or in a
/// module) or a type with its impl blocks.
fn source_of(items: &parlab_magics::ItemRegistry, name: &str) -> Option<String> {
    let name = name.replace('.', "::");
    if let Some((item, site)) = items.function(&name) {
        return Some(if site.inner_path.is_empty() { item.source.clone() } else { site.lines.join("\n") });
    }
    let parts: Vec<&str> = items.items.iter().filter(|i| i.name == name).map(|i| i.source.as_str()).collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_help_where_the_cursor_is_on_the_magic() {
        let code = "let x = 1;\n%timeit -n 10 f(x)";
        let at = |needle: &str| magic_at(code, code.find(needle).unwrap());
        assert!(at("%timeit").unwrap().contains("%timeit [-n N]"));
        assert!(at("timeit").is_some());
        assert!(at("-n").is_some());
        assert!(at("f(x)").is_none());
        assert!(at("x = 1").is_none());
        assert!(magic_at("%%mpirun -n 2\nx", 3).unwrap().contains("%%mpirun -n N"));
    }

    #[test]
    fn context_drops_magic_lines() {
        assert_eq!(hover_context("let v = 1;\n%timeit f()\nlet w = "), "let v = 1;\n\nlet w = ");
        assert_eq!(hover_context("let v = 1;\n%timeit "), "");
    }

    #[test]
    fn sources_of_notebook_items() {
        let mut items = parlab_magics::ItemRegistry::default();
        items.record_cell(1, "/// Docs.\nfn f() {}\nstruct P;\nimpl P {\n    fn m(&self) {}\n}");
        assert_eq!(source_of(&items, "f").unwrap(), "/// Docs.\nfn f() {}");
        assert_eq!(source_of(&items, "P::m").unwrap(), "    fn m(&self) {}");
        assert!(source_of(&items, "P").unwrap().contains("impl P"));
        assert_eq!(source_of(&items, "nope"), None);
    }

    #[test]
    fn doc_comments_of_notebook_items() {
        let mut items = parlab_magics::ItemRegistry::default();
        items.record_cell(1, "let x = 1;\n/// Adds.\n/// Twice.\n#[inline]\nfn f() {}\n/// A point.\nstruct P;\nimpl P {\n    /// Method docs.\n    fn m(&self) {}\n    fn n(&self) {}\n}");
        assert_eq!(notebook_docs(&items, "f").as_deref(), Some("Adds.\nTwice."));
        assert_eq!(notebook_docs(&items, "P::m").as_deref(), Some("Method docs."));
        assert_eq!(notebook_docs(&items, "P::n"), None);
        assert_eq!(notebook_docs(&items, "P").as_deref(), Some("A point."));
        assert_eq!(notebook_docs(&items, "x"), None);
    }
}
