"""Checks of notebooks/01-profiling.ipynb (cells found by tag)."""
import re

from notebook_checks import cell, check, lprun_rows, outputs_text, speedups, timeit_lines

NB = "01-profiling.ipynb"

# line_profiler's Hits for the Python original's distance() (magics-reference.md,
# "Seed distance() under %lprun"), then the Rust port's returned `dist`.
DISTANCE_HITS = [1, 1, 1, 1, 101, 10_100, 10_000, 1_010_000, 1_000_000, 1_000_000, 10_000, 1]


@check(NB)
def dot_is_timed_at_three_sizes(nb):
    c = cell(nb, "dot-timeit")
    assert len(timeit_lines(c)) == 3, outputs_text(c)
    sizes = re.findall(r"^n = +([0-9]+): [0-9.]+ ns per element$", outputs_text(c), re.M)
    assert sizes == ["10000", "100000", "1000000"], outputs_text(c)


@check(NB)
def cell_timeit_of_the_triple_loop(nb):
    c = cell(nb, "distance-timeit")
    assert c.source.startswith("%%timeit\n")
    assert len(timeit_lines(c)) == 1, outputs_text(c)


@check(NB)
def lprun_hits_match_line_profiler(nb):
    rows = lprun_rows(cell(nb, "lprun-distance"), "distance")
    hit = [(hits, text.strip()) for _, hits, text in rows if hits is not None]
    assert [h for h, _ in hit] == DISTANCE_HITS, hit
    by_text = dict((text, h) for h, text in hit)
    assert by_text["for i in 0..m {"] == 101
    assert by_text["for k in 0..n {"] == 1_010_000
    assert by_text["let tmp = x[[i, k]] - x[[j, k]];"] == 1_000_000
    # Lines without an event (blank, closing braces, the signature) stay blank.
    assert rows[0][1] is None and rows[0][2].startswith("fn distance()")


@check(NB)
def fast_versions_agree(nb):
    text = outputs_text(cell(nb, "agree"))
    diffs = dict(re.findall(r"^(\w+): +(\S+)$", text, re.M))
    assert float(diffs["rows"]) == 0 and float(diffs["symmetric"]) == 0, text
    assert float(diffs["Gram"]) < 1e-6, text


@check(NB)
def fast_versions_are_faster(nb):
    c = cell(nb, "distance-speedup")
    assert len(timeit_lines(c)) == 4
    s = speedups(c)
    assert list(s) == ["index loops", "row iterators", "+ symmetry", "Gram matrix"], s
    # In a release build the row iterators run at about the index loops' speed
    # (both wait on one chain of additions), so only the later steps must win.
    assert s["+ symmetry"] > 1 and s["Gram matrix"] > s["+ symmetry"], s


@check(NB)
def lprun_of_the_symmetric_version(nb):
    rows = lprun_rows(cell(nb, "lprun-sym"), "distance_sym")
    hits = [h for _, h, _ in rows if h is not None]
    # 100 rows; pairs j < i: 0 + 1 + … + 99 = 4950, and 5050 loop checks.
    assert hits == [1, 1, 1, 101, 100, 5050, 4950, 4950, 4950, 1], rows
