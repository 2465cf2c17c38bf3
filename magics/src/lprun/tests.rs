//! Instrumenter snapshots, plan shapes, usage errors, and the fixture the
//! runtime's hits test and benchmark run.

use crate::items::ItemRegistry;
use crate::contract::{Plan, Session};
use crate::plan::plan;

fn registry(cell: &str) -> ItemRegistry {
    let mut items = ItemRegistry::default();
    items.record_cell(1, cell);
    items
}

/// The instrumented redefinition of `name`; every rewrite must parse.
fn check(cell: &str, name: &str) -> String {
    let r = crate::lprun::redefine::redefinition(&registry(cell), &[name.to_owned()]).unwrap();
    syn::parse_file(&r.instrumented).unwrap_or_else(|e| panic!("{e}\n{}", r.instrumented));
    r.instrumented
}

#[test]
fn for_loops_fire_the_header_per_check() {
    insta::assert_snapshot!(check("fn f(v: &[u32]) -> u32 {\n    let mut s = 0;\n    for x in v {\n        s += x;\n    }\n    s\n}", "f"));
}

#[test]
fn while_and_while_let() {
    insta::assert_snapshot!(check(
        "fn f(mut n: u32, mut v: Vec<u32>) {\n    while n > 0 && n != 7 {\n        n -= 1;\n        if n == 3 { continue; }\n    }\n    while let Some(x) = v.pop() {\n        drop(x);\n    }\n}",
        "f"
    ));
}

#[test]
fn loop_break_and_labels() {
    insta::assert_snapshot!(check(
        "fn f() -> u32 {\n    let mut i = 0;\n    'outer: loop {\n        i += 1;\n        for j in 0..i {\n            if j == 5 { break 'outer; }\n        }\n    }\n    i\n}",
        "f"
    ));
}

#[test]
fn if_else_if_chains() {
    insta::assert_snapshot!(check(
        "fn sign(x: i32) -> i32 {\n    if x < 0 {\n        -1\n    } else if x == 0 {\n        0\n    } else if let 1..=9 = x {\n        1\n    } else {\n        2\n    }\n}",
        "sign"
    ));
}

#[test]
fn early_return_question_mark_and_match() {
    insta::assert_snapshot!(check(
        "fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {\n    if s.is_empty() {\n        return Ok(0);\n    }\n    let n: u32 = s.trim().parse()?;\n    let r = match n {\n        0 => 1,\n        1 | 2 => {\n            n * 2\n        }\n        _ =>\n            n,\n    };\n    Ok(r)\n}",
        "parse"
    ));
}

#[test]
fn closures_get_their_own_frame() {
    insta::assert_snapshot!(check(
        "fn f(v: &[f64]) -> Vec<f64> {\n    let scale = 2.0;\n    let short = v.iter().map(|x| x * scale).sum::<f64>();\n    v.iter()\n        .map(move |x| {\n            let y = x * scale;\n            y + short\n        })\n        .collect()\n}",
        "f"
    ));
}

#[test]
fn methods_reemit_the_type_and_all_its_impls() {
    let cell = "#[derive(Debug)]\nstruct P {\n    x: f64,\n}\nimpl P {\n    fn norm(&self) -> f64 {\n        self.x.abs()\n    }\n}\nimpl std::fmt::Display for P {\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {\n        write!(f, \"{}\", self.x)\n    }\n}";
    let r = crate::lprun::redefine::redefinition(&registry(cell), &["P::norm".to_owned()]).unwrap();
    syn::parse_file(&r.instrumented).unwrap();
    assert_eq!(r.functions[0].first_line, 6);
    assert_eq!(r.original, format!("{cell}\n"));
    insta::assert_snapshot!(r.instrumented);
}

#[test]
fn generic_recursive_and_module_functions() {
    let cell = "mod m {\n    pub fn total<T: Copy + Into<f64>>(v: &[T]) -> f64 {\n        let mut s = 0.0;\n        for x in v { s += (*x).into(); }\n        s\n    }\n}\nfn fib(n: u64) -> u64 {\n    if n < 2 {\n        return n;\n    }\n    fib(n - 1) + fib(n - 2)\n}";
    insta::assert_snapshot!(format!("{}\n{}", check(cell, "m::total"), check(cell, "fib")));
}

