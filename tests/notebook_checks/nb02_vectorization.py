"""Checks of notebooks/02-vectorization.ipynb (cells found by tag)."""
from notebook_checks import cell, check, outputs_text, speedups, timeit_lines

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
    assert s["ndarray .sum()"] > 1 and s["8 partial sums"] > 1, s


@check(NB)
def lookups_by_name_are_the_slow_part(nb):
    c = cell(nb, "pct-speedup")
    assert len(timeit_lines(c)) == 4
    s = speedups(c)
    assert list(s)[0] == "rows by name (apply)"
    assert all(v > 1 for v in list(s.values())[1:]), s


@check(NB)
def strings_are_timed(nb):
    c = cell(nb, "strings")
    assert len(timeit_lines(c)) == 3, outputs_text(c)
    assert list(speedups(c)) == ["split, then len", "count while splitting", "ndarray map"]
