//! Stand-alone impl blocks in cells that are planned as steps (a `%timeit`
//! or `%time` line among items, `%lprun`, `%load_ext`) and in cell magics:
//! the names the plan gives the blocks must be the ones
//! `ItemRegistry::record_cell` records for the same cell, or the next edit
//! leaves the old block compiled next to the new one (E0592).

use crate::items::{ItemKind, ItemRegistry};
use crate::contract::{Plan, Session};
use crate::plan::plan;

const P: &str = "struct P {\n    x: i32,\n}";
const GET: &str = "impl P {\n    fn get(&self) -> i32 {\n        self.x\n    }\n}";

/// A session after `cells` ran as cells 1, 2, …; the next cell is `count`.
fn session(cells: &[&str]) -> Session {
    let mut items = ItemRegistry::default();
    for (i, c) in cells.iter().enumerate() {
        items.record_cell(i as u32 + 1, c);
    }
    Session { execution_count: cells.len() as u32 + 1, items, ..Session::default() }
}

/// The steps' code of `cell` planned in `s`.
fn steps(cell: &str, s: &Session) -> Vec<String> {
    match plan(cell, s) {
        Ok(Plan::Steps(steps)) => steps.into_iter().map(|s| s.code).collect(),
        other => panic!("{other:?}"),
    }
}

/// The one step of a timing-magic cell, checked to keep every line and to
/// parse.
fn one_step(cell: &str, s: &Session) -> String {
    let code = steps(cell, s).pop().unwrap();
    assert_eq!(code.lines().count(), cell.lines().count(), "{code}");
    syn::parse_str::<syn::Block>(&format!("{{{code}}}")).unwrap_or_else(|e| panic!("{e}\n{code}"));
    code
}

fn holders(s: &Session, name: &str) -> Vec<(u32, String)> {
    s.items
        .items
        .iter()
        .filter(|i| i.name == name && matches!(i.kind, ItemKind::Impl { .. }))
        .map(|i| (i.cell, i.holder.clone().unwrap_or_default()))
        .collect()
}

#[test]
fn an_impl_next_to_a_timeit_line_is_re_runnable() {
    let v1 = format!("{GET}\n%timeit P {{ x: 1 }}.get()");
    let code = one_step(&v1, &session(&[P]));
    assert!(code.starts_with("const __PARLAB_IMPL_2_1_0: () = (); impl P {\n"), "{code}");
    assert!(code.lines().nth(5).unwrap().contains("::parlab::__private::timeit("), "{code}");
    let s = session(&[P, &v1]);
    assert_eq!(holders(&s, "P"), [(2, "__PARLAB_IMPL_2_1_0".to_owned())]);
    let v2 = v1.replace("self.x", "self.x + 1");
    let code = one_step(&v2, &s);
    assert!(code.starts_with("const __PARLAB_IMPL_2_1_0: () = (); const __PARLAB_IMPL_3_1_0: () = (); impl P {\n"), "{code}");
}

#[test]
fn bound_and_time_lines_count_as_magic_lines() {
    // `let r = %timeit …` used to make the whole cell unparsable to the
    // registry: the block was never recorded, so an edit could not replace it.
    let v1 = format!("let n = 1;\n{GET}\nlet r = %timeit -o P {{ x: n }}.get();\n%time let y = P {{ x: 2 }}.get();\nr");
    let code = one_step(&v1, &session(&[P]));
    assert!(code.lines().nth(1).unwrap().starts_with("const __PARLAB_IMPL_2_2_0: () = (); impl P {"), "{code}");
    let s = session(&[P, &v1]);
    assert_eq!(holders(&s, "P"), [(2, "__PARLAB_IMPL_2_2_0".to_owned())]);
    let code = one_step(&v1.replace("self.x", "self.x * 2"), &s);
    assert!(code.lines().nth(1).unwrap().starts_with("const __PARLAB_IMPL_2_2_0: () = (); const __PARLAB_IMPL_3_2_0: () = (); impl P {"), "{code}");
}

#[test]
fn timeit_bodies_define_nothing() {
    // The body runs inside a block (`%%timeit`, `%%time --no-raise-error`):
    // its `P` and `get` are local to the cell, so the session still has
    // cell 2's block, which the edit in cell 5 must replace.
    let local = format!("%%time --no-raise-error\n{P}\n{}\nP {{ x: 1 }}.get();", GET.replace("self.x", "self.x + 1"));
    let timeit = format!("%%timeit -n1 -r1\n{GET}\nP {{ x: 1 }}.get()");
    let s = session(&[P, GET, &local, &timeit]);
    assert_eq!(holders(&s, "P"), [(2, "__PARLAB_IMPL_2_1_0".to_owned())]);
    assert_eq!(s.items.items.iter().filter(|i| i.name == "P").count(), 2);
    for cell in [&local, &timeit] {
        let code = steps(cell, &s).concat();
        assert!(!code.contains("__PARLAB_IMPL"), "{code}");
    }
    let plain = crate::items::attach_impls(GET, 5, &s.items).unwrap();
    assert!(plain.starts_with("const __PARLAB_IMPL_2_1_0: () = (); const __PARLAB_IMPL_5_1_0: () = (); impl P"), "{plain}");
}

