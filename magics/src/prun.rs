//! `%prun` and `%%prun`: IPython's options (`D:l:rs:T:q`, plus `--rate HZ`
//! and `--threads`), rewritten into one call of the runtime's sampling
//! profiler:
//!
//! ```text
//! { ::parlab::__private::prun(&[PrunFn { name: "hot_inner", cell: 3, line: 1 }, …],
//!       PrunOptions { sort: …, cell: N, ..PrunOptions::DEFAULT }, || { STMT }); }
//! ```
//!
//! The function table names every notebook function with its cell and
//! signature line: evcxr compiles all of them into each cell's crate
//! (`ctx`), so the runtime cannot tell which cell defined `ctx::hot_inner`
//! without it (runtime `prof/symbols.rs` reads it). `%%prun`'s body runs in
//! the closure, on the cell's own lines (the call opens on the magic's
//! line), so its `let`s and items are local to it, as in `%%timeit`.
//!
//! ```
//! use parlab_magics::{plan, Plan, Session};
//! let Ok(Plan::Steps(steps)) = plan("%prun -s cumtime -l 5 work(10)", &Session::default()) else { panic!() };
//! assert!(steps[0].code.contains("::parlab::__private::prun(&[], "));
//! assert!(steps[0].code.contains("sort: ::parlab::__private::SortKey::Cumtime, limit: Some(5)"));
//! ```

use crate::getopt::{getopt, Opt};
use crate::items::ItemRegistry;
use crate::contract::{Plan, Session, Shown, Step, UsageError};

const P: &str = "::parlab::__private";
/// IPython's `%prun` spec (without `-q`'s partner `-D`'s pickle: `-D`
/// writes collapsed stacks here).
const SPEC: &str = "D:l:rs:T:q";
const LONG: &[&str] = &["rate=", "threads"];
const USAGE: &str = "usage: %prun [-s KEY] [-l N] [-r] [-q] [-T FILE] [-D FILE] [--rate HZ] [--threads] STATEMENT";

/// A parsed `%prun` line.
#[derive(Debug, Clone, PartialEq, Default)]
struct PrunArgs<'a> {
    /// `-s`: the runtime's `SortKey` variant.
    sort: Option<&'static str>,
    limit: Option<usize>,
    return_profile: bool,
    quiet: bool,
    text_file: Option<String>,
    dump_file: Option<String>,
    rate: Option<u32>,
    threads: bool,
    statement: &'a str,
}

fn parse(args: &str) -> Result<PrunArgs<'_>, UsageError> {
    let parsed = getopt(SPEC, LONG, args).map_err(|e| UsageError::new(e.to_string()))?;
    let mut out = PrunArgs { statement: parsed.rest, ..PrunArgs::default() };
    for opt in parsed.opts {
        match opt {
            Opt::Short('s', Some(key)) => {
                out.sort = Some(match key.as_str() {
                    "tottime" | "time" => "Tottime",
                    "cumtime" | "cumulative" => "Cumtime",
                    "samples" | "calls" | "ncalls" => "Samples",
                    _ => return Err(UsageError::new(format!("-s {key}: the sort key is one of tottime, cumtime, samples"))),
                })
            }
            Opt::Short('l', Some(n)) => match n.parse::<usize>() {
                Ok(n) if n > 0 => out.limit = Some(n),
                _ => return Err(UsageError::new(format!("-l {n}: the limit is a number of rows (1 or more)"))),
            },
            Opt::Short('r', _) => out.return_profile = true,
            Opt::Short('q', _) => out.quiet = true,
            Opt::Short('T', file) => out.text_file = file,
            Opt::Short('D', file) => out.dump_file = file,
            Opt::Long(name) if name == "threads" => out.threads = true,
            Opt::LongValue(name, hz) if name == "rate" => match hz.parse::<u32>() {
                Ok(hz) if (1..=10_000).contains(&hz) => out.rate = Some(hz),
                _ => return Err(UsageError::new(format!("--rate {hz}: the rate is a number of samples per second, 1 to 10000"))),
            },
            _ => {}
        }
    }
    Ok(out)
}

