//! `%%mpirun -n N [--hostfile FILE | -H HOSTS] [--oversubscribe] [-- ARGS]`:
//! the cell's body as the `main` of an MPI program, run with `mpirun`.
//!
//! This module only decides *what* to build and run: [`grammar`] parses
//! the options, [`program`] writes `main.rs` from the notebook's items and
//! the body, [`settings`] mirrors the `:dep`/`:opt` lines the program must
//! honour. The kernel builds it with cargo, launches mpirun and relays each
//! rank's output (see `kernel/src/engine/mpirun/`).
//!
//! ```
//! use parlab_magics::{plan, ItemRegistry, Plan, Session};
//! let mut items = ItemRegistry::default();
//! items.record_cell(1, "fn square(x: u64) -> u64 { x * x }");
//! let session = Session { execution_count: 2, items, ..Session::default() };
//! let Ok(Plan::Mpirun(p)) = plan("%%mpirun -n 2\nprintln!(\"{}\", square(rank as u64));", &session) else { panic!() };
//! assert_eq!(p.options.mpirun_args(), ["-n", "2"]);
//! assert!(p.program.main_rs.contains("fn square(x: u64) -> u64 { x * x }"));
//! ```

mod grammar;
mod program;
mod settings;
#[cfg(test)]
mod tests;

pub use grammar::{Hosts, MpirunOptions};
pub use program::{Origin, Program};
pub use settings::BuildSettings;

use crate::contract::{Plan, Session, UsageError};

/// Everything the kernel needs to run a `%%mpirun` cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpirunPlan {
    /// The magic line's options.
    pub options: MpirunOptions,
    /// The program to build.
    pub program: Program,
    /// `:dep` crates and the optimisation level of the session.
    pub settings: BuildSettings,
}

/// `%%mpirun ARGS` followed by `body`, whose first line is cell line
/// `body_first_line`.
pub(crate) fn plan_cell_magic(args: &str, body: &str, body_first_line: u32, session: &Session) -> Result<Plan, UsageError> {
    let options = grammar::parse(args)?;
    if body.trim().is_empty() {
        return Err(UsageError::new("%%mpirun: the cell has no code below the magic line; it becomes the program's main"));
    }
    let program = program::generate(&session.items, session.execution_count, body, body_first_line);
    Ok(Plan::Mpirun(Box::new(MpirunPlan { options, program, settings: session.build.clone() })))
}
