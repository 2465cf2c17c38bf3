"""Checks of notebooks/02-vectorization.ipynb (cells found by tag)."""
import re

from notebook_checks import cell, check, outputs_text, speedups, timeit_lines, timing

NB = "02-vectorization.ipynb"


@check(NB)
def elementwise_versions_are_timed(nb):
    for tag in ("discard", "discard-black-box"):
        assert len(timeit_lines(cell(nb, tag))) == 1, tag
    for tag in ("elementwise-100", "elementwise-1m"):
        c = cell(nb, tag)
        assert len(timeit_lines(c)) == 3, outputs_text(c)
        assert list(speedups(c)) == ["index loop", "iterator", "ndarray &a * 2"]


@check(NB)
def partial_sums_beat_the_serial_sum(nb):
    # 0 + 1 + … + 999,999 is exact in f64, whatever the order of the additions.
    assert outputs_text(cell(nb, "sum-defs")).split() == ["499999500000"] * 3
    s = speedups(cell(nb, "sum-speedup"))
    timing(s["ndarray .sum()"] > 1 and s["8 partial sums"] > 1, s)


@check(NB)
def lookups_by_name_are_the_slow_part(nb):
    c = cell(nb, "pct-speedup")
    assert len(timeit_lines(c)) == 4
    s = speedups(c)
    assert list(s)[0] == "rows by name (apply)"
    timing(all(v > 1 for v in list(s.values())[1:]), s)


@check(NB)
def strings_are_timed(nb):
    c = cell(nb, "strings")
    assert len(timeit_lines(c)) == 3, outputs_text(c)
    assert list(speedups(c)) == ["split, then len", "count while splitting", "ndarray map"]


@check(NB)
def python_loop_is_measured(nb):
    text = outputs_text(cell(nb, "python-multiply"))
    if "could not be run here" in text:
        return
    assert re.search(r"^multiply\(x\): +[0-9]+ ns$", text, re.M), text
    assert re.search(r"^\[v \* 2 for v in x\]: +[0-9]+ ns$", text, re.M), text
    ratio = re.search(r"^the list comprehension against the Rust iterator above: ([0-9]+) times slower$", text, re.M)
    assert ratio, text
    timing(int(ratio.group(1)) > 10, ratio.group(0))


@check(NB)
def bandwidth_of_cache_memory_and_fresh_pages(nb):
    c = cell(nb, "bandwidth")
    text = outputs_text(c)
    assert len(timeit_lines(c)) == 3, text
    # One allocation per call when a new vector is returned, none into a kept one.
    assert re.findall(r"^allocations: (\d+) per loop", text, re.M) == ["1", "0", "1"], text
    rates = dict(re.findall(r"^(1M, reused block|8M, kept vector|8M, fresh pages) +([0-9.]+) GB/s, +[0-9.]+ page faults per call$", text, re.M))
    assert len(rates) == 3, text
    # Fresh pages cost the kernel's page faults: the slowest of the three, by far.
    assert float(rates["8M, fresh pages"]) < float(rates["1M, reused block"]), rates
