//! The rewrite on the notebook flows it exists for, and the registry state
//! it must agree with.

use super::attach_impls;
use crate::items::{ItemKind, ItemRegistry};

/// Records `cells` as cells 1, 2, … and returns the registry.
fn after(cells: &[&str]) -> ItemRegistry {
    let mut items = ItemRegistry::default();
    for (i, c) in cells.iter().enumerate() {
        items.record_cell(i as u32 + 1, c);
    }
    items
}

/// The rewrite of `cell` as cell `count`, checked to keep every line.
fn rewrite(cell: &str, count: u32, items: &ItemRegistry) -> Option<String> {
    let out = attach_impls(cell, count, items)?;
    assert_eq!(out.lines().count(), cell.lines().count(), "{out}");
    for (new, old) in out.lines().zip(cell.lines()) {
        assert!(new.ends_with(old), "{new:?} does not end with {old:?}");
    }
    syn::parse_str::<syn::File>(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    Some(out)
}

const P: &str = "struct P {\n    x: i32,\n}";
const GET: &str = "impl P {\n    fn get(&self) -> i32 {\n        self.x\n    }\n}";
const GET2: &str = "impl P {\n    fn get(&self) -> i32 {\n        self.x + 1\n    }\n}";
const DISPLAY: &str = "impl std::fmt::Display for P {\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {\n        write!(f, \"P({})\", self.x)\n    }\n}";

fn impls_of(items: &ItemRegistry, name: &str) -> Vec<(u32, Option<String>)> {
    items
        .items
        .iter()
        .filter(|i| i.name == name && matches!(i.kind, ItemKind::Impl { .. }))
        .map(|i| (i.cell, i.holder.clone()))
        .collect()
}

#[test]
fn an_edited_impl_replaces_the_old_one() {
    let items = after(&[P]);
    assert_eq!(rewrite(GET, 2, &items).unwrap(), format!("const __PARLAB_IMPL_2_1_0: () = (); {GET}"));
    let items = after(&[P, GET]);
    let out = rewrite(GET2, 3, &items).unwrap();
    assert_eq!(out, format!("const __PARLAB_IMPL_2_1_0: () = (); const __PARLAB_IMPL_3_1_0: () = (); {GET2}"));
    let items = after(&[P, GET, GET2]);
    assert_eq!(impls_of(&items, "P"), [(3, Some("__PARLAB_IMPL_3_1_0".to_owned()))]);
    // `%lprun -f P::get` re-defines the new body, inside its anchor.
    let r = crate::lprun::redefine::redefinition(&items, &["P::get".to_owned()]).unwrap();
    assert_eq!(r.functions[0].cell, 3);
    assert!(r.functions[0].lines.iter().any(|l| l.contains("self.x + 1")));
    assert_eq!(r.original, format!("{P}\nconst __PARLAB_IMPL_3_1_0: () = ();\n{GET2}\n"));
    syn::parse_file(&r.instrumented).unwrap();
}

#[test]
fn trait_impls_in_separate_cells_both_survive() {
    let debug = "impl std::fmt::Debug for P {\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {\n        write!(f, \"{}\", self.x)\n    }\n}";
    let items = after(&[P, DISPLAY]);
    // Nothing superseded: only the block's own anchor.
    assert_eq!(rewrite(debug, 3, &items).unwrap(), format!("const __PARLAB_IMPL_3_1_0: () = (); {debug}"));
    let items = after(&[P, DISPLAY, debug]);
    // Display written differently still replaces Display, and only it.
    let display2 = DISPLAY.replace("impl std::fmt::Display", "impl fmt::Display").replace("P({})", "<{}>");
    let out = rewrite(&display2, 4, &items).unwrap();
    assert!(out.starts_with("const __PARLAB_IMPL_2_1_0: () = (); const __PARLAB_IMPL_4_1_0: () = (); impl fmt::Display"), "{out}");
    let items = after(&[P, DISPLAY, debug, &display2]);
    assert_eq!(impls_of(&items, "P").iter().map(|(c, _)| *c).collect::<Vec<_>>(), [3, 4]);
}

#[test]
fn a_second_inherent_block_with_other_methods_survives() {
    let double = "impl P {\n    fn double(&self) -> i32 {\n        2 * self.x\n    }\n}";
    let items = after(&[P, GET, double]);
    let out = rewrite(GET2, 4, &items).unwrap();
    assert!(out.starts_with("const __PARLAB_IMPL_2_1_0: () = (); const __PARLAB_IMPL_4_1_0: () = (); impl P"), "{out}");
    assert!(!out.contains("__PARLAB_IMPL_3"), "{out}");
    let items = after(&[P, GET, double, GET2]);
    assert_eq!(impls_of(&items, "P").iter().map(|(c, _)| *c).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(items.function_names(), ["P::double", "P::get"]);
}

#[test]
fn an_impl_after_its_own_type_is_left_to_evcxr() {
    let cell = format!("{P}\n{GET}\n{DISPLAY}");
    assert_eq!(attach_impls(&cell, 1, &ItemRegistry::default()), None);
    // Re-running the cell re-defines `P`, which drops what it carried.
    let items = after(&[&cell]);
    assert_eq!(attach_impls(&cell, 2, &items), None);
    let items = after(&[&cell, &cell]);
    assert_eq!(impls_of(&items, "P"), [(2, Some("P".to_owned())), (2, Some("P".to_owned()))]);
}

#[test]
fn redefining_a_type_keeps_stand_alone_impls() {
    let items = after(&[&format!("{P}\n{DISPLAY}"), GET, "#[derive(Clone)]\nstruct P {\n    x: i32,\n}"]);
    // As in plain evcxr: the Display block went with the old `P`, the
    // stand-alone block is still compiled.
    assert_eq!(impls_of(&items, "P"), [(2, Some("__PARLAB_IMPL_2_1_0".to_owned()))]);
}

#[test]
fn editing_a_method_written_with_its_type_redefines_the_type() {
    let items = after(&[&format!("{P}\n{GET}\n{DISPLAY}")]);
    let out = rewrite(GET2, 2, &items).unwrap();
    let first = out.lines().next().unwrap();
    // `P` again with its Display block, not with the old `get`.
    assert!(first.starts_with("struct P { x : i32 , } impl std :: fmt :: Display for P"), "{first}");
    assert!(!first.contains("self . x }"), "{first}");
    assert!(first.ends_with("const __PARLAB_IMPL_2_1_0: () = (); impl P {"), "{first}");
    let items = after(&[&format!("{P}\n{GET}\n{DISPLAY}"), GET2]);
    assert_eq!(impls_of(&items, "P").iter().map(|(c, _)| *c).collect::<Vec<_>>(), [1, 2]);
    let r = crate::lprun::redefine::redefinition(&items, &["P::get".to_owned()]).unwrap();
    assert_eq!(r.original, format!("{P}\n{DISPLAY}\nconst __PARLAB_IMPL_2_1_0: () = ();\n{GET2}\n"));
}

#[test]
fn a_foreign_type_with_a_recorded_trait() {
    let area = "trait Area {\n    fn area(&self) -> f64;\n}";
    let for_f64 = "impl Area for f64 {\n    fn area(&self) -> f64 {\n        self * self\n    }\n}";
    assert_eq!(attach_impls(&format!("{area}\n{for_f64}"), 1, &ItemRegistry::default()), None);
    let items = after(&[area, for_f64]);
    let edited = for_f64.replace("self * self", "3.0 * self * self");
    let out = rewrite(&edited, 3, &items).unwrap();
    assert!(out.starts_with("const __PARLAB_IMPL_2_1_0: () = (); const __PARLAB_IMPL_3_1_0: () = (); impl Area for f64"), "{out}");
}

#[test]
fn impls_evcxr_would_hang_on_another_item_get_their_own() {
    // evcxr would attach this block to `helper`; re-running the cell works
    // either way, but a later edit of the block alone must find it.
    let cell = "fn helper() {}\nimpl Q {\n    fn q(&self) {}\n}";
    assert_eq!(rewrite(cell, 1, &ItemRegistry::default()).unwrap(), "fn helper() {}\nconst __PARLAB_IMPL_1_2_0: () = (); impl Q {\n    fn q(&self) {}\n}");
}

#[test]
fn nothing_to_do() {
    let items = after(&[P]);
    // No impl, a self type the registry cannot name, an unparsable cell.
    assert_eq!(attach_impls("let x = 1;\nfn f() {}", 2, &items), None);
    assert_eq!(attach_impls("trait T {}\nfn f() {}\nimpl T for (i32, i32) {}", 2, &items), None);
    assert_eq!(attach_impls("impl P {", 2, &items), None);
}

#[test]
fn offsets_survive_commands_and_indentation() {
    let items = after(&[P]);
    let cell = ":dep rand = \"0.8\"\nlet y = 2;\n  impl P { fn get(&self) -> i32 { self.x } }\nP { x: 1 }.get()";
    let out = attach_impls(cell, 2, &items).unwrap();
    assert_eq!(out, ":dep rand = \"0.8\"\nlet y = 2;\n  const __PARLAB_IMPL_2_3_2: () = (); impl P { fn get(&self) -> i32 { self.x } }\nP { x: 1 }.get()");
    let first_line = "impl P { fn get(&self) -> i32 { self.x } } let a = 1;";
    assert_eq!(attach_impls(first_line, 2, &items).unwrap(), format!("const __PARLAB_IMPL_2_1_0: () = (); {first_line}"));
}
