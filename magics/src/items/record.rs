//! Cell text → [`RecordedItem`]s, with exact source slices and cell lines.
//!
//! A cell mixes statements and items, so it is parsed as the body of a
//! block (`{` + cell + `}`); proc-macro2's span locations then give byte
//! ranges and lines in that string. The added `{` shifts byte offsets by
//! one and lines not at all.

use super::{FnSite, ItemKind, RecordedItem};
use crate::line_magic::LineMagic;
use crate::table::{self, Handler, Mode};
use syn::spanned::Spanned;

/// The top-level items of a cell; empty if the cell does not parse.
pub(super) fn parse_cell(cell: u32, code: &str) -> Vec<RecordedItem> {
    parse_cell_at(cell, code).into_iter().map(|(item, _)| item).collect()
}

/// Prefix of the names [`RecordedItem::holder`] invents for impl blocks
/// that evcxr would not attach to their own type (see `attach.rs`).
pub(crate) const ANCHOR_PREFIX: &str = "__PARLAB_IMPL_";

/// [`parse_cell`], with each item's byte offset in `code`.
///
/// A `%%timeit` body (or a `%%time --no-raise-error` one) runs inside a
/// block, so its items are local to that evaluation and evcxr keeps none of
/// them: such a cell defines nothing. A `%%time` body runs at top level
/// (see `timeit::rewrite::time_cell`), its magic line blanked like the
/// other magic lines. In other cells, evcxr commands (`:dep`) and magic
/// lines (bound ones too: `let r = %timeit -o f();`) are blanked, keeping
/// the line numbers.
pub(super) fn parse_cell_at(cell: u32, code: &str) -> Vec<(RecordedItem, usize)> {
    if let Some(rest) = code.trim_start().strip_prefix("%%") {
        let header = rest.lines().next().unwrap_or("");
        let mut words = header.split_whitespace();
        let magic = words.next().and_then(|name| table::lookup(name, Mode::Cell));
        if magic.map(|m| m.handler) != Some(Handler::Time) || words.any(|w| w == "--no-raise-error") {
            return Vec::new();
        }
    }
    // `%lprun` evaluates the lines before and after it separately; evcxr
    // attaches an impl block only to a named item of its own evaluation.
    let mut splits = Vec::new();
    let blanked: String = code
        .split_inclusive('\n')
        .enumerate()
        .map(|(i, line)| {
            let t = line.trim_start();
            let magic = LineMagic::parse(line.trim_end_matches(['\n', '\r']));
            if magic.and_then(|m| table::lookup(m.name, Mode::Line)).is_some_and(|m| matches!(m.handler, Handler::Lprun | Handler::Mprun)) {
                splits.push(i + 1);
            }
            if t.starts_with(':') || t.starts_with('%') || magic.is_some() {
                // Keep the newline so later lines keep their numbers.
                if line.ends_with('\n') { "\n" } else { "" }
            } else {
                line
            }
        })
        .collect();
    let Ok(block) = syn::parse_str::<syn::Block>(&format!("{{{blanked}}}")) else {
        return Vec::new();
    };
    let lines: Vec<&str> = code.lines().collect();
    let cx = Cx { cell, code: &blanked, lines: &lines };
    // evcxr attaches an unnamed item (an impl block) to the previous
    // *named* item of the same cell; `use` and `macro_rules!` do not count.
    let mut previous_named: Option<String> = None;
    let mut out = Vec::new();
    for stmt in &block.stmts {
        let syn::Stmt::Item(item) = stmt else { continue };
        let Some(mut recorded) = cx.record(item) else { continue };
        let start = item.span().start();
        while splits.first().is_some_and(|&line| line < start.line) {
            splits.remove(0);
            previous_named = None;
        }
        // The added `{` shifts the first line's columns by one.
        let column = if start.line == 1 { start.column.saturating_sub(1) } else { start.column };
        if let syn::Item::Impl(i) = item {
            let own = |name: &str| name == recorded.name || trait_ident(i).is_some_and(|t| t == name);
            recorded.holder = Some(match &previous_named {
                Some(p) if own(p) => p.clone(),
                _ => format!("{ANCHOR_PREFIX}{cell}_{}_{column}", start.line),
            });
        } else if evcxr_named(item) {
            previous_named = Some(recorded.name.clone());
        }
        let offset = byte_offset(code, start.line, column);
        out.push((recorded, offset));
    }
    out
}

/// Whether evcxr stores `item` under its name (and attaches following
/// impl blocks to it): evcxr's `item::item_name` minus `macro_rules!`,
/// which it stores without making it the attachment point.
fn evcxr_named(item: &syn::Item) -> bool {
    matches!(
        item,
        syn::Item::Const(_)
            | syn::Item::Enum(_)
            | syn::Item::Fn(_)
            | syn::Item::Mod(_)
            | syn::Item::Static(_)
            | syn::Item::Struct(_)
            | syn::Item::Trait(_)
            | syn::Item::Type(_)
            | syn::Item::Union(_)
    )
}

