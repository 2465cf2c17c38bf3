//! `parlab-magics`: pure functions from a cell's text to a [`Plan`].
//!
//! The kernel hands every cell to [`plan`]; what comes back says what to
//! evaluate, in which order, and how to explain failures. Nothing here does
//! I/O, talks to evcxr or knows the Jupyter wire format, so every rule
//! (IPython's option grammar, usage errors, code rewrites, the line
//! instrumenter, report layouts) is unit-tested without a compiler.
//!
//! ```
//! use parlab_magics::{plan, Plan, Session};
//! let session = Session::default();
//! let Ok(Plan::Steps(steps)) = plan("let x = 1;", &session) else { panic!() };
//! assert_eq!(steps[0].code, "let x = 1;");
//! assert!(!steps[0].needs_runtime);
//! ```

pub mod commands;
pub mod complete;
mod getopt;
pub mod help;
pub mod items;
pub mod namespace;
pub mod table;
mod timeit;
mod timeline;
mod lprun;
mod prun;
mod memit;
pub mod mpirun;
mod contract;
mod line_magic;
mod plan;

pub use items::ItemRegistry;
pub use mpirun::BuildSettings;
pub use contract::{Explain, Plan, Session, Shown, Step, UsageError};
pub use plan::{explain_compile_error, plan};
