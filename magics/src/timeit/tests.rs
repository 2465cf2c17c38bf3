//! Snapshots of the generated code (each must parse as a Rust block) and
//! of the usage errors, through the crate's public entry point [`plan`].

use crate::contract::{Explain, Plan, Session};
use crate::plan::plan;

const STARTED: u128 = 1_700_000_000_123_456_789;

fn session() -> Session {
    Session { execution_count: 3, cell_started_unix_ns: STARTED, ..Session::default() }
}

/// The generated code of a cell (checked to parse), or `UsageError: …`.
fn check(cell: &str) -> String {
    match plan(cell, &session()) {
        Ok(Plan::Steps(steps)) => {
            assert_eq!(steps.len(), 1);
            let code = &steps[0].code;
            if let Err(e) = syn::parse_str::<syn::Block>(&format!("{{{code}\n}}")) {
                panic!("generated code does not parse: {e}\n{code}");
            }
            code.clone()
        }
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("UsageError: {e}"),
    }
}

#[test]
fn line_timeit_with_loops() {
    insta::assert_snapshot!(check("%timeit -n 10 v.iter().sum::<u64>()"));
}

#[test]
fn line_timeit_all_options_and_trailing_semicolon() {
    insta::assert_snapshot!(check("%timeit -n1000 -r 3 -p 4 -c -q v.sort(); // comment"));
}

#[test]
fn line_timeit_let_statement() {
    // The `;` is split off as the user's; the timed block needs it back.
    let code = check("%timeit -n 10 let w = v.clone();");
    assert!(code.contains("black_box({ let w = v.clone(); });"), "{code}");
}

#[test]
fn line_timeit_bound_with_o() {
    insta::assert_snapshot!(check("let v = vec![3u64, 1, 2];\nlet r = %timeit -o v.len();\nr.best"));
}

#[test]
fn line_timeit_o_as_cell_value() {
    insta::assert_snapshot!(check("%timeit -o v.len()"));
}

#[test]
fn line_timeit_v_binds() {
    insta::assert_snapshot!(check("%timeit -v res v.len();"));
}

#[test]
fn line_timeit_indented_in_a_block() {
    insta::assert_snapshot!(check("for n in [10, 100] {\n    %timeit -n 5 (0..n).sum::<u64>();\n}"));
}

#[test]
fn cell_timeit_with_setup() {
    insta::assert_snapshot!(check("%%timeit let mut w = v.clone();\nw.sort();"));
}

#[test]
fn cell_timeit_setup_without_semicolon_and_multiline_body() {
    insta::assert_snapshot!(check("%%timeit -r2 -o let mut w = v.clone() // fresh copy\nw.sort();\nw.dedup();\nw.len() // last"));
}

#[test]
fn cell_timeit_empty_setup() {
    insta::assert_snapshot!(check("%%timeit\nv.iter().sum::<u64>()"));
}

#[test]
fn line_time_value() {
    insta::assert_snapshot!(check("%time expensive()"));
}

#[test]
fn line_time_let_keeps_binding() {
    insta::assert_snapshot!(check("%time let x: Vec<u64> = (0..10).collect();\nx.len()"));
}

#[test]
fn line_time_bound() {
    insta::assert_snapshot!(check("let y = %time f(1);"));
}

#[test]
fn line_time_no_raise() {
    insta::assert_snapshot!(check("%time --no-raise-error f(1);"));
}

#[test]
fn cell_time() {
    insta::assert_snapshot!(check("%%time\nlet s: u64 = (0..1000).sum();\ns"));
}

#[test]
fn cell_time_body_runs_at_top_level() {
    // Ends in a statement: the times follow it. Items stay top-level items.
    insta::assert_snapshot!(check("%%time\nfn helper() -> u32 { 7 }\nlet t = helper();\nprintln!(\"{t}\");"));
    // The value keeps its trailing comment outside the call; a macro can be the value.
    let out = check("%%time\nlet v = vec![1];\nv.len() // count");
    assert!(out.ends_with("::parlab::__private::time_end(&(v.len())) // count"), "{out}");
    let out = check("%%time\nformat!(\"x\")");
    assert!(out.ends_with("::parlab::__private::time_end(&(format!(\"x\")))"), "{out}");
}

#[test]
fn cell_time_no_raise_or_unparsed_body_stays_in_a_block() {
    assert!(check("%%time --no-raise-error\nlet a = 1;").contains("no_raise(|| {"));
    let Ok(Plan::Steps(steps)) = plan("%%time\nlet a = ;", &session()) else { panic!() };
    assert!(steps[0].code.contains("let __parlab_v = {"));
}

#[test]
fn cell_time_statement_on_magic_line() {
    insta::assert_snapshot!(check("%%time f(2)"));
}

#[test]
fn usage_errors() {
    let cells = [
        "%timeit -x 1",
        "%timeit -n",
        "%timeit -n abc f()",
        "%timeit -r 0 f()",
        "%timeit -p 99 f()",
        "%%timeit -z\nf()",
        "%%time f()\ng()",
        "%time",
        "%time   ;",
        "let r = %timeit -v q f();",
    ];
    let report: Vec<String> = cells.iter().map(|c| format!("{c:?}\n    {}", check(c))).collect();
    insta::assert_snapshot!(report.join("\n"));
}

