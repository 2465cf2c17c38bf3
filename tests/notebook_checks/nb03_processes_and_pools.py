"""Checks of notebooks/03-processes-and-pools.ipynb (cells found by tag)."""
import re

from notebook_checks import cell, check, outputs_text, seconds, speedup_line, speedups, timeit_lines

NB = "03-processes-and-pools.ipynb"


@check(NB)
def pool_map_and_starmap_results(nb):
    assert outputs_text(cell(nb, "pool-map")).strip() == "[1, 4, 9]"
    assert outputs_text(cell(nb, "starmap")).strip() == "[1, 81]"


@check(NB)
def pool_of_4_is_threads_of_one_process(nb):
    rows = re.findall(r"^f\((\d+)\) = +(\d+) +computed by thread (\S+) +in process (\d+)$", outputs_text(cell(nb, "pool-new-4")), re.M)
    assert [(int(x), int(fx)) for x, fx, _, _ in rows] == [(x, x * x) for x in range(10)], rows
    assert {pid for *_, pid in rows} == {rows[0][3]}, "a Pool's workers are threads: one PID"
    threads = {t for _, _, t, _ in rows}
    assert threads <= {f"parlab-pool-{i}" for i in range(4)} and len(threads) > 1, threads


@check(NB)
def the_literal_loop_is_folded_away(nb):
    # Ten million additions cannot take under a microsecond unless the
    # compiler removed the loop, which is the point of the cell.
    (line,) = timeit_lines(cell(nb, "folded-loop"))
    assert seconds(line["mean"]) < 1e-6, line[0]


@check(NB)
def expensive_f_is_timed(nb):
    text = outputs_text(cell(nb, "f-time"))
    assert re.search(r"^CPU times: user .+, sys: .+, total: .+$", text, re.M), text
    assert re.search(r"^Wall time: ", text, re.M), text
    assert "1800000000" in text  # f(3) = 200,000,000 * 9


@check(NB)
def pool_beats_serial(nb):
    for tag, rows in (("speedup-3-tasks", ["serial", "Pool::default()"]), ("speedup-4-tasks", ["serial", "Pool::default()"])):
        c = cell(nb, tag)
        assert len(timeit_lines(c)) == 2, outputs_text(c)
        assert list(speedups(c)) == rows
        assert speedup_line(c) > 1, outputs_text(c)


@check(NB)
def process_pool_workers_are_other_processes(nb):
    text = outputs_text(cell(nb, "process-pids"))
    me = re.search(r"^this notebook's process: (\d+)$", text, re.M).group(1)
    workers = re.findall(r"^input (\d) ran in process (\d+)$", text, re.M)
    assert [x for x, _ in workers] == ["0", "1", "2", "3"], text
    assert me not in {pid for _, pid in workers}, text


@check(NB)
def process_pool_beats_serial_on_little_data(nb):
    c = cell(nb, "processpool-speedup")
    assert list(speedups(c)) == ["serial", "Pool (threads)", "ProcessPool (processes)"]
    assert speedup_line(c) > 1, outputs_text(c)


@check(NB)
def serialization_costs_grow_with_the_data(nb):
    rows = re.findall(r"^ *(\d+ [KM]B) +(\S+ \S+) +(\S+ \S+) +(\S+ \S+)$", outputs_text(cell(nb, "serialization-cost")), re.M)
    assert [r[0] for r in rows] == ["1 KB", "1 MB", "10 MB", "100 MB"], rows
    pool, processes = seconds(rows[-1][1]), seconds(rows[-1][2])
    # 100 MB through a socket and bincode, against moving a pointer.
    assert processes > 2 * pool, rows[-1]


@check(NB)
def scaling_chart_and_speedup(nb):
    c = cell(nb, "scaling")
    assert speedup_line(c) > 1, outputs_text(c)
    result = [o for o in c.outputs if o["output_type"] == "execute_result"]
    assert len(result) == 1 and "image/svg+xml" in result[0]["data"], "scaling() shows a chart"
    threads = re.findall(r"^ +(\d+) +[0-9.]+ ms", result[0]["data"]["text/plain"], re.M)
    assert threads == ["1", "2", "4"], result[0]["data"]["text/plain"]