#[test]
fn a_time_body_defines_as_a_plain_cell_does() {
    // `%%time` runs its body at top level, as IPython runs it in the
    // user's namespace: an edited impl there replaces cell 2's.
    let edit = format!("%%time\n{}\nP {{ x: 1 }}.get()", GET.replace("self.x", "self.x + 1"));
    let s = session(&[P, GET]);
    let code = steps(&edit, &s).pop().unwrap();
    assert!(code.lines().nth(1).unwrap().starts_with("const __PARLAB_IMPL_2_1_0: () = (); const __PARLAB_IMPL_3_2_0: () = (); impl P {"), "{code}");
    let s = session(&[P, GET, &edit]);
    assert_eq!(holders(&s, "P"), [(3, "__PARLAB_IMPL_3_2_0".to_owned())]);
}

#[test]
fn lprun_profiles_and_restores_the_version_defined_before_it() {
    let s = session(&[P, GET]);
    let cell = format!("{}\nfn fresh() {{}}\n%lprun -f P::get -f fresh P {{ x: 1 }}.get()", GET.replace("self.x", "self.x + 1"));
    let Ok(Plan::Steps(planned)) = plan(&cell, &s) else { panic!() };
    // Errors of the first step are drawn over the user's lines.
    assert_eq!(planned[0].shown, crate::contract::Shown::Text(cell.rsplit_once('\n').unwrap().0.to_owned()));
    assert!(planned[1..].iter().all(|s| s.shown == crate::contract::Shown::Generated));
    let code = steps(&cell, &s);
    assert_eq!(code.len(), 4, "{code:#?}");
    let before = &code[0];
    assert!(before.starts_with("const __PARLAB_IMPL_2_1_0: () = (); const __PARLAB_IMPL_3_1_0: () = (); impl P {\n"), "{before}");
    assert_eq!(before.lines().count(), 6);
    // The probed and the restored `get` are the new one, in its new anchor.
    assert!(code[1].contains("self.x + 1") && code[1].contains("const __PARLAB_IMPL_3_1_0: () = ();"), "{}", code[1]);
    assert!(code[2].contains("name: \"P::get\", cell: 3, first_line: 2"), "{}", code[2]);
    assert!(code[2].contains("name: \"fresh\", cell: 3, first_line: 6"), "{}", code[2]);
    assert!(code[3].contains("const __PARLAB_IMPL_3_1_0: () = ();\nimpl P {") && code[3].contains("self.x + 1"), "{}", code[3]);
    assert!(!code[3].contains("__PARLAB_IMPL_2_1_0"), "{}", code[3]);
    // The kernel records the cell as the plan saw it.
    let s = session(&[P, GET, &cell]);
    assert_eq!(holders(&s, "P"), [(3, "__PARLAB_IMPL_3_1_0".to_owned())]);
}

#[test]
fn lines_after_lprun_are_a_separate_evaluation() {
    // evcxr evaluates `impl Q` without `struct Q`: it needs an anchor, as
    // a stand-alone block, and the registry must agree.
    let cell = "struct Q;\n%lprun -f f f()\nimpl Q {\n    fn z(&self) {}\n}";
    let s = session(&["fn f() {}"]);
    let code = steps(cell, &s);
    assert_eq!(code[0], "struct Q;");
    assert_eq!(code.last().unwrap(), "const __PARLAB_IMPL_2_3_0: () = (); impl Q {\n    fn z(&self) {}\n}");
    let s = session(&["fn f() {}", cell]);
    assert_eq!(holders(&s, "Q"), [(2, "__PARLAB_IMPL_2_3_0".to_owned())]);
    // Without the magic line, the block follows its type and needs nothing.
    let s = session(&["struct Q;\n\nimpl Q {\n    fn z(&self) {}\n}"]);
    assert_eq!(holders(&s, "Q"), [(1, "Q".to_owned())]);
}

#[test]
fn load_ext_keeps_the_line_numbers() {
    let s = session(&[P]);
    let cell = format!("%load_ext line_profiler\n{GET}");
    let Ok(Plan::Steps(steps)) = plan(&cell, &s) else { panic!() };
    // The plan names the block as the registry will record it.
    assert_eq!(steps[0].code, format!("\nconst __PARLAB_IMPL_2_2_0: () = (); {GET}"));
    let s = session(&[P, &cell]);
    assert_eq!(holders(&s, "P"), [(2, "__PARLAB_IMPL_2_2_0".to_owned())]);
    assert!(crate::items::attach_impls(&format!("\n{GET}"), 2, &session(&[P]).items).unwrap().contains("__PARLAB_IMPL_2_2_0"));
}
