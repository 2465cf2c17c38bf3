//! `%%timeline`: the cell runs at top level between the runtime's
//! `timeline_start()` (on the magic's line, so the body keeps its line
//! numbers) and `timeline_end(&value)`, which shows the chart before the
//! cell's value. Like `%%time`, the body's names stay in the session.
//!
//! ```text
//! ::parlab::__private::timeline_start();
//! let pool = Pool::new(2);
//! ::parlab::__private::timeline_end(&(pool.map(f, 0..8)))
//! ```

use crate::contract::{Plan, Session, Shown, Step, UsageError};

const START: &str = "::parlab::__private::timeline_start();";
const END: &str = "::parlab::__private::timeline_end";

pub(crate) fn plan_cell_magic(args: &str, body: &str, session: &Session) -> Result<Plan, UsageError> {
    if !args.trim().is_empty() {
        return Err(UsageError::new(format!("%%timeline takes no arguments: `{}`", args.trim())));
    }
    if body.trim().is_empty() {
        return Err(UsageError::new("%%timeline needs a body: the code whose Pool tasks it records"));
    }
    let code = match crate::timeit::bracket_top_level(body, START, END) {
        // Its stand-alone impls get the name a later edit replaces, as in
        // a plain cell.
        Some(code) => crate::items::attach_impls(&code, session.execution_count, &session.items).unwrap_or(code),
        // Not Rust syn can read: rustc reports the error over the body.
        None => format!("{{ {START} let __parlab_v = {{\n{body}\n}}; {END}(&()); __parlab_v }}"),
    };
    // The body keeps the cell's lines: errors are drawn over the cell.
    Ok(Plan::Steps(vec![Step { shown: Shown::Cell, ..Step::new(code) }]))
}

#[cfg(test)]
mod tests {
    use crate::contract::{Plan, Session};
    use crate::plan::plan;

    fn code(cell: &str) -> String {
        match plan(cell, &Session::default()) {
            Ok(Plan::Steps(steps)) if steps.len() == 1 => steps[0].code.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_body_runs_at_top_level_between_start_and_end() {
        assert_eq!(
            code("%%timeline\nlet pool = Pool::new(2);\npool.map(f, 0..8)"),
            "::parlab::__private::timeline_start();\nlet pool = Pool::new(2);\n::parlab::__private::timeline_end(&(pool.map(f, 0..8)))"
        );
        assert_eq!(
            code("%%timeline\nlet v = pool.map(f, 0..8);"),
            "::parlab::__private::timeline_start();\nlet v = pool.map(f, 0..8);\n::parlab::__private::timeline_end(&());"
        );
    }

    #[test]
    fn usage_errors_run_nothing() {
        let err = |cell: &str| plan(cell, &Session::default()).unwrap_err().message;
        assert_eq!(err("%%timeline -n 3\nf()"), "%%timeline takes no arguments: `-n 3`");
        assert_eq!(err("%%timeline\n  \n"), "%%timeline needs a body: the code whose Pool tasks it records");
        assert_eq!(err("%timeline f()"), "Line magic function `%timeline` not found.");
    }
}
