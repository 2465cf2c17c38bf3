//! The contract between the magics and the kernel: what the kernel knows
//! of the session ([`Session`]), what a cell becomes ([`Plan`], [`Step`]),
//! and how a wrong magic is reported ([`UsageError`]).
//!
//! Types only, so every planner (`timeit`, `lprun`, `mpirun`, …) and the
//! dispatcher in `plan.rs` import them without importing each other.
//! Generated code calls the runtime only through `::parlab::__private::…`
//! (absolute paths, so user code cannot shadow them).

use crate::items::ItemRegistry;

/// What the kernel knows about the session when it plans a cell.
#[derive(Debug, Default)]
pub struct Session {
    /// The execution count this cell will get (`In [N]`); reports name
    /// cells `<cell N>`.
    pub execution_count: u32,
    /// Source of every item earlier cells defined (for `%lprun -f`).
    pub items: ItemRegistry,
    /// Wall-clock time the kernel received the cell, in nanoseconds since
    /// the Unix epoch. Generated timing code subtracts it from the time it
    /// starts running to report compile time, as IPython's `Compiler time`.
    pub cell_started_unix_ns: u128,
    /// `:dep` crates and `:opt` level of earlier cells (for `%%mpirun`).
    pub build: crate::mpirun::BuildSettings,
}

impl Session {
    /// Records what a cell that ran defined (its items, `:dep` and `:opt`
    /// lines), as cell number [`Self::execution_count`]: the number its
    /// plan used, so the names `items::attach_impls` gave its impl blocks
    /// are the ones recorded. Call it for a cell that compiled, after it
    /// ran (a panic keeps its items in evcxr).
    ///
    /// ```
    /// use parlab_magics::Session;
    /// let mut s = Session { execution_count: 2, ..Session::default() };
    /// s.commit(":dep rand\nfn f() {}");
    /// assert_eq!(s.items.function_names(), ["f"]);
    /// assert_eq!(s.build.deps[0].0, "rand");
    /// ```
    pub fn commit(&mut self, cell: &str) {
        self.items.record_cell(self.execution_count, cell);
        self.build.record_cell(cell);
    }
}

/// How to evaluate one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Accepted and deliberately ignored (`%load_ext line_profiler`).
    Nothing,
    /// Evaluate these steps in order. A cell without magics is one step
    /// ([`Step::cell`]).
    Steps(Vec<Step>),
    /// Build the cell as an MPI program and run it with mpirun
    /// (`%%mpirun`); nothing is evaluated in the session.
    Mpirun(Box<crate::mpirun::MpirunPlan>),
    /// Show this help text as a pager page (`%timeit?`); nothing runs.
    Page(String),
    /// Show the documentation of a Rust name (`Pool::new?`, `?Vec`); with
    /// `source`, also the notebook's source of it (`distance??`).
    Inspect { name: String, source: bool },
    /// `%lsmagic`: [`crate::help::lsmagic`] with evcxr's commands.
    Lsmagic,
    /// `%who` (`long`: `%whos`), for the variables of these types (all
    /// when empty): see [`crate::namespace`].
    Who { long: bool, types: Vec<String> },
}

impl Plan {
    /// Whether any step calls the runtime (the kernel adds it first).
    pub fn needs_runtime(&self) -> bool {
        matches!(self, Plan::Steps(steps) if steps.iter().any(|s| s.needs_runtime))
    }
}

/// One evaluation in a [`Plan::Steps`], ready to hand to evcxr.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Rust source, evaluated like a cell.
    pub code: String,
    /// Run even when an earlier step failed or was interrupted (used to
    /// restore functions after `%lprun`).
    pub always: bool,
    /// How to translate this step's compile errors for the user.
    pub explain: Explain,
    /// What compile errors are drawn over.
    pub shown: Shown,
    /// The step calls the runtime (`parlab`, or `rayon`, which the kernel
    /// adds with it), so the kernel must add it to the session first.
    pub needs_runtime: bool,
}

/// The text a step's compile errors are drawn over. A step's `code` keeps
/// its text line for line; only item lines may carry added names (see
/// `items::attach_impls`), which the user never wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// The user's cell, as typed.
    Cell,
    /// Part of the cell (the lines around `%lprun`), blank lines where the
    /// rest was.
    Text(String),
    /// Generated code: errors are parlab's, drawn over `code` itself.
    Generated,
}

impl Step {
    /// A generated step that calls the runtime and runs only if the
    /// previous ones succeeded.
    pub fn new(code: impl Into<String>) -> Self {
        Step { code: code.into(), always: false, explain: Explain::None, shown: Shown::Generated, needs_runtime: true }
    }

    /// The user's own code (`code` keeps the lines of `shown`), which
    /// needs the runtime only if it names `parlab` or `rayon`.
    pub fn user(code: String, shown: Shown) -> Self {
        let needs_runtime = names_runtime(&code);
        Step { code, always: false, explain: Explain::None, shown, needs_runtime }
    }
}

/// Whether Rust `code` names the runtime or rayon as an identifier (not in
/// a string or a comment). Code the lexer rejects is checked as text:
/// evcxr will report its error, and adding the runtime costs only time.
fn names_runtime(code: &str) -> bool {
    fn walk(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "parlab" || i == "rayon",
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    match code.parse::<proc_macro2::TokenStream>() {
        Ok(tokens) => walk(tokens),
        Err(_) => code.contains("parlab") || code.contains("rayon"),
    }
}

/// Which translation applies to a step's compile errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Explain {
    /// Show rustc's errors as they are.
    #[default]
    None,
    /// The step repeats user code in a loop (`%timeit`): a moved variable
    /// gets a plain explanation instead of closure errors.
    TimedStatement,
    /// A generated step whose failure is parlab's fault, not the user's.
    Internal,
}

/// A wrong magic invocation, shown as IPython shows it: one line,
/// `UsageError: <message>`, and nothing runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    /// The line after `UsageError: `.
    pub message: String,
}

impl UsageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        UsageError { message: message.into() }
    }
}