fn options(a: &PrunArgs<'_>, cell: u32) -> String {
    let mut fields = Vec::new();
    if let Some(key) = a.sort {
        fields.push(format!("sort: {P}::SortKey::{key}"));
    }
    if let Some(n) = a.limit {
        fields.push(format!("limit: Some({n})"));
    }
    if let Some(f) = &a.text_file {
        fields.push(format!("text_file: Some({f:?})"));
    }
    if let Some(f) = &a.dump_file {
        fields.push(format!("dump_file: Some({f:?})"));
    }
    if let Some(hz) = a.rate {
        fields.push(format!("rate_hz: {hz}"));
    }
    if a.threads {
        fields.push("split_threads: true".to_owned());
    }
    if a.quiet {
        fields.push("quiet: true".to_owned());
    }
    fields.push(format!("cell: {cell}"));
    fields.push(format!("..{P}::PrunOptions::DEFAULT"));
    format!("{P}::PrunOptions {{ {} }}", fields.join(", "))
}

/// The notebook's functions as `&[PrunFn { … }, …]` (the runtime's
/// contract: `parlab::__private::PrunFn`).
pub(crate) fn function_table(items: &ItemRegistry) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    // Newest first: a re-defined function is named by its latest cell.
    for item in items.items.iter().rev() {
        for f in &item.functions {
            if seen.insert(f.path.clone()) {
                rows.push(format!("{P}::PrunFn {{ name: {:?}, cell: {}, line: {} }}", f.path, item.cell, f.first_line));
            }
        }
    }
    format!("&[{}]", rows.join(", "))
}

/// The registry with the current cell's own items too (`code` without
/// its magic lines), so functions it defines are named by their lines.
fn with_cell(session: &Session, code: &str) -> ItemRegistry {
    let mut items = session.items.clone();
    items.record_cell(session.execution_count, code);
    items
}

fn call(a: &PrunArgs<'_>, fns: &str, cell: u32, body: &str) -> String {
    format!("{P}::prun({fns}, {}, || {{ {body} }})", options(a, cell))
}

/// The one-line replacement for a `%prun` line of `cell` (`binding`:
/// `let p =` or empty).
pub(crate) fn rewrite_line_magic(args: &str, binding: &str, cell: &str, session: &Session) -> Result<String, UsageError> {
    let a = parse(args)?;
    let stmt = a.statement.trim();
    if stmt.trim_end_matches(';').trim().is_empty() {
        return Err(UsageError::new(format!("%prun needs a statement to profile; {USAGE}")));
    }
    let without_magics: String =
        cell.lines().map(|l| if crate::line_magic::LineMagic::parse(l).is_some() { "" } else { l }).collect::<Vec<_>>().join("\n");
    let fns = function_table(&with_cell(session, &without_magics));
    let call = call(&a, &fns, session.execution_count, stmt);
    Ok(match (binding.is_empty(), a.return_profile) {
        (false, _) => format!("{binding} {{ {call} }};"),
        (true, true) => format!("{{ {call} }}"),
        (true, false) => format!("{{ {call}; }};"),
    })
}

