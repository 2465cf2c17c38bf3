"""How a cell is built (issue 11): after cargo has built one cell, the next
cells rerun its recorded rustc command, until something cargo looks at
changes; rust-analyzer works in the background for cells that define no
variable. See third_party/README.md."""
import os
import re
from pathlib import Path

import pytest

from conftest import ok, run
from test_shared_runtime import counter_crate


def slot_dir(kernel):
    """The build slot of the kernel's session (the evaluation process
    inherits `EVCXR_TMPDIR` from the kernel)."""
    cell = ok(kernel, 'std::env::var("EVCXR_TMPDIR").unwrap()')
    return Path(cell.result.strip('"'))


def cargo_stamps(slot):
    """When cargo last ran a build of the cell's crate: the files cargo
    writes for it at each build, and only then."""
    found = {}
    for d in slot.glob("target/*/debug/.fingerprint/ctx-*"):
        for f in d.iterdir():
            found[str(f)] = f.stat().st_mtime_ns
    return found


def test_cells_after_the_first_are_built_without_cargo(kernel):
    slot = slot_dir(kernel)
    ok(kernel, "fn seven() -> u64 { 7 }")
    before = cargo_stamps(slot)
    assert before, f"cargo leaves fingerprints for the cell's crate under {slot}"
    assert (slot / ".evcxr-rustc-command.json").is_file()
    for n in range(3):
        assert ok(kernel, f"seven() * {n}").result == str(7 * n)
    assert cargo_stamps(slot) == before, "a plain cell went through cargo"


def test_a_new_dependency_goes_through_cargo_again(kernel, tmp_path):
    slot = slot_dir(kernel)
    ok(kernel, "1 + 1")
    before = cargo_stamps(slot)
    crate = counter_crate(tmp_path, package="fresh_dep")
    assert ok(kernel, f':dep fresh_dep = {{ path = "{crate}" }}\nfresh_dep::bump()').result == "1"
    assert cargo_stamps(slot) != before, "Cargo.toml changed: cargo must build"
    assert ok(kernel, "fresh_dep::bump()").result == "2"


def test_an_edited_crate_linked_into_cells_is_rebuilt(kernel, tmp_path):
    # `odd_lib` cannot join the shared library (its library is named
    # otherwise), so it is linked into each cell: cargo would rebuild it
    # after an edit, and so must the fast path's key.
    crate = counter_crate(tmp_path, package="odd_edit", lib="other_edit")
    cell = ok(kernel, f':dep odd_edit = {{ path = "{crate}" }}\nother_edit::bump()')
    assert "linked into each cell" in cell.stderr, cell.stderr
    # Each cell has its own copy of it, statics included.
    assert ok(kernel, "other_edit::bump() + 100").result == "101"
    lib = crate / "src" / "lib.rs"
    lib.write_text(lib.read_text() + "pub fn version() -> u32 { 2 }\n")
    assert ok(kernel, "other_edit::version()").result == "2"


def test_a_compile_error_on_the_fast_path_is_the_users(kernel):
    ok(kernel, "let kept = 41u32;")
    ok(kernel, "kept + 0")
    cell = run(kernel, 'let q: u32 = "x";')
    assert cell.status == "error"
    assert cell.error["evalue"] == "mismatched types"
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(cell.error["traceback"]))
    assert re.search(r"In\[\d+\]:1:14", text), text
    # Nothing is lost, and the next cell is built again.
    assert ok(kernel, "kept + 1").result == "42"


def test_a_variable_defined_while_analysis_runs_behind(tmp_path):
    # A fresh kernel: its first cells leave rust-analyzer loading the
    # standard library, then a new dependency, in the background. A cell
    # that defines variables waits for it and gets their types.
    from conftest import start_parlab
    km, kc = start_parlab()
    try:
        crate = counter_crate(tmp_path, package="behind_dep")
        ok(kc, f':dep behind_dep = {{ path = "{crate}" }}\nbehind_dep::bump()')
        ok(kc, "behind_dep::bump()")
        ok(kc, "let (a, b) = (behind_dep::bump(), vec![1u8; 3]);")
        assert ok(kc, "a + b.len() as u64").result == "6"
        reply = kc.complete("behind_d", 8, reply=True, timeout=120)["content"]
        assert "behind_dep::" in reply["matches"], reply
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_cell_moves_only_the_variables_it_names(kernel):
    slot = slot_dir(kernel)
    ok(kernel, 'let mut kept = vec![1u64, 2];\nlet note = String::from("hi");')
    assert ok(kernel, "7 * 6").result == "42"
    generated = (slot / "src" / "lib.rs").read_text()
    assert "take_variable::<" not in generated, "a cell naming no variable loads none"
    assert ok(kernel, "kept.push(3); kept.len()").result == "3"
    generated = (slot / "src" / "lib.rs").read_text()
    assert 'take_variable::<Vec<u64>>(stringify!(kept))' in generated
    assert "stringify!(note)" not in generated
    # A name inside a format string is a use.
    assert ok(kernel, 'println!("{note} {kept:?}");').stdout == "hi [1, 2, 3]\n"
    assert run(kernel, 'panic!("boom")').status == "error"
    assert ok(kernel, "note.len() + kept.len()").result == "5"
