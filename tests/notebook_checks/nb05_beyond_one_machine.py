"""Checks of notebooks/05-beyond-one-machine.ipynb (cells found by tag).

Only structure and exact results: the timings of this notebook depend on
what else the machine runs (MPI ranks poll while they wait), so none is
asserted here; BENCHMARKS.md has the measured figures.
"""
import re

from notebook_checks import cell, check, outputs_text, speedup_line, timeit_lines

NB = "05-beyond-one-machine.ipynb"


# What the kernel itself may print while it builds (a cold cache, another
# kernel building): not a rank's output.
NOTICES = ("Building the MPI program", "Waiting for another kernel")


def rank_lines(c):
    """{rank: [text]} of a %%mpirun cell's output; every line must carry a rank."""
    out = {}
    for line in outputs_text(c).splitlines():
        if line.startswith(NOTICES):
            continue
        m = re.fullmatch(r"\[(\d+)\] (.*)", line)
        assert m, f"line without a rank prefix: {line!r}"
        out.setdefault(int(m[1]), []).append(m[2])
    return out


def total(text):
    (found,) = re.findall(r"total (\d+)", text)
    return int(found)


@check(NB)
def every_rank_is_its_own_process(nb):
    lines = rank_lines(cell(nb, "hello"))
    assert sorted(lines) == [0, 1]
    pids = {int(re.fullmatch(rf"I am rank {r} of 2, in process (\d+)", l[0])[1]) for r, l in lines.items()}
    assert len(pids) == 2


@check(NB)
def serial_pool_and_mpi_agree(nb):
    serial = total(outputs_text(cell(nb, "serial")))
    assert total(outputs_text(cell(nb, "pool"))) == serial
    for tag, ranks in [("mpi-2", 2), ("mpi-4", 4)]:
        lines = rank_lines(cell(nb, tag))
        assert sorted(lines) == list(range(ranks)), tag
        assert total("\n".join(lines[0])) == serial, tag
        blocks = {r: next(l for l in ls if l.startswith("my tasks")) for r, ls in lines.items()}
        step = 128 // ranks
        assert blocks == {r: f"my tasks: {r * step}..{(r + 1) * step}" for r in range(ranks)}, blocks
        assert any(re.match(rf"MPI, {ranks} ranks: .* wall \(slowest of {ranks} ranks; fastest .*\)$", l) for l in lines[0])


@check(NB)
def hosts_form_runs_both_ranks(nb):
    assert sorted(rank_lines(cell(nb, "hosts"))) == [0, 1]


@check(NB)
def ping_pong_reports_each_size_on_rank_0(nb):
    lines = rank_lines(cell(nb, "ping-pong"))
    assert list(lines) == [0]
    sizes = [int(re.match(r"\s*(\d+) bytes: ", l)[1]) for l in lines[0]]
    assert sizes == [8, 1 << 10, 1 << 16, 1 << 20, 16 << 20]


@check(NB)
def serial_and_pool_are_timed_like_the_other_notebooks(nb):
    # `%timeit -o` and one printed `speedup_over` line (mean over mean); its value is not asserted.
    assert len(timeit_lines(cell(nb, "serial"))) == 1, outputs_text(cell(nb, "serial"))
    assert len(timeit_lines(cell(nb, "pool"))) == 1, outputs_text(cell(nb, "pool"))
    speedup_line(cell(nb, "pool"))  # asserts the one line is there
