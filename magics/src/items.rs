//! Items (functions, types, impls, modules) that cells defined, with their
//! exact source text.
//!
//! `%lprun -f NAME` must re-define `NAME` with a probe per line, and later
//! put the original back. evcxr re-emits every named item into each later
//! cell's crate, so evaluating a new `fn distance` replaces the old one for
//! every caller; the registry only has to remember *which text* to
//! evaluate. It never evaluates anything itself.
//!
//! Only items at the top level of a cell (and inside top-level `mod`s) are
//! recorded: that is all evcxr keeps between cells.
//!
//! ```
//! use parlab_magics::ItemRegistry;
//! let mut items = ItemRegistry::default();
//! items.record_cell(1, "fn f() -> u32 {\n    1\n}\nstruct P;\nimpl P { fn m(&self) {} }\nf();");
//! assert_eq!(items.function_names(), ["P::m", "f"]);
//! ```

mod attach;
pub(crate) mod record;

pub use attach::attach_impls;

use crate::lprun::instrument;

/// The source of every item the notebook's cells defined so far, in
/// definition order. A later definition of the same name replaces the
/// earlier one (see [`RecordedItem::key`]).
#[derive(Debug, Default, Clone)]
pub struct ItemRegistry {
    /// Recorded items, oldest first.
    pub items: Vec<RecordedItem>,
}

/// One top-level item of a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedItem {
    /// The item's name (`distance`, `Point`, `geo`); for impl blocks the
    /// self type's last path segment (`Point` for `impl<T> geo::Point<T>`).
    pub name: String,
    /// What kind of item it is.
    pub kind: ItemKind,
    /// The execution count of the cell that defined it.
    pub cell: u32,
    /// 1-based line within the cell where `source` starts.
    pub first_line: u32,
    /// The exact slice of the cell, attributes and doc comments included.
    pub source: String,
    /// The functions inside that `%lprun -f` can profile: the item itself
    /// for a `fn`, the methods of an impl block, the functions of a module
    /// (recursively).
    pub functions: Vec<FnSite>,
    /// For impl blocks, the name of the evcxr item that carries the block:
    /// the type (or trait) it follows in its own cell, which evcxr attaches
    /// it to, or else an invented `__PARLAB_IMPL_<cell>_<line>_<col>`
    /// const that [`attach_impls`] puts before it, so a later cell can
    /// replace the block by re-defining that name. `None` for other items.
    pub holder: Option<String>,
}

/// The kind of a [`RecordedItem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// `fn`.
    Fn,
    /// `struct`, `enum` or `union`: a type that impl blocks attach to.
    Type,
    /// `trait`.
    Trait,
    /// `impl Type` (`trait_` = None) or `impl Trait for Type`.
    Impl {
        /// The trait's path as written (`Display`, `fmt::Display`), if any.
        trait_: Option<String>,
        /// Names of the methods the block defines.
        methods: Vec<String>,
    },
    /// `mod name { … }`.
    Mod,
    /// `const`, `static`, `type`, `use`, macros and the rest: recorded so
    /// the registry mirrors the notebook, never profiled.
    Other,
}

/// A profilable function inside a recorded item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnSite {
    /// The name `%lprun -f` accepts: `foo`, `Type::method`, `module::foo`.
    pub path: String,
    /// The path from the enclosing item to the function: `[]` for a
    /// top-level fn, `["method"]` in an impl, `["inner", "foo"]` in a mod.
    pub inner_path: Vec<String>,
    /// 1-based cell line of the signature (where line_profiler's
    /// `Function: NAME at line L` points).
    pub first_line: u32,
    /// The cell's lines from `first_line` to the closing brace, verbatim:
    /// the report's `Line Contents`.
    pub lines: Vec<String>,
}

impl RecordedItem {
    /// Items with equal keys replace each other: values (`fn`) and types
    /// live in different namespaces, as in Rust; an impl block is keyed by
    /// its trait and self type, so a later `impl Display for P` replaces the
    /// earlier one. Inherent impls (`impl P`) of one type get the same key
    /// only when they share a method name (two inherent impls defining
    /// different methods are both valid Rust and both kept).
    pub fn key(&self) -> String {
        match &self.kind {
            ItemKind::Fn | ItemKind::Other => format!("value {}", self.name),
            ItemKind::Type | ItemKind::Trait | ItemKind::Mod => format!("type {}", self.name),
            ItemKind::Impl { trait_: Some(t), .. } => format!("impl {} for {}", last_segment(t), self.name),
            ItemKind::Impl { trait_: None, .. } => format!("impl {}", self.name),
        }
    }

    /// Whether recording `self` after `older` removes `older`: same key
    /// (see [`RecordedItem::key`]), or `older` is an impl block evcxr
    /// attached to the item `self` re-defines.
    pub fn replaces(&self, older: &RecordedItem) -> bool {
        if !matches!(self.kind, ItemKind::Impl { .. }) && older.holder.as_deref() == Some(self.name.as_str()) {
            return true;
        }
        if self.key() != older.key() {
            return false;
        }
        match (&self.kind, &older.kind) {
            (ItemKind::Impl { trait_: None, methods: a }, ItemKind::Impl { methods: b, .. }) => a.iter().any(|m| b.contains(m)),
            _ => true,
        }
    }
}

