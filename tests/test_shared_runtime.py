"""End-to-end: one runtime per evaluation process (issue 11).

The session's crates are built into one shared library that every cell
links (kernel/src/engine/setup/shared.rs), so a `static` exists once, rayon
has one global pool, and a `Pool`'s threads are started once. New build
slots start from the seed install.sh leaves (kernel/src/engine/slot.rs).
"""
import re
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from conftest import FIRST_CELL_TIMEOUT, cache_root, ok, run, seeded_cache

THREADS = """
std::fs::read_to_string("/proc/self/status").unwrap()
    .lines().find(|l| l.starts_with("Threads:")).unwrap()
    .split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()
"""


def counter_crate(root, package="shared_counter", lib=None):
    """A path crate with a `static` counter: `bump()` returns 1, 2, 3 …
    where the static exists once in the process."""
    d = Path(root) / package
    (d / "src").mkdir(parents=True)
    lib_section = f'\n[lib]\nname = "{lib}"\n' if lib else ""
    (d / "Cargo.toml").write_text(
        f'[package]\nname = "{package}"\nversion = "0.1.0"\nedition = "2021"\n{lib_section}'
    )
    (d / "src" / "lib.rs").write_text(
        "use std::sync::atomic::{AtomicU64, Ordering};\n"
        "pub static COUNT: AtomicU64 = AtomicU64::new(0);\n"
        "pub fn bump() -> u64 { COUNT.fetch_add(1, Ordering::SeqCst) + 1 }\n"
    )
    return d


def test_parallel_cells_start_no_new_threads(kernel):
    ok(kernel, "use parlab::prelude::*;\nlet pool = Pool::new(2);")
    counts = []
    for n in range(4):
        cell = ok(
            kernel,
            f"let s{n}: u64 = (0..100_000u64).into_par_iter().map(|x| x % 7).sum();\n"
            f"let m{n} = pool.map(|x: u64| x * 2, 0..64u64);\n"
            f"assert_eq!(m{n}.len(), 64);\n"
            f"{THREADS}",
        )
        counts.append(int(cell.result))
    # One rayon global pool and one thread set for `pool`, whatever the cell.
    assert len(set(counts)) == 1, counts


def test_a_static_of_a_dep_crate_exists_once(kernel, tmp_path):
    crate = counter_crate(tmp_path)
    first = ok(kernel, f':dep shared_counter = {{ path = "{crate}" }}\nshared_counter::bump()')
    later = [ok(kernel, "shared_counter::bump()").result for _ in range(2)]
    assert [first.result, *later] == ["1", "2", "3"]


def test_a_dep_that_does_not_resolve_loses_nothing(kernel, tmp_path):
    crate = counter_crate(tmp_path, package="kept_counter")
    ok(kernel, f':dep kept_counter = {{ path = "{crate}" }}\nlet before = kept_counter::bump();')
    bad = run(kernel, ':dep parlab_no_such_crate_zz = "1"\n1')
    assert bad.status == "error"
    assert "parlab_no_such_crate_zz" in bad.error["evalue"] + "".join(bad.error["traceback"]) + bad.stderr
    # The same shared library, so the same static: the count goes on.
    assert ok(kernel, "before + kept_counter::bump()").result == "3"


def test_an_edited_path_crate_is_loaded_again(kernel, tmp_path):
    crate = counter_crate(tmp_path, package="edited_crate")
    ok(kernel, f':dep edited_crate = {{ path = "{crate}" }}\nedited_crate::bump()')
    lib = crate / "src" / "lib.rs"
    lib.write_text(lib.read_text() + "pub fn version() -> u32 { 2 }\n")
    # The loader keeps a library it has loaded by name: the edit must give
    # the shared library a new one, or this cell would not find `version`.
    assert ok(kernel, "edited_crate::version()").result == "2"


def test_a_pool_made_in_one_cell_works_in_the_next(kernel):
    ok(kernel, "use parlab::prelude::*;\nlet p2 = Pool::new(2);")
    cell = ok(kernel, "p2.map(|x: u64| x + 1, 0..4u64)")
    assert cell.result == "[1, 2, 3, 4]"


def test_a_crate_that_cannot_be_shared_is_linked_into_cells(kernel, tmp_path):
    # Its library is named `other_name`, so `pub extern crate odd_lib;` in
    # the shared library cannot find it: the kernel says so and links it
    # into each cell, as evcxr does.
    crate = counter_crate(tmp_path, package="odd_lib", lib="other_name")
    cell = ok(kernel, f':dep odd_lib = {{ path = "{crate}" }}\nother_name::bump()')
    assert "`odd_lib` is linked into each cell" in cell.stderr, cell.stderr
    assert cell.result == "1"
    # The session goes on, the runtime still shared.
    assert ok(kernel, "p2.map(|x: u64| x * 3, 0..3u64)").result == "[0, 3, 6]"


def compiled_crates(cell):
    return [line for line in (cell.stdout + cell.stderr).splitlines() if re.search(r"Compiling parlab", line)]


def test_a_second_kernel_starts_from_the_seed(tmp_path):
    seed = cache_root() / "seed"
    assert (seed / "target").is_dir(), f"install.sh leaves a build seed in {seed}"
    cache = tmp_path / "cache"
    env = seeded_cache(cache)
    first = start_new_kernel(kernel_name="parlab", startup_timeout=120, env=env)
    try:
        ok(first[1], "1 + 1")
        second = start_new_kernel(kernel_name="parlab", startup_timeout=120, env=env)
        try:
            cell = run(second[1], "use parlab::prelude::*;\nPool::new(2).map(|x: u64| x + 1, 0..4u64)", timeout=FIRST_CELL_TIMEOUT)
            assert cell.status == "ok", cell.error
            assert cell.result == "[1, 2, 3, 4]"
            assert compiled_crates(cell) == [], compiled_crates(cell)
            slot = cache / "slots" / "1"
            assert (slot / "target").is_dir()
            # The seed's record of validated `:dep`s came along, and every
            # `:dep` of the cell was in it: no stand-in manifest was written
            # for a validation (third_party/README.md, patch 2).
            validation = slot / "evcxr-validate-dep"
            assert "parlab-shared\t" in (validation / "validated").read_text()
            assert not (validation / "Cargo.toml").exists(), (validation / "validated").read_text()
        finally:
            second[1].stop_channels()
            second[0].shutdown_kernel(now=True)
    finally:
        first[1].stop_channels()
        first[0].shutdown_kernel(now=True)
