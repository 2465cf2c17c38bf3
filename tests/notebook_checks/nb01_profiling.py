"""Checks of notebooks/01-profiling.ipynb (cells found by tag)."""
import base64
import re

from notebook_checks import cell, check, lprun_rows, outputs_text, speedups, timeit_lines, timing

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
    timing(s["+ symmetry"] > 1 and s["Gram matrix"] > s["+ symmetry"], s)


@check(NB)
def lprun_of_the_symmetric_version(nb):
    rows = lprun_rows(cell(nb, "lprun-sym"), "distance_sym")
    hits = [h for _, h, _ in rows if h is not None]
    # 100 rows; pairs j < i: 0 + 1 + … + 99 = 4950, and 5050 loop checks.
    assert hits == [1, 1, 1, 101, 100, 5050, 4950, 4950, 4950, 1], rows


@check(NB)
def python_original_is_measured(nb):
    text = outputs_text(cell(nb, "python-distance"))
    if "could not be run here" in text:
        return
    assert re.search(r"^Python 3\.\S+, (numpy arrays|lists of lists)", text, re.M), text
    per_call = re.search(r"^per call: ([0-9.]+) s \(best of 3\), ([0-9]+) ns per inner iteration$", text, re.M)
    assert per_call and float(per_call.group(1)) > 0, text
    # The ratio against the compiled loops is printed under compare's table.
    ratio = re.search(r"^Python original \(best of 3, above\) against the index loops' mean: ([0-9]+) times slower$",
                      outputs_text(cell(nb, "distance-speedup")), re.M)
    assert ratio, outputs_text(cell(nb, "distance-speedup"))
    timing(int(ratio.group(1)) > 10, ratio.group(0))


@check(NB)
def lprun_of_the_gram_version(nb):
    rows = lprun_rows(cell(nb, "lprun-gram"), "distance_gram")
    # One call, six lines, each run once: the loops are inside ndarray.
    assert [h for _, h, _ in rows if h is not None] == [1] * 6, rows
    assert any("x.dot(&x.t())" in text for _, h, text in rows if h == 1), rows


@check(NB)
def prun_names_library_functions_and_draws_a_flame_graph(nb):
    c = cell(nb, "prun-gram")
    text = outputs_text(c)
    assert re.search(r"^\s+\d+ samples in [\d.]+ seconds of CPU time", text, re.M), text
    functions = [m.group(1) for m in re.finditer(r"^\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+%\s(.*)$", text, re.M)]
    assert any(f.startswith("ndarray::") for f in functions), functions
    assert any(f.startswith("matrixmultiply::") for f in functions), functions
    assert any(re.fullmatch(r"distance_gram \(<cell \d+>:\d+\)", f) for f in functions), functions
    # The flame graph: an SVG image inside the HTML output, drawn by inferno.
    html = "".join(o.get("data", {}).get("text/html", "") for o in c.outputs if o["output_type"] == "display_data")
    found = re.search(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert found, html[:300]
    svg = base64.b64decode(found.group(1)).decode()
    assert "<svg" in svg and "distance_gram" in svg and "matrixmultiply" in svg, svg[:300]
