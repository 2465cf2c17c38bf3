//! Making a stand-alone `impl` cell re-runnable.
//!
//! evcxr stores each named top-level item of a cell by name, and a later
//! item of the same name replaces it; an impl block has no name, so evcxr
//! attaches it to the previous named item of the same cell, or, with none,
//! keeps it forever. Cell 1 `struct P`, cell 2 `impl P { fn get… }`, then
//! cell 2 edited and re-run: both `get`s are compiled and rustc reports
//! E0592 (duplicate definitions).
//!
//! The rewrite gives every impl block that does not follow its own type (or
//! trait) a name of its own: an empty const `__PARLAB_IMPL_<cell>_<line>_<col>`
//! written just before it, on its line, which evcxr then attaches it to.
//! When a cell supersedes an earlier impl block (same trait for the same
//! type, or an inherent block sharing a method name; see
//! [`RecordedItem::replaces`]) the earlier block's holder is re-defined
//! without it: an anchor as a bare const again, a type or trait with its
//! remaining attached impls. Everything added goes on lines that already
//! hold an item, so the cell keeps its line numbers (compile errors and
//! panics are located by line); the kernel maps the columns of a changed
//! line back to the user's text.
//!
//! Re-defining a type keeps the stand-alone impls of it, as plain evcxr
//! does, and drops those it carried (the ones written right after it), as
//! plain evcxr does; [`ItemRegistry::record_cell`] mirrors both.

use super::record::{self, ANCHOR_PREFIX};
use super::{ItemKind, ItemRegistry, RecordedItem};

/// The code to evaluate for `cell` (execution count `count`) so that its
/// impl blocks replace the ones they supersede, or `None` if the cell
/// needs no change. `registry` holds the earlier cells' items.
///
/// ```
/// use parlab_magics::{items::attach_impls, ItemRegistry};
/// let mut items = ItemRegistry::default();
/// items.record_cell(1, "struct P { x: i32 }");
/// let v1 = "impl P {\n    fn get(&self) -> i32 { self.x }\n}";
/// let run = attach_impls(v1, 2, &items).unwrap();
/// assert_eq!(run, format!("const __PARLAB_IMPL_2_1_0: () = (); {v1}"));
/// items.record_cell(2, v1);
/// let v2 = "impl P {\n    fn get(&self) -> i32 { self.x + 1 }\n}";
/// let run = attach_impls(v2, 3, &items).unwrap();
/// assert!(run.starts_with("const __PARLAB_IMPL_2_1_0: () = (); const __PARLAB_IMPL_3_1_0: () = (); impl P {\n"));
/// ```
pub fn attach_impls(cell: &str, count: u32, registry: &ItemRegistry) -> Option<String> {
    let parsed = record::parse_cell_at(count, cell);
    let defined_here = |name: &str| parsed.iter().any(|(i, _)| i.name == name && !is_impl(i));
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut redone: Vec<String> = Vec::new();
    for (k, (item, start)) in parsed.iter().enumerate() {
        let Some(holder) = item.holder.as_deref() else { continue };
        let anchored = holder.starts_with(ANCHOR_PREFIX);
        let point = if anchored {
            *start
        } else {
            // Before the type or trait this block follows, so the additions
            // do not come between the two.
            match parsed[..k].iter().rev().find(|(i, _)| i.name == holder && !is_impl(i)) {
                Some((_, s)) => *s,
                None => continue,
            }
        };
        let mut text = String::new();
        for old in registry.items.iter().filter(|old| is_impl(old) && item.replaces(old)) {
            let Some(old_holder) = old.holder.as_deref() else { continue };
            if redone.iter().any(|h| h == old_holder) || old_holder == holder || defined_here(old_holder) {
                continue;
            }
            redone.push(old_holder.to_owned());
            if old_holder.starts_with(ANCHOR_PREFIX) {
                text.push_str(&format!("const {old_holder}: () = (); "));
            } else if let Some(again) = redefine(registry, old_holder, &parsed) {
                text.push_str(&again);
            }
        }
        if anchored {
            text.push_str(&format!("const {holder}: () = (); "));
        }
        if !text.is_empty() {
            inserts.push((point, text));
        }
    }
    if inserts.is_empty() {
        return None;
    }
    // Later offsets first, so earlier ones stay valid; a stable sort keeps
    // additions at one point in the order they were made.
    inserts.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let mut out = cell.to_owned();
    let mut i = 0;
    while i < inserts.len() {
        let at = inserts[i].0;
        let mut text = String::new();
        while i < inserts.len() && inserts[i].0 == at {
            text.push_str(&inserts[i].1);
            i += 1;
        }
        out.insert_str(at, &text);
    }
    Some(out)
}

fn is_impl(item: &RecordedItem) -> bool {
    matches!(item.kind, ItemKind::Impl { .. })
}

/// `holder` (a type or trait of an earlier cell) and the impl blocks evcxr
/// keeps attached to it, minus those the cell supersedes, on one line.
fn redefine(registry: &ItemRegistry, holder: &str, cell: &[(RecordedItem, usize)]) -> Option<String> {
    let mut text = String::new();
    for i in registry.held_by(holder) {
        let old = &registry.items[i];
        if cell.iter().any(|(new, _)| is_impl(new) && new.replaces(old)) {
            continue;
        }
        text.push_str(&flatten(&old.source)?);
        text.push(' ');
    }
    Some(text)
}

/// An item's source on one line (comments dropped, doc comments kept as
/// attributes).
fn flatten(source: &str) -> Option<String> {
    let item: syn::Item = syn::parse_str(source).ok()?;
    Some(quote::quote!(#item).to_string())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod magic_tests;
