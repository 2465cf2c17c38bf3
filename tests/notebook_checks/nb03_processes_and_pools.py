"""Checks of notebooks/03-processes-and-pools.ipynb (cells found by tag)."""
import re

from notebook_checks import cell, check, outputs_text, seconds, speedup_line, speedups, timeit_lines, timing

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
    timing(seconds(line["mean"]) < 1e-6, line[0])


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
        timing(speedup_line(c) > 1, outputs_text(c))


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
    timing(speedup_line(c) > 1, outputs_text(c))


@check(NB)
def serialization_costs_grow_with_the_data(nb):
    rows = re.findall(r"^ *(\d+ [KM]B) +(\S+ \S+) +(\S+ \S+) +(\S+ \S+)$", outputs_text(cell(nb, "serialization-cost")), re.M)
    assert [r[0] for r in rows] == ["1 KB", "1 MB", "10 MB", "100 MB"], rows
    pool, processes = seconds(rows[-1][1]), seconds(rows[-1][2])
    # 100 MB through a socket and bincode, against moving a pointer.
    timing(processes > 2 * pool, rows[-1])


@check(NB)
def speedups_are_one_metric(nb):
    # The printed line is `speedup_over`, the mean over the mean: the same
    # figure as compare's last row, to the printed rounding.
    for tag in ("speedup-3-tasks", "speedup-4-tasks", "processpool-speedup"):
        c = cell(nb, tag)
        table = speedups(c)
        assert abs(speedup_line(c) - list(table.values())[-1]) <= 0.011, outputs_text(c)
        assert "speed-up = mean of serial / mean of the row" in outputs_text(c), outputs_text(c)


@check(NB)
def scaling_stops_at_the_cores(nb):
    cores = int(re.search(r"^cores available: (\d+)$", outputs_text(cell(nb, "cores")), re.M).group(1))
    c = cell(nb, "scaling")
    result = [o for o in c.outputs if o["output_type"] == "execute_result"]
    assert len(result) == 1 and "image/svg+xml" in result[0]["data"], "scaling() shows a chart"
    table = result[0]["data"]["text/plain"]
    rows = re.findall(r"^ +(\d+) +[0-9.]+ ms +([0-9.]+)", table, re.M)
    assert [int(p) for p, _ in rows] == list(range(1, cores + 1)), table
    if cores > 1:
        timing(float(rows[1][1]) > 1, table)


TIMELINE = re.compile(r"^(\d+) tasks? on (\d+) threads?, busy (\d+) %, imbalance ([0-9.]+)$", re.M)
LANE = re.compile(r"^(worker \d+)  +(\d+) tasks? +busy .+\|.*\|$", re.M)


def timeline(nb, tag):
    """(tasks, threads, busy %, imbalance, {lane: task count}) of the one timeline a cell shows,
    which must carry its chart."""
    c = cell(nb, tag)
    shown = [o["data"] for o in c.outputs if o["output_type"] == "display_data" and TIMELINE.search(o["data"].get("text/plain", ""))]
    assert len(shown) == 1, outputs_text(c)
    text = shown[0]["text/plain"]
    assert "image/svg+xml" in shown[0] and '<img src="data:image/svg+xml;base64,' in shown[0]["text/html"], list(shown[0])
    m = TIMELINE.search(text)
    lanes = {name: int(n) for name, n in LANE.findall(text)}
    return int(m[1]), int(m[2]), int(m[3]), float(m[4]), lanes


@check(NB)
def timeline_of_balanced_and_unbalanced_maps(nb):
    tasks, threads, busy, imbalance, lanes = timeline(nb, "timeline-balanced")
    assert (tasks, threads) == (8, 2) and sum(lanes.values()) == 8 and list(lanes) == ["worker 0", "worker 1"], lanes
    tasks, threads, _, imbalance, lanes = timeline(nb, "timeline-unbalanced")
    assert (tasks, threads) == (4, 2) and sum(lanes.values()) == 4, lanes
    # The long task is one worker's alone, the three short ones the other's.
    assert sorted(lanes.values()) == [1, 3], lanes
    # 240 units against three of 40: the busiest lane holds the long task,
    # 240 / (360 / 2) = 1.33 on an idle machine; other programs' load
    # stretches the short tasks too (1.14 measured at load 6), so the bound is loose.
    timing(imbalance > 1.05, imbalance)


@check(NB)
def chunks_of_four_leave_a_worker_idle(nb):
    for tag in ("timeline-chunks-1", "timeline-chunks-4"):
        tasks, threads, _, _, lanes = timeline(nb, tag)
        assert (tasks, threads) == (8, 2) and sum(lanes.values()) == 8, (tag, lanes)
    *_, lanes4 = timeline(nb, "timeline-chunks-4")
    # Batches of 4 are never split: each worker ran one whole half.
    assert sorted(lanes4.values()) == [4, 4], lanes4
    # 640 units of work against 160: the long half's lane does 1.6× the average.
    one, four = timeline(nb, "timeline-chunks-1")[3], timeline(nb, "timeline-chunks-4")[3]
    timing(four > 1.3 and one < four, (one, four))


@check(NB)
def the_trap_times_the_same_work_at_two_call_sites(nb):
    rows = ["serial loop", "Pool::new(1)", "Pool::new(2)"]
    two_sites = cell(nb, "trap-two-sites")
    assert len(timeit_lines(two_sites)) == 3 and list(speedups(two_sites)) == rows, outputs_text(two_sites)
    # The versions did the same work: equal results, whatever their speed.
    assert re.search(r"^same results: true$", outputs_text(two_sites), re.M), outputs_text(two_sites)
    fair = cell(nb, "trap-fair")
    assert len(timeit_lines(fair)) == 3 and list(speedups(fair)) == rows, outputs_text(fair)
    # The fair version's printed speed-up is its table's, mean over mean.
    assert abs(speedup_line(fair) - speedups(fair)["Pool::new(2)"]) <= 0.011, outputs_text(fair)
    # One copy of `mix` is called from every version: `#[inline(never)]` on it.
    assert "#[inline(never)]" in fair.source and "fn mix_once" in fair.source