/// `Display` for `impl std::fmt::Display for P`.
fn trait_ident(i: &syn::ItemImpl) -> Option<String> {
    i.trait_.as_ref().and_then(|(_, path, _)| path.segments.last()).map(|s| s.ident.to_string())
}

/// Byte offset of a 1-based line and 0-based char column in `code`.
pub(crate) fn byte_offset(code: &str, line: usize, column: usize) -> usize {
    let line_start: usize = code.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let rest = &code[line_start..];
    line_start + rest.char_indices().nth(column).map_or(rest.len(), |(b, _)| b)
}

struct Cx<'a> {
    cell: u32,
    /// The blanked cell, which the spans index (minus the leading `{`).
    code: &'a str,
    /// The original cell's lines, for the report.
    lines: &'a [&'a str],
}

impl Cx<'_> {
    fn record(&self, item: &syn::Item) -> Option<RecordedItem> {
        let span = item.span();
        let range = span.byte_range();
        let source = self.code.get(range.start.checked_sub(1)?..range.end.checked_sub(1)?)?.to_owned();
        let first_line = span.start().line as u32;
        let (name, kind, functions) = match item {
            syn::Item::Fn(f) => {
                let name = f.sig.ident.to_string();
                (name.clone(), ItemKind::Fn, vec![self.site(name, vec![], &f.vis, &f.sig, &f.block)])
            }
            syn::Item::Struct(s) => (s.ident.to_string(), ItemKind::Type, vec![]),
            syn::Item::Enum(e) => (e.ident.to_string(), ItemKind::Type, vec![]),
            syn::Item::Union(u) => (u.ident.to_string(), ItemKind::Type, vec![]),
            syn::Item::Trait(t) => (t.ident.to_string(), ItemKind::Trait, vec![]),
            syn::Item::Impl(i) => {
                let name = self_type_name(&i.self_ty)?;
                let trait_ = i.trait_.as_ref().map(|(_, path, _)| quote::quote!(#path).to_string().replace(' ', ""));
                let mut methods = Vec::new();
                let mut functions = Vec::new();
                for it in &i.items {
                    if let syn::ImplItem::Fn(m) = it {
                        let method = m.sig.ident.to_string();
                        functions.push(self.site(format!("{name}::{method}"), vec![method.clone()], &m.vis, &m.sig, &m.block));
                        methods.push(method);
                    }
                }
                (name, ItemKind::Impl { trait_, methods }, functions)
            }
            syn::Item::Mod(m) => {
                let name = m.ident.to_string();
                let mut functions = Vec::new();
                self.mod_functions(&name, &mut vec![], m, &mut functions);
                (name, ItemKind::Mod, functions)
            }
            syn::Item::Const(c) => (c.ident.to_string(), ItemKind::Other, vec![]),
            syn::Item::Static(s) => (s.ident.to_string(), ItemKind::Other, vec![]),
            syn::Item::Type(t) => (t.ident.to_string(), ItemKind::Other, vec![]),
            syn::Item::Macro(m) => (m.ident.as_ref().map_or_else(|| source.clone(), ToString::to_string), ItemKind::Other, vec![]),
            _ => (source.clone(), ItemKind::Other, vec![]),
        };
        Some(RecordedItem { name, kind, cell: self.cell, first_line, source, functions, holder: None })
    }

    /// Functions of `m` (and its sub-modules) as `top::…::f`.
    fn mod_functions(&self, top: &str, inner: &mut Vec<String>, m: &syn::ItemMod, out: &mut Vec<FnSite>) {
        for item in m.content.iter().flat_map(|(_, items)| items) {
            match item {
                syn::Item::Fn(f) => {
                    let mut path = inner.clone();
                    path.push(f.sig.ident.to_string());
                    out.push(self.site(format!("{top}::{}", path.join("::")), path, &f.vis, &f.sig, &f.block));
                }
                syn::Item::Mod(sub) => {
                    inner.push(sub.ident.to_string());
                    self.mod_functions(top, inner, sub, out);
                    inner.pop();
                }
                _ => {}
            }
        }
    }

    fn site(&self, path: String, inner_path: Vec<String>, vis: &syn::Visibility, sig: &syn::Signature, block: &syn::Block) -> FnSite {
        let (first, last) = fn_lines(vis, sig, block);
        let lines = (first..=last).map(|l| self.lines.get(l as usize - 1).copied().unwrap_or("").to_owned()).collect();
        FnSite { path, inner_path, first_line: first, lines }
    }
}

/// First line (visibility or signature) and last line (closing brace) of a
/// function, in whatever source its spans come from.
pub(crate) fn fn_lines(vis: &syn::Visibility, sig: &syn::Signature, block: &syn::Block) -> (u32, u32) {
    let mut first = sig.span().start().line;
    if !matches!(vis, syn::Visibility::Inherited) {
        first = first.min(vis.span().start().line);
    }
    let last = block.brace_token.span.close().end().line;
    (first as u32, (last as u32).max(first as u32))
}

/// `Point` for `Point`, `geo::Point<T>`, `&Point`.
fn self_type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        syn::Type::Reference(r) => self_type_name(&r.elem),
        syn::Type::Paren(p) => self_type_name(&p.elem),
        _ => None,
    }
}
