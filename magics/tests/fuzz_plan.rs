//! Fuzzes [`plan`]: whatever a user types, planning never panics; it
//! returns a plan or a `UsageError`. Inputs are biased towards the timing
//! magics' grammar (options, values, `--`, `;`, comments, odd Unicode).

use parlab_magics::{plan, Session};
use proptest::prelude::*;

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("%timeit".to_owned()),
        Just("%%timeit".to_owned()),
        Just("%time".to_owned()),
        Just("%%time".to_owned()),
        Just("let r = %timeit".to_owned()),
        Just("%lprun".to_owned()),
        Just("%env".to_owned()),
        Just("%whos".to_owned()),
        Just("?".to_owned()),
        Just("::".to_owned()),
        Just(":".to_owned()),
        Just("-f".to_owned()),
        Just("-n".to_owned()),
        Just("-r0".to_owned()),
        Just("-qo".to_owned()),
        Just("-v".to_owned()),
        Just("--".to_owned()),
        Just("--no-raise-error".to_owned()),
        Just("-".to_owned()),
        Just(";".to_owned()),
        Just("//".to_owned()),
        Just("\"".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("let".to_owned()),
        Just("=".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just("é".to_owned()),
        Just("μ".to_owned()),
        "[0-9]{1,22}",
        "[a-z_]{1,6}",
        any::<char>().prop_map(String::from),
    ]
}

fn cell() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..16).prop_map(|parts| parts.concat())
}

/// Cells mixing items (stand-alone impl blocks above all) with magic
/// lines, planned in a session that already has some: the path that gives
/// impl blocks their anchors.
fn items_cell() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        Just("struct P;"),
        Just("impl P { fn f(&self) -> u32 { 1 } }"),
        Just("impl P {"),
        Just("fn f(&self) {}"),
        Just("}"),
        Just("fn g() {}"),
        Just("%timeit P.f()"),
        Just("let r = %timeit -o g();"),
        Just("%time g()"),
        Just("%lprun -f P::f P.f()"),
        Just("%lprun -f g g()"),
        Just("%load_ext line_profiler"),
        Just("%%time"),
        Just("P.f()"),
        Just("\n"),
        Just(" "),
    ];
    prop::collection::vec(part, 0..10).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn plan_never_panics_on_cells_with_items(cell in items_cell()) {
        let mut session = Session { execution_count: 3, ..Session::default() };
        session.items.record_cell(1, "struct P;\nfn g() {}");
        session.items.record_cell(2, "impl P {\n    fn f(&self) -> u32 { 2 }\n}");
        let _ = plan(&cell, &session);
        session.items.record_cell(3, &cell);
    }

    #[test]
    fn plan_never_panics(cell in cell()) {
        let _ = plan(&cell, &Session::default());
    }

    #[test]
    fn plan_never_panics_on_arbitrary_text(cell in "\\PC{0,80}") {
        let _ = plan(&cell, &Session::default());
    }

    /// Completion and help see half-typed cells at any cursor.
    #[test]
    fn completion_and_help_never_panic(cell in cell(), cursor in 0usize..200) {
        let mut items = parlab_magics::ItemRegistry::default();
        items.record_cell(1, "fn distance() {}\nmod geo { pub fn area() {} }");
        let _ = parlab_magics::complete::complete(&cell, cursor, &items, &[":dep".to_owned()]);
        let _ = parlab_magics::help::help_request(&cell);
    }

    #[test]
    fn accepted_timeit_lines_generate_parseable_code(
        opts in prop::collection::vec(prop_oneof![
            Just("-n 3"), Just("-n0"), Just("-r 2"), Just("-p 4"), Just("-q"), Just("-o"), Just("-c"), Just("-t"), Just("-v res")
        ], 0..4),
        stmt in prop_oneof![Just("v.len()"), Just("f(1);"), Just("a + b // sum"), Just("let x = 1; x * 2")],
    ) {
        // Every option here is valid alone and together, so each line
        // must plan: a planner that refused them all would fail here.
        let cell = format!("%timeit {} {stmt}", opts.join(" "));
        let planned = plan(&cell, &Session::default());
        let Ok(parlab_magics::Plan::Steps(steps)) = planned else {
            return Err(TestCaseError::fail(format!("{cell:?} did not plan: {planned:?}")));
        };
        let code = &steps[0].code;
        prop_assert!(syn::parse_str::<syn::Block>(&format!("{{{code}}}")).is_ok(), "{}", code);
    }
}
