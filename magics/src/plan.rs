//! The contract between the magics and the kernel.
//!
//! A cell becomes a [`Plan`]: either plain code for evcxr, nothing at all,
//! or a list of [`Step`]s. Each step is Rust source evaluated in the
//! session like a cell of its own. Generated code calls the runtime only
//! through `::parlab::__private::…` (absolute paths, so user code cannot
//! shadow them).

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
}

/// How to evaluate one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Not a magic: evaluate the code as is.
    Plain(String),
    /// Accepted and deliberately ignored (`%load_ext line_profiler`).
    Nothing,
    /// Evaluate these steps in order.
    Steps(Vec<Step>),
}

/// One evaluation in a [`Plan::Steps`].
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Rust source, evaluated like a cell.
    pub code: String,
    /// Run even when an earlier step failed or was interrupted (used to
    /// restore functions after `%lprun`).
    pub always: bool,
    /// How to translate this step's compile errors for the user.
    pub explain: Explain,
}

impl Step {
    /// A step that runs only if the previous ones succeeded.
    pub fn new(code: impl Into<String>) -> Self {
        Step { code: code.into(), always: false, explain: Explain::None }
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

/// Turns a cell into a plan. Cells without magics come back as
/// [`Plan::Plain`] unchanged.
pub fn plan(cell: &str, session: &Session) -> Result<Plan, UsageError> {
    let _ = session;
    Ok(Plan::Plain(cell.to_owned()))
}

/// A plain-language replacement for a compile error of a generated step,
/// when one applies. `code` is rustc's error code (`E0507`), `message` its
/// message.
pub fn explain_compile_error(explain: Explain, code: Option<&str>, message: &str) -> Option<String> {
    let _ = (explain, code, message);
    None
}