#[test]
fn empty_statements_are_usage_errors() {
    for cell in ["%timeit\nlet a = 1;", "%timeit -q ;", "%timeit -n 10", "%%timeit let a = 1;\n", "%%timeit", "%time"] {
        let err = plan(cell, &session()).expect_err(cell);
        assert!(err.message.contains("needs a"), "{cell:?}: {}", err.message);
    }
}

#[test]
fn explain_kinds() {
    let Ok(Plan::Steps(s)) = plan("%%timeit\nf()", &session()) else { panic!() };
    assert_eq!(s[0].explain, Explain::TimedStatement);
    let Ok(Plan::Steps(s)) = plan("%%time\nf()", &session()) else { panic!() };
    assert_eq!(s[0].explain, Explain::None);
}

#[test]
fn cell_body_keeps_its_line_numbers() {
    let cell = "%%timeit let mut w = v.clone();\nw.sort();\nlet z = 1;\nz";
    let Ok(Plan::Steps(s)) = plan(cell, &session()) else { panic!() };
    let lines: Vec<&str> = s[0].code.lines().collect();
    assert!(lines[1].ends_with("w.sort();"));
    assert_eq!(lines[2], "let z = 1;");
    assert_eq!(lines[3], "z");
}

#[test]
fn explain_compile_error_for_timed_statements() {
    use crate::plan::explain_compile_error;
    let msg = "cannot move out of `v`, a captured variable in an `FnMut` closure";
    let s = explain_compile_error(Explain::TimedStatement, Some("E0507"), msg).unwrap();
    assert!(s.starts_with("the timed statement moves `v`, so it cannot be repeated"));
    assert_eq!(explain_compile_error(Explain::None, Some("E0507"), msg), None);
}

/// The cells whose generated code `runtime/tests/timeit_generated.rs`
/// compiles and runs: (function name, its parameters, the cell).
const FIXTURE_CASES: &[(&str, &str, &str)] = &[
    ("line_timeit", "v: &[u64]", "%timeit -n 10 -r 2 -q v.iter().sum::<u64>()"),
    ("line_timeit_o", "v: &[u64]", "let r = %timeit -o -n 10 -r 2 -q v.iter().sum::<u64>();\n(r.loops, r.repeat)"),
    ("line_timeit_v", "v: &[u64]", "%timeit -q -n 4 -r 3 -p 5 -c -v res v.len();\n(res.loops, res.repeat)"),
    ("cell_timeit_setup", "v: &[u64]", "%%timeit -n 3 -r 2 -q -o let mut w = v.to_vec();\nw.sort();"),
    ("line_time_let", "", "%time let x: Vec<u64> = (0..5).collect();\nx"),
    ("cell_time", "x: &[u64]", "%%time\nlet s: u64 = x.iter().sum();\ns"),
    ("line_time_no_raise", "", "%time --no-raise-error panic!(\"boom\");"),
];

/// `runtime/tests/fixtures/timeit_generated.rs`: each case's generated code
/// as the body of a function returning the cell's value as `{:?}` text
/// (`""` when the cell ends in a statement).
fn fixture_text() -> String {
    let mut out = String::from(
        "// @generated by `cargo test --release --workspace timeit_fixture_matches_rewrite`\n\
         // (UPDATE_FIXTURES=1 rewrites it): the timing magics' generated code, as\n\
         // `runtime/tests/timeit_generated.rs` compiles and runs it.\n",
    );
    for (name, params, cell) in FIXTURE_CASES {
        let Ok(Plan::Steps(steps)) = plan(cell, &session()) else { panic!("{cell:?} does not plan") };
        assert_eq!(steps.len(), 1, "{cell:?}");
        let code = steps[0].code.trim_end();
        let lines: Vec<&str> = code.lines().collect();
        // The cell's value: the longest run of last lines that is one
        // expression (evcxr shows it; here it is printed with `{:?}`).
        let split = (0..lines.len())
            .find(|&i| !code.ends_with(';') && syn::parse_str::<syn::Expr>(&lines[i..].join("\n")).is_ok())
            .unwrap_or(lines.len());
        let body: String = lines[..split].iter().map(|l| format!("    {l}\n")).collect();
        let value = match lines[split..].join("\n") {
            tail if tail.is_empty() => "String::new()".to_owned(),
            tail => format!("format!(\"{{:?}}\", {tail})"),
        };
        let doc: String = cell.lines().map(|l| format!("/// `{l}`\n")).collect();
        out += &format!("\n{doc}#[allow(unused_braces, clippy::all)]\npub fn {name}({params}) -> String {{\n{body}    {value}\n}}\n");
    }
    out
}

#[test]
fn timeit_fixture_matches_rewrite() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../runtime/tests/fixtures/timeit_generated.rs");
    let expected = fixture_text();
    if let Err(e) = syn::parse_file(&expected) {
        panic!("the fixture does not parse: {e}\n{expected}");
    }
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(actual == expected, "{path} is stale; rerun with UPDATE_FIXTURES=1");
}