/// `%%prun [opts]` + body: the call opens on the magic's line, the body
/// keeps its lines.
pub(crate) fn plan_cell_magic(args: &str, body: &str, session: &Session) -> Result<Plan, UsageError> {
    let a = parse(args)?;
    if !a.statement.is_empty() {
        return Err(UsageError::new(format!("%%prun takes its statement from the cell's body, not after the options; {USAGE}")));
    }
    if body.trim().is_empty() {
        return Err(UsageError::new("%%prun needs a body to profile"));
    }
    let fns = function_table(&with_cell(session, body));
    let call = call(&a, &fns, session.execution_count, &format!("\n{body}\n"));
    let code = if a.return_profile { format!("{{ {call} }}") } else { format!("{{ {call}; }}") };
    Ok(Plan::Steps(vec![Step { shown: Shown::Cell, ..Step::new(code) }]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &str) -> Result<String, String> {
        rewrite_line_magic(args, "", "", &Session { execution_count: 7, ..Session::default() }).map_err(|e| e.message)
    }

    #[test]
    fn options_become_fields() {
        let code = line("-s cumulative -l 3 -q -T t.txt -D s.folded --rate 500 --threads f(1)").unwrap();
        assert_eq!(
            code,
            "{ ::parlab::__private::prun(&[], ::parlab::__private::PrunOptions { sort: ::parlab::__private::SortKey::Cumtime, \
limit: Some(3), text_file: Some(\"t.txt\"), dump_file: Some(\"s.folded\"), rate_hz: 500, split_threads: true, quiet: true, \
cell: 7, ..::parlab::__private::PrunOptions::DEFAULT }, || { f(1) }); };"
        );
        assert!(line("--rate=250 f()").unwrap().contains("rate_hz: 250"));
        assert!(line("-r f()").unwrap().starts_with("{ ::parlab::__private::prun("));
    }

    #[test]
    fn usage_errors() {
        insta::assert_snapshot!(
            [line("-s nope f()"), line("-l x f()"), line("--rate 0 f()"), line("--rate"), line(""), line("-x f()")]
                .map(|r| r.unwrap_err())
                .join("\n"),
            @r#"
        -s nope: the sort key is one of tottime, cumtime, samples
        -l x: the limit is a number of rows (1 or more)
        --rate 0: the rate is a number of samples per second, 1 to 10000
        option --rate requires argument
        %prun needs a statement to profile; usage: %prun [-s KEY] [-l N] [-r] [-q] [-T FILE] [-D FILE] [--rate HZ] [--threads] STATEMENT
        option -x not recognized (allowed: "D:l:rs:T:q" --rate= --threads)
        "#
        );
    }

    #[test]
    fn notebook_functions_carry_their_cell_and_line() {
        let mut items = ItemRegistry::default();
        items.record_cell(3, "fn hot_inner() {}\nstruct P;\nimpl P {\n    fn m(&self) {}\n}");
        items.record_cell(5, "\nfn hot_inner() {}");
        let table = function_table(&items);
        assert_eq!(
            table,
            "&[::parlab::__private::PrunFn { name: \"hot_inner\", cell: 5, line: 2 }, \
::parlab::__private::PrunFn { name: \"P::m\", cell: 3, line: 4 }]"
        );
    }

    /// The contract with the runtime: the code a `%prun` line becomes,
    /// written to `runtime/tests/fixtures/prun_call.rs`, which
    /// `runtime/tests/prun.rs` compiles and runs (names, cells, options).
    #[test]
    fn fixture_matches_rewrite() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../runtime/tests/fixtures/prun_call.rs");
        let mut items = ItemRegistry::default();
        items.record_cell(3, "#[inline(never)]\nfn hot_inner(n: u64) -> u64 { n }");
        let session = Session { execution_count: 4, items, ..Session::default() };
        let call = rewrite_line_magic("-r -q -s cumtime -l 3 --rate 500 --threads fixture_statement()", "", "", &session).unwrap();
        let expected = format!(
            "// Generated by parlab-magics' `prun::tests::fixture_matches_rewrite` from\n\
             // `%prun -r -q -s cumtime -l 3 --rate 500 --threads fixture_statement()`\n\
             // in cell 4, `hot_inner` defined on line 2 of cell 3. Do not edit.\n{call}\n"
        );
        syn::parse_str::<syn::Expr>(&call).unwrap();
        if std::env::var_os("UPDATE_FIXTURES").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(path).unwrap_or_default();
        assert!(actual == expected, "{path} is stale; rerun with UPDATE_FIXTURES=1");
    }

    #[test]
    fn cell_form_keeps_the_body_lines() {
        let s = Session { execution_count: 2, ..Session::default() };
        let Plan::Steps(steps) = plan_cell_magic("-l 2", "let v = work();\nv.len()", &s).unwrap() else { panic!() };
        let code = &steps[0].code;
        assert_eq!(code.lines().nth(1), Some("let v = work();"));
        assert!(code.starts_with("{ ::parlab::__private::prun(&[], "));
        assert_eq!(plan_cell_magic("f()", "x", &s).unwrap_err().message.split(';').next(), Some("%%prun takes its statement from the cell's body, not after the options"));
        assert!(plan_cell_magic("", "  \n", &s).is_err());
    }
}