/// Why `%lprun -f NAME` cannot profile `NAME`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No recorded function has that path.
    #[error("`{name}` is not defined in this notebook; profilable functions: {}", list(available))]
    NotDefined {
        /// The name the user asked for.
        name: String,
        /// What [`ItemRegistry::function_names`] offers instead.
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

/// `Display` for `std::fmt::Display`, `From<i32>` for `convert::From<i32>`:
/// how a trait is usually written differs between cells.
fn last_segment(path: &str) -> &str {
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = path.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' | b'(' => depth += 1,
            b'>' | b')' => depth -= 1,
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => start = i + 2,
            _ => {}
        }
    }
    &path[start.min(path.len())..]
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "(none yet)".to_owned() } else { names.join(", ") }
}

/// A function under `%lprun`: what its report needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfiledFn {
    /// The function's `%lprun` name.
    pub path: String,
    /// The cell that defined it.
    pub cell: u32,
    /// See [`FnSite::first_line`].
    pub first_line: u32,
    /// See [`FnSite::lines`].
    pub lines: Vec<String>,
}

/// What the kernel evaluates to profile some functions, and to undo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redefinition {
    /// The functions, in probe-id order (`fn_id` = index).
    pub functions: Vec<ProfiledFn>,
    /// Items to evaluate so every caller reaches the probed versions: a
    /// function, or for a method its type plus all of the type's impl
    /// blocks, or the whole enclosing module; each item once, with all of
    /// its profiled functions instrumented.
    pub instrumented: String,
    /// The original text of the same items, evaluated afterwards.
    pub original: String,
}

impl ItemRegistry {
    /// Records the items of a cell that ran successfully. Evcxr commands
    /// (`:dep`) and magic lines are blanked first, so line numbers stay
    /// the cell's. Cells syn cannot parse are ignored, and so are cell
    /// magics (`%%time`, `%%timeit`): their bodies run inside a block, and
    /// evcxr keeps none of their items.
    pub fn record_cell(&mut self, execution_count: u32, code: &str) {
        for item in record::parse_cell(execution_count, code) {
            self.items.retain(|old| !item.replaces(old));
            self.items.push(item);
        }
    }

    /// Every name `%lprun -f` accepts, sorted.
    pub fn function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.items.iter().flat_map(|i| i.functions.iter().map(|f| f.path.clone())).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The newest recorded function called `path`, with its item.
    pub fn function(&self, path: &str) -> Option<(&RecordedItem, &FnSite)> {
        self.items.iter().rev().find_map(|item| item.functions.iter().find(|f| f.path == path).map(|f| (item, f)))
    }

    /// The source that re-defines `paths` with line probes (function
    /// number `i` of the profiling session is `paths[i]`), and the source
    /// that restores them.
    pub fn redefinition(&self, paths: &[String]) -> Result<Redefinition, LookupError> {
        // (item index, [(site, fn_id)]) in first-mention order.
        let mut by_item: Vec<(usize, Vec<(&FnSite, u32)>)> = Vec::new();
        let mut functions = Vec::new();
        for (id, path) in paths.iter().enumerate() {
            let found = self.items.iter().enumerate().rev().find_map(|(i, item)| item.functions.iter().find(|f| &f.path == path).map(|f| (i, f)));
            let Some((index, site)) = found else {
                return Err(LookupError::NotDefined { name: path.clone(), available: self.function_names() });
            };
            functions.push(ProfiledFn { path: path.clone(), cell: self.items[index].cell, first_line: site.first_line, lines: site.lines.clone() });
            match by_item.iter_mut().find(|(i, _)| *i == index) {
                Some((_, sites)) => sites.push((site, id as u32)),
                None => by_item.push((index, vec![(site, id as u32)])),
            }
        }
        let mut probed = Vec::new();
        for (index, sites) in &by_item {
            let text = instrument::instrument_item(&self.items[*index], sites)
                .map_err(|(name, reason)| LookupError::Unsupported { name, reason })?;
            probed.push((*index, text));
        }
        // A method is re-emitted with its type and every impl block of the
        // type, each inside the evcxr item that carries it (its holder), so
        // the new text replaces the old and nothing is defined twice.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut holders: Vec<String> = Vec::new();
        for (index, _) in &by_item {
            let item = &self.items[*index];
            if !matches!(item.kind, ItemKind::Impl { .. }) {
                groups.push(vec![*index]);
                continue;
            }
            let mut wanted = vec![item.name.clone()];
            wanted.extend(self.items.iter().filter(|i| i.name == item.name).filter_map(|i| i.holder.clone()));
            for holder in wanted {
                if !holders.contains(&holder) {
                    groups.push(self.held_by(&holder));
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
            let item = &self.items[i];
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

    /// The items evcxr keeps under the name `holder`, in order: the named
    /// item itself (none for an invented anchor) and the impl blocks
    /// attached to it.
    pub(crate) fn held_by(&self, holder: &str) -> Vec<usize> {
        let own = self.items.iter().rposition(|i| i.name == holder && matches!(i.kind, ItemKind::Type | ItemKind::Trait));
        own.into_iter().chain((0..self.items.len()).filter(|&i| self.items[i].holder.as_deref() == Some(holder))).collect()
    }
}
