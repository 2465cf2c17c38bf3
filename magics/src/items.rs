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

    /// The items evcxr keeps under the name `holder`, in order: the named
    /// item itself (none for an invented anchor) and the impl blocks
    /// attached to it.
    pub(crate) fn held_by(&self, holder: &str) -> Vec<usize> {
        let own = self.items.iter().rposition(|i| i.name == holder && matches!(i.kind, ItemKind::Type | ItemKind::Trait));
        own.into_iter().chain((0..self.items.len()).filter(|&i| self.items[i].holder.as_deref() == Some(holder))).collect()
    }
}