#[test]
fn const_and_async_fns_are_refused() {
    let items = registry("const fn c() -> u32 { 1 }\nasync fn a() {}");
    assert_eq!(crate::lprun::redefine::redefinition(&items, &["c".to_owned()]).unwrap_err().to_string(), "cannot profile `c`: a `const fn` cannot call the profiler");
    assert_eq!(crate::lprun::redefine::redefinition(&items, &["a".to_owned()]).unwrap_err().to_string(), "cannot profile `a`: `async fn` is not supported by %lprun");
}

fn session(cell: &str) -> Session {
    Session { execution_count: 2, items: registry(cell), ..Session::default() }
}

fn steps(cell: &str, s: &Session) -> String {
    match plan(cell, s).unwrap() {
        Plan::Steps(steps) => steps
            .iter()
            .map(|s| format!("--- always: {}, explain: {:?}\n{}", s.always, s.explain, s.code.trim_end()))
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn plan_for_the_seed_cell() {
    let s = session("fn distance() -> f64 {\n    let mut d = 0.0;\n    for k in 0..10 {\n        d += k as f64;\n    }\n    d\n}");
    insta::assert_snapshot!(steps("%lprun -f distance distance()", &s));
}

#[test]
fn plan_with_binding_options_and_surrounding_lines() {
    let s = session("fn f() {}\nmod m { pub fn g() {} pub fn h() {} }");
    insta::assert_snapshot!(steps("let n = 3;\nlet p = %lprun -r -z -u 1e-6 -T out.txt -f f -m m f();\nprintln!(\"{}\", p.total_time());", &s));
}

#[test]
fn usage_errors() {
    let s = session("fn distance() {}\nstruct P;\nimpl P { fn m(&self) {} }");
    let err = |cell: &str| plan(cell, &s).unwrap_err().message;
    insta::assert_snapshot!([
        err("%lprun -f foo foo()"),
        err("%lprun -f distance -m geo distance()"),
        err("%lprun -q -f distance distance()"),
        err("for i in 0..3 {\n    %lprun -f distance distance()\n}"),
        err("%lprun -f distance distance()\n%timeit distance()"),
        err("%load_ext autoreload"),
    ]
    .join("\n"));
    assert_eq!(plan("%load_ext line_profiler", &s), Ok(Plan::Nothing));
    let Ok(Plan::Steps(steps)) = plan("%load_ext line_profiler\nlet x = 1;", &s) else { panic!() };
    assert_eq!((steps.len(), steps[0].code.as_str(), &steps[0].shown), (1, "\nlet x = 1;", &crate::contract::Shown::Cell));
}

#[test]
fn registry_records_and_replaces() {
    let mut items = ItemRegistry::default();
    items.record_cell(1, ":dep rayon = \"1\"\nfn a() {}\nfn b() -> u8 {\n    1\n}\nlet x = 1;\nstruct T;\nimpl T { fn m(&self) {} }");
    items.record_cell(2, "%timeit a()\nfn b() -> u8 {\n    2\n}\nimpl T { fn m(&self) {} fn n(&self) {} }\nimpl Clone for T { fn clone(&self) -> T { T } }");
    items.record_cell(3, "fn broken( {");
    assert_eq!(items.function_names(), ["T::clone", "T::m", "T::n", "a", "b"]);
    let (item, site) = items.function("b").unwrap();
    assert_eq!((item.cell, item.first_line, site.first_line), (2, 2, 2));
    assert_eq!(item.source, "fn b() -> u8 {\n    2\n}");
    assert_eq!(site.lines, ["fn b() -> u8 {", "    2", "}"]);
    assert_eq!(items.function("a").unwrap().0.first_line, 2);
}

/// The Rust port of the seed's `distance()`, a recursive `fib`, a rayon
/// `par_norms` and the ground-truth `chain` and `par_chain`, as one
/// notebook cell. The `fixtures/` files are also `tests/test_lprun.py`'s
/// cells; the runtime's tests and benchmark run the instrumenter's output
/// for this cell (the checked-in fixture).
const FIXTURE_CELL: &str = concat!(
    include_str!("../../../runtime/tests/fixtures/distance.rs"),
    "
fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    fib(n - 1) + fib(n - 2)
}

fn par_norms(rows: &[Vec<f64>]) -> Vec<f64> {
    use rayon::prelude::*;
    rows.par_iter()
        .map(|row| {
            let s: f64 = row.iter().map(|v| v * v).sum();
            s.sqrt()
        })
        .collect()
}

",
    include_str!("../../../runtime/tests/fixtures/chain.rs"),
    "\n",
    include_str!("../../../runtime/tests/fixtures/par_chain.rs"),
);

fn fixture_text() -> String {
    let items = registry(FIXTURE_CELL);
    let mut out = String::from(
        "// @generated by `cargo test --release --workspace fixture_matches_instrumenter`\n\
         // (UPDATE_FIXTURES=1 rewrites it). The instrumenter's output for a Rust\n\
         // port of the seed's distance(), a recursive fib, a rayon par_norms, and\n\
         // the ground-truth chain and par_chain (fn ids 0 to 4, described by\n\
         // `FUNCTIONS`), plus the originals in `plain`; the includer defines\n\
         // `random_matrix(rows, cols) -> Vec<Vec<f64>>` and the chains of `chains.rs`.\n\n",
    );
    let names = ["distance", "fib", "par_norms", "chain", "par_chain"].map(str::to_owned);
    let r = crate::lprun::redefine::redefinition(&items, &names).unwrap();
    for f in &r.functions {
        out += &format!("pub const {}_FIRST_LINE: u32 = {};\n", f.path.to_uppercase(), f.first_line);
    }
    // What `%lprun -f distance -f fib …` hands the runtime, in probe-id order.
    let metas: Vec<String> = r.functions.iter().map(|f| format!("    {},\n", super::fn_meta(f))).collect();
    out += &format!("\npub const FUNCTIONS: [::parlab::__private::FnMeta; {}] = [\n{}];\n\n", metas.len(), metas.concat());
    out += &r.instrumented;
    out += "\n";
    out += "pub mod plain {\n    use super::*;\n\n";
    for line in FIXTURE_CELL.lines() {
        out += &if line.is_empty() { "\n".to_owned() } else { format!("    {}\n", line.replace("fn ", "pub fn ")) };
    }
    out += "}\n";
    out
}

#[test]
fn fixture_matches_instrumenter() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../runtime/tests/fixtures/lprun_distance.rs");
    let expected = fixture_text();
    syn::parse_file(&expected).unwrap();
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(actual == expected, "{path} is stale; rerun with UPDATE_FIXTURES=1");
}

#[test]
fn cell_magic_profiles_the_body_at_top_level() {
    let s = session("fn fib(n: u64) -> u64 {\n    if n < 2 {\n        return n;\n    }\n    fib(n - 1) + fib(n - 2)\n}");
    insta::assert_snapshot!(steps("%%lprun -f fib -u 1e-6\nlet mut total = 0;\nfor i in 0..10 {\n    total += fib(i);\n}\ntotal * 2", &s));
}

#[test]
fn cell_magic_usage_errors_run_nothing() {
    let s = session("fn fib(n: u64) -> u64 { n }");
    let err = |cell: &str| plan(cell, &s).unwrap_err().message;
    insta::assert_snapshot!([
        err("%%lprun -q\nlet a = 1;"),
        err("%%lprun -f nosuch\nlet a = 1;"),
        err("%%lprun -u abc\nlet a = 1;"),
        err("%%lprun fib(3)\nlet a = 1;"),
        err("%%lprun"),
        err("%%lprun\nlet a = ;"),
    ]
    .join("\n"));
}
