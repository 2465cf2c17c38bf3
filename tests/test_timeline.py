"""`%%timeline` and `parlab::timeline` (issue 15): every `Pool` task of a
cell on a Gantt chart, one lane per worker, with the summary line
`N tasks on T threads, busy X %, imbalance Y`.

The tasks sleep instead of computing, so the structural figures (lanes,
bars, busy share, imbalance) hold on a loaded machine: a sleeping worker
needs no free core."""
import base64
import re

from conftest import ok, run

SUMMARY = re.compile(r"^(\d+) tasks? on (\d+) threads?, busy (\d+) %, imbalance ([0-9.]+)$", re.M)
LANE = re.compile(r"^(.+?)  +(\d+) tasks? +busy .+\|.*\|$", re.M)
# The chart's palette (matplotlib's tab10), as plotters writes fills.
PALETTE = ["1F77B4", "FF7F0E", "2CA02C", "D62728", "9467BD", "8C564B", "E377C2", "7F7F7F", "BCBD22", "17BECF"]


def timeline_of(cell):
    """The one display carrying a timeline: (summary match, lanes, svg)."""
    shown = [m["data"] for m in cell.of("display_data") if SUMMARY.search(m["data"].get("text/plain", ""))]
    assert len(shown) == 1, [m["data"].get("text/plain") for m in cell.of("display_data")]
    data = shown[0]
    text = data["text/plain"]
    html = data["text/html"]
    img = re.search(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert img and "<svg" not in html, html[:200]
    svg = base64.b64decode(img.group(1)).decode()
    assert svg == data["image/svg+xml"]
    return SUMMARY.search(text), LANE.findall(text), svg


def bars(svg):
    return sum(len(re.findall(rf'<rect[^>]*fill="#{c}"', svg)) for c in PALETTE)


def test_equal_tasks_fill_both_lanes(kernel):
    ok(kernel, "use parlab::prelude::*;\nfn nap(ms: u64) -> u64 { std::thread::sleep(std::time::Duration::from_millis(ms)); ms }")
    cell = ok(kernel, "%%timeline\nlet pool = Pool::new(2);\nlet naps = pool.map(nap, vec![60u64; 8]);\nnaps.len()")
    summary, lanes, svg = timeline_of(cell)
    assert (summary.group(1), summary.group(2)) == ("8", "2"), summary.group(0)
    assert int(summary.group(3)) >= 90, summary.group(0)
    assert [name for name, _ in lanes] == ["worker 0", "worker 1"], lanes
    assert sum(int(n) for _, n in lanes) == 8, lanes
    assert bars(svg) == 8
    assert "worker 0" in svg and "worker 1" in svg
    # The cell's value and its names are the cell's, as without the magic.
    assert cell.result == "8"
    assert ok(kernel, "naps.iter().sum::<u64>()").result == "480"


def test_one_long_task_shows_as_imbalance(kernel):
    ok(kernel, "use parlab::prelude::*;\nfn nap(ms: u64) -> u64 { std::thread::sleep(std::time::Duration::from_millis(ms)); ms }")
    cell = ok(kernel, "%%timeline\nlet eight = Pool::new(8);\neight.map(nap, vec![200, 50, 50, 50, 50, 50, 50, 50]);")
    summary, lanes, _ = timeline_of(cell)
    assert (summary.group(1), summary.group(2)) == ("8", "8"), summary.group(0)
    # The busiest lane holds the 200 ms task: 200 / (550 / 8) = 2.9.
    assert float(summary.group(4)) >= 1.5, summary.group(0)
    assert len(lanes) == 8


def test_runtime_form_shows_the_same_and_returns_the_value(kernel):
    ok(kernel, "use parlab::prelude::*;")
    cell = ok(kernel, "let total: u64 = parlab::timeline(|| Pool::new(2).map(|x: u64| x * 2, 0..100).iter().sum());\ntotal")
    summary, lanes, svg = timeline_of(cell)
    assert (summary.group(1), summary.group(2)) == ("100", "2"), summary.group(0)
    assert bars(svg) == 100
    assert cell.result == "9900"


def test_usage_errors_run_nothing(kernel):
    for cell_text, message in [
        ('%%timeline -n 3\nprintln!("ran");', "%%timeline takes no arguments: `-n 3`"),
        ("%%timeline\n\n", "%%timeline needs a body: the code whose Pool tasks it records"),
        ('%timeline println!("ran")', "Line magic function `%timeline` not found."),
    ]:
        cell = run(kernel, cell_text)
        assert cell.status == "error" and cell.error["ename"] == "UsageError", cell.error
        assert cell.error["evalue"] == message
        assert "ran" not in cell.stdout and not cell.of("display_data")


def test_a_panic_shows_what_ran_and_stops_recording(kernel):
    ok(kernel, "use parlab::prelude::*;\nlet two = Pool::new(2);")
    cell = run(kernel, '%%timeline\ntwo.map(|x: u64| x, 0..4);\ntwo.map(|x: u64| if x == 2 { panic!("no {x}") } else { x }, 0..4);')
    assert cell.status == "error" and "no 2" in cell.error["evalue"], cell.error
    summary, _, _ = timeline_of(cell)
    assert int(summary.group(1)) >= 4, summary.group(0)
    # Recording ended with the cell: a later map shows nothing.
    later = ok(kernel, "two.map(|x: u64| x + 1, 0..4)")
    assert later.result == "[1, 2, 3, 4]" and not later.of("display_data")


def test_compare_flags_a_speedup_beyond_the_busy_threads(kernel):
    ok(kernel, "use parlab::prelude::*;")
    # %timeit records the CPU time of each repeat, which compare reads.
    r = ok(kernel, "let r = %timeit -o -q -n 2 -r 3 std::hint::black_box((0..100_000u64).sum::<u64>());\nr.cpu_runs.len()")
    assert r.result == "3"
    # Issue 15's figures: 25.3 ms of serial work became 15.1 ms of work on 2 threads.
    cell = ok(kernel, """\
let serial = TimeitResult { cpu_runs: vec![0.0253], ..TimeitResult::new(1, vec![0.0253], 0.0, 3) };
let two = TimeitResult { cpu_runs: vec![0.0151], ..TimeitResult::new(1, vec![0.00755], 0.0, 3) };
let honest = TimeitResult { cpu_runs: vec![0.026], ..TimeitResult::new(1, vec![0.0131], 0.0, 3) };
compare(&[("serial", &serial), ("2 threads", &two)]);
compare(&[("serial", &serial), ("2 threads", &honest)]);""")
    flagged, fine = [m["data"]["text/plain"] for m in cell.of("display_data")]
    assert flagged.splitlines()[-1] == (
        "warning: 2 threads is 3.35× faster on 2.0 busy threads: a super-linear speed-up, so the versions "
        "may not run the same machine code (each cell compiles its functions anew, with different inlining)"
    ), flagged
    # The last row, then the line naming the metric (mean over mean).
    assert "warning" not in fine and fine.splitlines()[-2].endswith("1.93×"), fine
    assert fine.splitlines()[-1] == "speed-up = mean of serial / mean of the row", fine
