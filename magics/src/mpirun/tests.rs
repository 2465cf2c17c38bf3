//! Snapshots of generated programs and usage errors, through [`plan`].

use crate::items::ItemRegistry;
use crate::mpirun::Origin;
use crate::contract::{Plan, Session};
use crate::plan::plan;

fn session() -> Session {
    let mut items = ItemRegistry::default();
    items.record_cell(1, "use std::collections::HashMap;\nconst TASKS: u64 = 64;\n\n/// One unit of work.\nfn work(i: u64) -> u64 {\n    i * i\n}\nlet not_an_item = 1;");
    items.record_cell(2, "struct Acc { total: u64 }\nimpl Acc {\n    fn add(&mut self, x: u64) { self.total += x; }\n}\nfn main() {}");
    let mut s = Session { execution_count: 5, items, ..Session::default() };
    s.build.record_cell(":dep rand = \"0.8\"\n:opt 3");
    s
}

/// The program of a cell (checked to parse as a file), or `UsageError: …`.
fn check(cell: &str) -> String {
    match plan(cell, &session()) {
        Ok(Plan::Mpirun(p)) => {
            if let Err(e) = syn::parse_file(&p.program.main_rs) {
                panic!("generated program does not parse: {e}\n{}", p.program.main_rs);
            }
            p.program.main_rs
        }
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("UsageError: {e}"),
    }
}

#[test]
fn program_has_items_in_order_then_main() {
    insta::assert_snapshot!(check("%%mpirun -n 2\nlet mine = split_range(0..TASKS, rank, size);\nlet local: u64 = mine.map(work).sum();\nif let Some(t) = reduce_sum_to_root(&world, local) {\n    println!(\"{t}\");\n}"));
}

#[test]
fn usage_errors() {
    insta::assert_snapshot!(
        ["%%mpirun\nx();", "%%mpirun -n 0\nx();", "%%mpirun -n 2 -q\nx();", "%%mpirun -n 2\n", "%%mpirun -n 2\n  \n\t\n", "%%mpirun -n 2 extra\nx();"]
            .map(check)
            .join("\n")
    );
}

#[test]
fn origins_point_into_the_cells() {
    let Ok(Plan::Mpirun(p)) = plan("\n%%mpirun -n 4 --oversubscribe\nlet a = 1;\nlet b = work(a);", &session()) else { panic!() };
    let lines: Vec<&str> = p.program.main_rs.lines().collect();
    let find = |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap() as u32 + 1;
    // Cell 5 starts with a blank line, so the magic is line 2 and the body starts at line 3.
    assert_eq!(p.program.origin(find("let a = 1;")), Some(Origin { cell: 5, line: 3 }));
    assert_eq!(p.program.origin(find("let b = work(a);")), Some(Origin { cell: 5, line: 4 }));
    assert_eq!(p.program.origin(find("    i * i")), Some(Origin { cell: 1, line: 6 }));
    assert_eq!(p.program.origin(find("fn add(")), Some(Origin { cell: 2, line: 3 }));
    assert_eq!(p.program.origin(find("let world")), None);
    assert_eq!(p.program.origin(0), None);
    assert_eq!(p.program.origins.len(), lines.len());
    assert_eq!(p.options.mpirun_args(), ["-n", "4", "--oversubscribe"]);
    assert_eq!(p.settings.cargo_opt_level(), "3");
    assert_eq!(p.settings.deps, [("rand".to_owned(), "\"0.8\"".to_owned())]);
}

#[test]
fn a_notebook_main_is_left_out_and_statements_are_not_items() {
    let program = check("%%mpirun -n 1\nprintln!(\"hi\");");
    assert_eq!(program.matches("fn main()").count(), 1, "{program}");
    assert!(!program.contains("not_an_item"), "{program}");
}

#[test]
fn running_a_cell_again_gives_the_same_program() {
    // The kernel caches binaries by program text; a new execution count
    // must not make it rebuild.
    let cell = "%%mpirun -n 2\nprintln!(\"{rank}\");";
    let mut s = session();
    let Ok(Plan::Mpirun(a)) = plan(cell, &s) else { panic!() };
    s.execution_count = 9;
    let Ok(Plan::Mpirun(b)) = plan(cell, &s) else { panic!() };
    assert_eq!(a.program.main_rs, b.program.main_rs);
    assert_ne!(a.program.origins, b.program.origins);
}
