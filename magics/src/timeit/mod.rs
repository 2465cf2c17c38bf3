//! `%timeit`, `%%timeit`, `%time`, `%%time`: IPython's grammar, rewritten
//! into Rust that calls the timing harness in the `parlab` runtime.
//!
//! - [`grammar`] parses the options (IPython's `n:r:tcp:qov:` getopt spec, plus `-a`)
//!   and rejects what IPython would crash on (`-n abc`, `-r 0`).
//! - [`rewrite`] generates the code: a block (so evcxr persists nothing
//!   new) with the statement in a closure the runtime calls per repeat.
//! - [`explain`] turns "moved value" errors from that closure into one
//!   plain sentence.
//!
//! Choices where IPython gives no answer: an empty `%timeit` or `%time`
//! statement, and a `%%timeit` with no body, are usage errors (IPython
//! silently returns `None`, which hides a typo); `-v NAME` binds the `TimeitResult` to `NAME` in
//! the notebook; `%%time` bodies are evaluated in a block, so their `let`s
//! do not persist (`%time let x = f();` on one line does bind `x`), and
//! neither do the items of a `%%time` or `%%timeit` body.
//!
//! ```
//! use parlab_magics::{plan, Plan, Session};
//! let Ok(Plan::Steps(steps)) = plan("%timeit -n 10 v.len()", &Session::default()) else { panic!() };
//! assert!(steps[0].code.contains("::parlab::__private::timeit("));
//! ```

pub(crate) mod explain;
pub(crate) mod grammar;
mod rewrite;
pub(crate) use rewrite::bracket_top_level;

use crate::contract::{Explain, Plan, Session, Shown, Step, UsageError};
use crate::table::Handler;
use grammar::{parse_time, parse_timeit, split_statement};

/// `%%timeit` / `%%time` as the first line of a cell.
pub(crate) fn plan_cell_magic(magic: Handler, args: &str, body: &str, session: &Session) -> Result<Plan, UsageError> {
    let started = session.cell_started_unix_ns;
    let (code, explain) = match magic {
        Handler::Timeit => {
            let a = parse_timeit(args)?;
            let setup = grammar::cut_trailing_comment(a.stmt).trim_end();
            if body.trim().is_empty() {
                return Err(UsageError::new(
                    "%%timeit needs a body to time: the first line is setup, the lines below it are timed",
                ));
            }
            (rewrite::timeit_cell(&a, setup, body, started), Explain::TimedStatement)
        }
        _ => {
            let t = parse_time(args);
            let has_body = !body.trim().is_empty();
            if has_body && !t.stmt.is_empty() {
                return Err(UsageError::new("Can't use statement directly after '%%time'!"));
            }
            // Runs once: a moved variable is the user's own error, shown as is.
            let code = if has_body {
                rewrite::time_cell(&t, body, started)
            } else {
                let (stmt, semicolon) = split_statement(t.stmt);
                rewrite::time_line(&t, stmt, semicolon, "", started)
            };
            (code, Explain::None)
        }
    };
    // A `%%time` body at top level keeps its items in the session, so its
    // stand-alone impls get the name a later edit replaces, as in a plain cell.
    let code = if code.starts_with(rewrite::TIME_START) {
        crate::items::attach_impls(&code, session.execution_count, &session.items).unwrap_or(code)
    } else {
        code
    };
    // One step that keeps the cell's lines: errors are drawn over the cell.
    Ok(Plan::Steps(vec![Step { explain, shown: Shown::Cell, ..Step::new(code) }]))
}

/// The one-line replacement for a `%timeit`/`%time` line. `binding` is
/// `let r =` when the value is bound, else empty.
pub(crate) fn rewrite_line_magic(magic: Handler, args: &str, binding: &str, session: &Session) -> Result<String, UsageError> {
    let started = session.cell_started_unix_ns;
    match magic {
        Handler::Timeit => {
            let a = parse_timeit(args)?;
            if a.var.is_some() && !binding.is_empty() {
                return Err(UsageError::new(format!("-v and `{binding}` both bind the result: use one of them")));
            }
            let (stmt, semicolon) = split_statement(a.stmt);
            if stmt.is_empty() {
                return Err(UsageError::new("%timeit needs a statement to time, e.g. `%timeit f(x)`"));
            }
            Ok(rewrite::timeit_line(&a, stmt, semicolon, binding, started))
        }
        _ => {
            let t = parse_time(args);
            let (stmt, semicolon) = split_statement(t.stmt);
            if stmt.is_empty() {
                return Err(UsageError::new("%time needs a statement to time, e.g. `%time f(x)`"));
            }
            Ok(rewrite::time_line(&t, stmt, semicolon, binding, started))
        }
    }
}

#[cfg(test)]
mod tests;
