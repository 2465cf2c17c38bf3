//! Guards the contract between `parlab-magics`' timing rewrites and this
//! crate: `fixtures/timeit_generated.rs` is the rewrites' output for a set
//! of cells, written by the magics' test `timeit_fixture_matches_rewrite`
//! (which fails when a rewrite changes and the fixture was not rewritten).
//! Here it compiles against `__private`, runs, and leaves notebook
//! variables usable afterwards.

include!("fixtures/timeit_generated.rs");

#[test]
fn line_timeit_borrows_notebook_variables() {
    let v: Vec<u64> = (0..100).collect();
    assert_eq!(line_timeit(&v), "");
    assert_eq!(v.len(), 100);
}

#[test]
fn every_option_reaches_the_result() {
    let v: Vec<u64> = (0..100).collect();
    assert_eq!(line_timeit_o(&v), "(10, 2)");
    assert_eq!(line_timeit_v(&v), "(4, 3)");
}

#[test]
fn cell_timeit_setup_runs_per_repeat_and_the_value_is_the_result() {
    let v: Vec<u64> = (0..100).rev().collect();
    let shown = cell_timeit_setup(&v);
    assert!(shown.contains("loops: 3") && shown.contains("repeat: 2"), "{shown}");
    assert_eq!(v[0], 99, "the notebook's vector is untouched");
}

#[test]
fn time_keeps_let_bindings_and_values() {
    assert_eq!(line_time_let(), "[0, 1, 2, 3, 4]");
    assert_eq!(cell_time(&[1, 2, 3]), "6");
}

#[test]
fn time_no_raise_swallows_the_panic() {
    assert_eq!(line_time_no_raise(), "");
}
