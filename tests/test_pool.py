"""The parallel helpers from notebook cells (issue 5): `use
parlab::prelude::*;` with no `:dep` line, Pool's methods, panics that reach
the cell and leave the pool usable, ProcessPool, and the scaling chart."""
import re

from conftest import ok, run


def test_prelude_needs_no_dep_line(kernel):
    ok(kernel, "use parlab::prelude::*;\nlet pool = Pool::new(2);")
    assert ok(kernel, "pool.threads()").result == "2"


def test_map_starmap_keep_order(kernel):
    assert ok(kernel, "pool.map(|x: u64| x * x, 0..6)").result == "[0, 1, 4, 9, 16, 25]"
    assert ok(kernel, "pool.starmap(|a: i32, b: i32| a * b, vec![(1, 2), (3, 4), (5, 6)])").result == "[2, 12, 30]"
    assert ok(kernel, "pool.with_chunksize(3).map(|x: u64| x + 1, 0..7)").result == "[1, 2, 3, 4, 5, 6, 7]"


def test_imap_and_apply_async(kernel):
    assert ok(kernel, "pool.imap(|x: u64| x * 10, 0..5).collect::<Vec<_>>()").result == "[0, 10, 20, 30, 40]"
    got = ok(kernel, "{ let mut v: Vec<u64> = pool.imap_unordered(|x: u64| x * 10, 0..5).collect(); v.sort(); v }")
    assert got.result == "[0, 10, 20, 30, 40]"
    ok(kernel, "let job = pool.apply_async(|x: u64| x + 1, 41);")
    assert ok(kernel, "job.get()").result == "42"


def test_a_panicking_task_reaches_the_cell_and_the_pool_survives(kernel):
    cell = run(kernel, 'pool.map(|x: u64| if x == 3 { panic!("bad item {x}") } else { x }, 0..8)')
    assert cell.status == "error"
    assert cell.error["ename"] == "panic"
    assert "bad item 3" in cell.error["evalue"], cell.error
    assert ok(kernel, "pool.map(|x: u64| x, 0..3)").result == "[0, 1, 2]"


def test_process_pool_serializes_across_processes(kernel):
    ok(kernel, "fn square(x: u64) -> u64 { x * x }")
    got = ok(kernel, "ProcessPool::new(2).map(square, 0..5).unwrap()")
    assert got.result == "[0, 1, 4, 9, 16]"
    pids = ok(kernel, "ProcessPool::new(2).map(|_: u64| std::process::id(), 0..4).unwrap().iter().all(|&p| p != std::process::id())")
    assert pids.result == "true"


def test_with_threads_and_scaling_chart(kernel):
    assert ok(kernel, "with_threads(2, || rayon::current_num_threads())").result == "2"
    cell = ok(kernel, "let s = scaling(|| (0..2_000_000u64).into_par_iter().map(|x| x ^ 3).sum::<u64>(), 1..=2);\ns")
    bundles = [m["data"] for m in cell.of("display_data")] + [m["data"] for m in cell.of("execute_result")]
    assert any("image/svg+xml" in b or "<svg" in b.get("text/html", "") for b in bundles), bundles
    text = " ".join(b.get("text/plain", "") for b in bundles)
    assert re.search(r"threads", text), text
