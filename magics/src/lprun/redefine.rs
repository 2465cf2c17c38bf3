//! What `%lprun -f` (and anything else that probes functions) evaluates:
//! the recorded items that hold the functions, re-emitted with probes, and
//! their original text to put back.
//!
//! The registry (`crate::items`) only remembers source; it never calls
//! the instrumenter. This module reads the registry and calls it.

use super::instrument;
use crate::items::{record, FnSite, ItemKind, ItemRegistry};

/// Why `%lprun -f NAME` cannot profile `NAME`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LookupError {
    /// No recorded function has that path.
    #[error("`{name}` is not defined in this notebook; profilable functions: {}", list(available))]
    NotDefined {
        /// The name the user asked for.
        name: String,
        /// What `ItemRegistry::function_names` offers instead.
        available: Vec<String>,
    },
    /// The function exists but cannot carry probes.
    #[error("cannot profile `{name}`: {reason}")]
    Unsupported {
        /// The function's path.
        name: String,
        /// Why (a `const fn`, an `async fn`, …).
        reason: String,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "(none yet)".to_owned() } else { names.join(", ") }
}

/// A function under `%lprun`: what its report needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProfiledFn {
    /// The function's `%lprun` name.
    pub(crate) path: String,
    /// The cell that defined it.
    pub(crate) cell: u32,
    /// See `FnSite::first_line`.
    pub(crate) first_line: u32,
    /// See `FnSite::lines`.
    pub(crate) lines: Vec<String>,
}

/// What the kernel evaluates to profile some functions, and to undo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Redefinition {
    /// The functions, in probe-id order (`fn_id` = index).
    pub(crate) functions: Vec<ProfiledFn>,
    /// Items to evaluate so every caller reaches the probed versions: a
    /// function, or for a method its type plus all of the type's impl
    /// blocks, or the whole enclosing module; each item once, with all of
    /// its profiled functions instrumented.
    pub(crate) instrumented: String,
    /// The original text of the same items, evaluated afterwards.
    pub(crate) original: String,
}

/// The source that re-defines `paths` with line probes (function
/// number `i` of the profiling session is `paths[i]`), and the source
/// that restores them.
pub(crate) fn redefinition(registry: &ItemRegistry, paths: &[String]) -> Result<Redefinition, LookupError> {
    // (item index, [(site, fn_id)]) in first-mention order.
    let mut by_item: Vec<(usize, Vec<(&FnSite, u32)>)> = Vec::new();
    let mut functions = Vec::new();
    for (id, path) in paths.iter().enumerate() {
        let found = registry.items.iter().enumerate().rev().find_map(|(i, item)| item.functions.iter().find(|f| &f.path == path).map(|f| (i, f)));
        let Some((index, site)) = found else {
            return Err(LookupError::NotDefined { name: path.clone(), available: registry.function_names() });
        };
        functions.push(ProfiledFn { path: path.clone(), cell: registry.items[index].cell, first_line: site.first_line, lines: site.lines.clone() });
        match by_item.iter_mut().find(|(i, _)| *i == index) {
            Some((_, sites)) => sites.push((site, id as u32)),
            None => by_item.push((index, vec![(site, id as u32)])),
        }
    }
    let mut probed = Vec::new();
    for (index, sites) in &by_item {
        let text = instrument::instrument_item(&registry.items[*index], sites)
            .map_err(|(name, reason)| LookupError::Unsupported { name, reason })?;
        probed.push((*index, text));
    }
    // A method is re-emitted with its type and every impl block of the
    // type, each inside the evcxr item that carries it (its holder), so
    // the new text replaces the old and nothing is defined twice.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut holders: Vec<String> = Vec::new();
    for (index, _) in &by_item {
        let item = &registry.items[*index];
        if !matches!(item.kind, ItemKind::Impl { .. }) {
            groups.push(vec![*index]);
            continue;
        }
        let mut wanted = vec![item.name.clone()];
        wanted.extend(registry.items.iter().filter(|i| i.name == item.name).filter_map(|i| i.holder.clone()));
        for holder in wanted {
            if !holders.contains(&holder) {
                groups.push(registry.held_by(&holder));
                holders.push(holder);
            }
        }
    }
    let mut instrumented = String::new();
    let mut original = String::new();
    let mut emitted: Vec<usize> = Vec::new();
    for i in groups.into_iter().flatten() {
        if emitted.contains(&i) {
            continue;
        }
        emitted.push(i);
        let item = &registry.items[i];
        if let Some(anchor) = item.holder.as_deref().filter(|h| h.starts_with(record::ANCHOR_PREFIX)) {
            let line = format!("const {anchor}: () = ();\n");
            instrumented.push_str(&line);
            original.push_str(&line);
        }
        let source = &item.source;
        instrumented.push_str(probed.iter().find(|(p, _)| *p == i).map_or(source, |(_, text)| text));
        instrumented.push('\n');
        original.push_str(source);
        original.push('\n');
    }
    Ok(Redefinition { functions, instrumented, original })
}
