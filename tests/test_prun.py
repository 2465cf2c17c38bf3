"""%prun and %%prun through the real kernel (issue 15): a known 70/30 split
found in the table, the flame graph as an image, -D's collapsed stacks read
back by inferno, work on Pool workers under their threads, usage errors
that run nothing, a panic that leaves the kernel up."""
import re

from conftest import ok, run

WORK = """#[inline(never)]
fn hot_inner(n: u64) -> u64 {
    let mut x = std::hint::black_box(n);
    for _ in 0..n {
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 1;
    }
    x
}
#[inline(never)]
fn cold_inner(n: u64) -> u64 {
    let mut x = std::hint::black_box(n);
    for _ in 0..n {
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 3;
    }
    x
}
#[inline(never)]
fn outer(calls: u64) -> u64 {
    (0..calls).fold(0, |acc, _| acc ^ hot_inner(std::hint::black_box(70_000)) ^ cold_inner(std::hint::black_box(30_000)))
}
static RAN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
fn count() -> u32 { RAN.fetch_add(1, std::sync::atomic::Ordering::SeqCst) }"""

ROW = re.compile(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%\s(.*)$")


def shown(cell):
    data = cell.of("display_data")
    assert data, (cell.status, cell.error, cell.stdout)
    return data[-1]["data"]


def rows(text):
    return {m.group(5): float(m.group(4)) for m in map(ROW.match, text.splitlines()) if m}


def test_setup(kernel):
    ok(kernel, WORK)
    # Cell numbers: the definitions' cell is the one just run.
    ok(kernel, "use parlab::prelude::*;\nlet pool = Pool::new(2);")


def test_known_split_table_and_flame_graph(kernel):
    cell = ok(kernel, "%prun outer(8_000)")
    data = shown(cell)
    text = data["text/plain"]
    assert re.search(r"^\s+\d+ samples in [\d.]+ seconds of CPU time on \d+ threads?", text, re.M), text
    assert "Ordered by: internal time" in text
    shares = rows(text)
    hot = [name for name in shares if name.startswith("hot_inner (<cell ")]
    assert len(hot) == 1, text
    # Named by the defining cell and the signature's line.
    assert re.fullmatch(r"hot_inner \(<cell \d+>:2\)", hot[0]), hot
    assert 60 <= shares[hot[0]] <= 80, text
    cold = [name for name in shares if name.startswith("cold_inner (<cell ")]
    assert cold and 20 <= shares[cold[0]] <= 40, text
    html = data["text/html"]
    assert '<img src="data:image/svg+xml;base64,' in html, html[:300]


def test_sort_limit_and_returned_profile(kernel):
    cell = ok(kernel, "let p = %prun -r -s cumtime -l 3 outer(1_000);")
    text = shown(cell)["text/plain"]
    assert "Ordered by: cumulative time" in text and "List reduced from" in text
    assert len(rows(text)) == 3, text
    assert run(kernel, "p.cum_share(\"outer\") > 0.9").result == "true"


def test_collapsed_file_reads_back_through_inferno(kernel, tmp_path):
    folded, txt = tmp_path / "s.folded", tmp_path / "s.txt"
    cell = ok(kernel, f'%prun -q -D {folded} -T {txt} outer(1_000)')
    assert not cell.of("display_data")  # -q
    lines = folded.read_text().splitlines()
    assert lines and all(re.fullmatch(r"[^ ].* \d+", l) for l in lines), lines[:3]
    assert any("outer (<cell" in l and ";hot_inner (<cell" in l for l in lines), lines[:3]
    assert txt.read_text().lstrip().split()[1] == "samples"
    check = run(kernel, f'parlab::Profile::from_collapsed(&std::fs::read_to_string(\"{folded}\").unwrap()).unwrap().flamegraph_svg("t").unwrap().starts_with("<?xml")')
    assert check.result == "true", (check.error, check.stdout)


def test_pool_work_shows_under_worker_threads(kernel):
    cell = ok(kernel, "let q = %prun -r --threads { pool.map(|i: u64| hot_inner(20_000_000 + i), 0..32).len() };")
    html = shown(cell)["text/html"]
    assert "<img" in html
    found = run(kernel, 'q.stacks.iter().any(|s| s.frames[0].starts_with("[thread parlab-pool") && s.frames.iter().any(|f| f.starts_with("hot_inner (<cell")))')
    assert found.result == "true", shown(cell)["text/plain"]


def test_cell_form(kernel):
    cell = ok(kernel, "%%prun -l 5\nlet a = outer(500);\nlet b = outer(500);\na ^ b")
    assert "hot_inner (<cell" in shown(cell)["text/plain"]


def test_usage_errors_run_nothing(kernel):
    before = run(kernel, "RAN.load(std::sync::atomic::Ordering::SeqCst)").result
    for line in ("%prun -s nope count()", "%prun -l 0 count()", "%prun --rate x count()", "%prun -x count()", "%prun"):
        cell = run(kernel, line)
        assert cell.status == "error" and cell.error["ename"] == "UsageError", (line, cell.error)
    cell = run(kernel, "%%prun count()\ncount();")
    assert cell.error["ename"] == "UsageError", cell.error
    assert run(kernel, "RAN.load(std::sync::atomic::Ordering::SeqCst)").result == before


def test_panic_reports_and_the_kernel_stays_up(kernel):
    cell = run(kernel, '%prun { outer(200); panic!("boom") }')
    assert cell.status == "error" and cell.error["evalue"] == "boom", cell.error
    assert shown(cell)["text/plain"]  # the partial profile
    assert ok(kernel, "%prun outer(100)")
    assert run(kernel, "pool.map(|x: u64| x + 1, 0..3)").result == "[1, 2, 3]"
