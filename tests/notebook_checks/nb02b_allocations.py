"""Checks of notebooks/02b-allocations.ipynb (cells found by tag).

Allocation counts and bytes are exact (the kernel's counting allocator),
so they are asserted exactly; Peak and Net only loosely (the allocator may
report usable sizes, a few bytes more per block); times only as speed-ups
where the effect is large.
"""
import re

from notebook_checks import cell, check, outputs_text, speedups, timeit_lines, timing

NB = "02b-allocations.ipynb"

MPRUN_HEADER = "Line #      Hits     Allocs        Bytes         Peak          Net  Line Contents"


def per_loop(c):
    """`%timeit -a`'s counts, in order: [(allocations, bytes as printed)]."""
    found = re.findall(r"^allocations: ([0-9,]+) per loop \((.+)\)$", outputs_text(c), re.M)
    return [(count.replace(",", ""), nbytes) for count, nbytes in found]


def mprun_rows(c, function):
    """{line contents: (hits, allocs, bytes, peak, net)} of `function`'s rows with figures."""
    text = outputs_text(c)
    start = text.index(f"Function: {function} at line")
    header = text.index(MPRUN_HEADER, start)
    # The rows end at the first blank line after the header's ==== rule.
    block = text[header:].split("\n\n", 1)[0]
    rows = {}
    for line in block.splitlines():
        m = re.match(r"^\s*\d+\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(-?\d+)  (.*)$", line)
        if m:
            rows[m.group(6).strip()] = tuple(int(g) for g in m.groups()[:5])
    return rows


@check(NB)
def collect_per_step_allocates_three_vectors(nb):
    values = outputs_text(cell(nb, "collect-defs")).split()
    assert len(values) == 2 and values[0] == values[1], values
    c = cell(nb, "collect-timeit")
    assert len(timeit_lines(c)) == 2
    assert per_loop(c) == [("3", "2.3 MiB"), ("0", "0 B")], outputs_text(c)
    s = speedups(c)
    assert list(s) == ["collect per step", "one pass"], s
    timing(s["one pass"] > 1, s)


@check(NB)
def memit_counts_one_run(nb):
    text = outputs_text(cell(nb, "memit-steps"))
    assert re.search(r"^peak memory: [0-9.]+ MiB, increment: -?[0-9.]+ MiB$", text, re.M), text
    m = re.search(r"^allocations: 3 \(2\.3 MiB\), peak heap: (.+) above start, still live: (.+)$", text, re.M)
    assert m, text
    assert m.group(1) == "2.3 MiB" and m.group(2) == "0 B", text


@check(NB)
def mprun_puts_each_collect_on_its_line(nb):
    rows = mprun_rows(cell(nb, "mprun-steps"), "steps")
    collects = [r for text, r in rows.items() if text.endswith(".collect();")]
    assert [r[:3] for r in collects] == [(1, 1, 800_000)] * 3, rows
    assert all(800_000 <= r[3] <= 800_100 and r[4] == 0 for r in collects), rows
    assert rows["squared.iter().sum()"][:3] == (1, 0, 0), rows


@check(NB)
def clone_in_a_loop_is_one_allocation_per_row(nb):
    c = cell(nb, "clone-timeit")
    assert per_loop(c) == [("1000", "781.2 KiB"), ("0", "0 B")], outputs_text(c)
    timing(speedups(c)["borrow"] > 1, speedups(c))
    rows = mprun_rows(cell(nb, "mprun-clone"), "norms_cloning")
    hits, allocs, nbytes, peak, net = rows["total += norm_owned(row.clone());"]
    assert (hits, allocs, nbytes) == (1000, 1000, 800_000), rows
    # One row at a time: each clone is freed before the next.
    assert 800 <= peak < 1600 and net == 0, rows
    assert rows["for row in rows {"][1:3] == (0, 0), rows


@check(NB)
def vec_growth_against_with_capacity(nb):
    c = cell(nb, "growth-timeit")
    assert len(timeit_lines(c)) == 4
    # Capacities 4, 8, …, 16,384 (13 allocations) and 4, …, 1,048,576 (19).
    assert [a for a, _ in per_loop(c)] == ["13", "1", "19", "1"], outputs_text(c)
    grow = mprun_rows(cell(nb, "mprun-growth"), "grow")
    hits, allocs, nbytes, _, net = grow["out.push(i);"]
    assert (hits, allocs, nbytes) == (10_000, 13, 262_112), grow
    assert 131_072 <= net <= 131_072 + 64, grow  # the final capacity, kept by the statement
    reserve = mprun_rows(cell(nb, "mprun-growth"), "reserve")
    hits, allocs, nbytes, _, net = reserve["let mut out = Vec::with_capacity(n);"]
    assert (hits, allocs, nbytes) == (1, 1, 80_000) and 80_000 <= net <= 80_064, reserve
    assert reserve["out.push(i);"][1:3] == (0, 0), reserve


@check(NB)
def page_faults_are_counted(nb):
    # How many pages are fresh depends on the C library's malloc: structure only.
    text = outputs_text(cell(nb, "collect-faults"))
    assert re.findall(r"^(collect per step|one pass): +[0-9.]+ page faults per call$", text, re.M) == ["collect per step", "one pass"], text
    text = outputs_text(cell(nb, "growth-faults"))
    sizes = re.findall(r"^n = +([0-9]+): push +[0-9.]+, with_capacity +[0-9.]+ page faults per call$", text, re.M)
    assert sizes == ["10000", "1000000"], text
