"""%memit, %timeit -a and %mprun through the real kernel (issue 14).

Counts are exact (the kernel's counting allocator), so they are asserted
exactly; resident memory is asserted only roughly, and never a time.
"""
import re

from conftest import run

MEMIT_RSS = re.compile(r"^peak memory: (\d+\.\d\d) MiB, increment: (-?\d+\.\d\d) MiB$", re.M)
MEMIT_ALLOCS = re.compile(r"^allocations: ([\d,]+) \((.+?)\), peak heap: (.+?) above start, still live: (.+)$", re.M)


def shown(cell):
    out = cell.of("display_data")
    assert out, (cell.status, cell.error, cell.msgs)
    return out[-1]["data"]["text/plain"]


def test_memit_reports_rss_and_exact_allocations(kernel):
    cell = run(kernel, "%memit vec![1u8; 50 << 20]")
    assert cell.status == "ok", cell.error
    text = shown(cell)
    rss = MEMIT_RSS.search(text)
    assert rss, text
    assert 45.0 <= float(rss.group(2)) <= 60.0, text
    allocs = MEMIT_ALLOCS.search(text)
    assert allocs and allocs.groups() == ("1", "50.0 MiB", "50.0 MiB", "0 B"), text
    assert cell.result is None


def test_memit_of_untouched_zeroed_memory_counts_the_allocation(kernel):
    # calloc's fresh pages are not resident until written: RSS barely moves,
    # the allocator still sees 50 MiB.
    text = shown(run(kernel, "%memit vec![0u8; 50 << 20]"))
    assert MEMIT_ALLOCS.search(text).groups()[:2] == ("1", "50.0 MiB"), text


def test_memit_result_and_variables_unchanged(kernel):
    assert run(kernel, "let v: Vec<u64> = (0..1000).collect();").status == "ok"
    cell = run(kernel, "let m = %memit -o -q -r 3 v.iter().map(|x| x * 2).collect::<Vec<u64>>();")
    assert cell.status == "ok", cell.error
    assert not cell.of("display_data")
    assert run(kernel, "m.mem_usage.len()").result == "3"
    assert run(kernel, "(m.largest().unwrap().allocs, m.largest().unwrap().bytes)").result == "(1, 8000)"
    assert run(kernel, "v.len()").result == "1000"
    assert run(kernel, "m").result.startswith("<MemitResult : peak memory: ")


def test_memit_usage_errors_run_nothing(kernel):
    for line, message in [
        ("%memit", "%memit needs a statement to measure"),
        ("%memit -x f()", "option -x not recognized"),
        ("%memit -r 0 v.len()", "-r must be a positive integer, not '0'"),
    ]:
        cell = run(kernel, line)
        assert cell.status == "error" and cell.error["ename"] == "UsageError", (line, cell.error)
        assert message in cell.error["evalue"], (line, cell.error)
        assert len(cell.error["evalue"].splitlines()) == 1


def test_timeit_a_counts_two_allocations_per_loop(kernel):
    cell = run(kernel, "%timeit -a -n 100 -r 3 (Box::new([0u64; 10]), Box::new([1u64; 10]))")
    assert cell.status == "ok", cell.error
    lines = shown(cell).splitlines()
    assert "per loop (mean ± std. dev. of 3 runs, 100 loops each)" in lines[0], lines
    assert lines[1] == "allocations: 2 per loop (160 B)", lines


def test_timeit_result_has_allocations_without_a(kernel):
    cell = run(kernel, "let r = %timeit -o -q -n 10 -r 2 String::from(\"parlab\");")
    assert cell.status == "ok", cell.error
    assert run(kernel, "(r.allocs_per_loop, r.bytes_per_loop)").result == "(Some(1.0), Some(6.0))"
    text = shown(run(kernel, "%timeit -n 10 -r 2 v.len()"))
    assert "allocations" not in text


MPRUN_HEADER = "Line #      Hits     Allocs        Bytes         Peak          Net  Line Contents"


def mprun_rows(text):
    """{line number: (hits, allocs, bytes, peak, net)} of the rows with figures."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(-?\d+)  ", line)
        if m:
            rows[int(m.group(1))] = tuple(int(g) for g in m.groups()[1:])
    return rows


def test_mprun_counts_exactly_per_line(kernel):
    cell = run(kernel, """fn build(s: &String) -> usize {
    let mut n = 0;
    for _ in 0..10 { n += std::hint::black_box(Vec::<u64>::with_capacity(1000)).capacity(); }
    for _ in 0..100 { n += std::hint::black_box(s.clone()).len(); }
    let kept: Vec<u8> = vec![1; 4096];
    n + kept.len()
}""")
    assert cell.status == "ok", cell.error
    assert run(kernel, 'let s = String::from("parlab");').status == "ok"
    cell = run(kernel, "%mprun -f build build(&s)")
    assert cell.status == "ok", cell.error
    text = shown(cell)
    assert MPRUN_HEADER in text, text
    rows = mprun_rows(text)
    assert rows[2] == (1, 0, 0, 0, 0), text  # allocates nothing
    # Peak is in glibc's usable bytes (malloc_usable_size: 8,008 for 8,000,
    # 4,104 for 4,096); Bytes and Net are the bytes asked for.
    assert rows[3][1:3] == (10, 80_000) and rows[3][3] == 8008 and rows[3][4] == 0, text
    assert rows[4][1:3] == (100, 600), text
    # `kept` is freed when build returns, inside the statement: Net 0.
    assert rows[5][1:3] == (1, 4096) and rows[5][3] == 4104 and rows[5][4] == 0, text
    # The function is put back: calling it afterwards works and is not profiled.
    assert run(kernel, "build(&s)").result == str(10 * 1000 + 100 * 6 + 4096)
    html = cell.of("display_data")[-1]["data"]["text/html"]
    assert "linear-gradient" in html and "<th>Bytes</th>" in html


def test_mprun_net_is_what_outlives_the_statement(kernel):
    cell = run(kernel, """fn make(n: usize) -> Vec<u8> {
    let scratch = vec![0u8; 10 * n];
    let v = vec![1u8; n];
    drop(scratch);
    v
}""")
    assert cell.status == "ok", cell.error
    assert run(kernel, "let mut keep: Vec<Vec<u8>> = Vec::with_capacity(4);").status == "ok"
    rows = mprun_rows(shown(run(kernel, "%mprun -f make keep.push(make(100))")))
    assert rows[2] == (1, 1, 1000, 1000, 0), rows  # freed on line 4 (1,000 usable bytes)
    assert rows[3] == (1, 1, 100, 104, 100), rows  # still in `keep` (Peak: 104 usable bytes)
    assert rows[4][1:] == (0, 0, 0, 0), rows
    assert run(kernel, "keep.len()").result == "1"


def test_mprun_counts_pool_work_on_the_submitting_line(kernel):
    cell = run(kernel, """use parlab::prelude::*;
fn fan(p: &Pool) -> usize {
    let parts = p.map(|x: u64| vec![x; 100], 0..64);
    parts.len()
}""")
    assert cell.status == "ok", cell.error
    assert run(kernel, "let p = Pool::new(2);").status == "ok"
    cell = run(kernel, "let prof = %mprun -r -f fan fan(&p);")
    assert cell.status == "ok", cell.error
    rows = mprun_rows(shown(cell))
    allocs, nbytes = rows[3][1], rows[3][2]
    # 64 vectors of 100 u64, plus the result's own buffer(s) and the pool's bookkeeping.
    assert allocs >= 65 and nbytes >= 64 * 800, rows
    assert run(kernel, "prof.line(\"fan\", 3).unwrap().allocs >= 65").result == "true"


def test_mprun_usage_errors_run_nothing(kernel):
    for line, message in [
        ("%mprun build(&s)", "%mprun needs a function to profile (-f NAME)"),
        ("%mprun -f build", "%mprun needs a statement to run after the options"),
        ("%mprun -u 1 -f build build(&s)", "option -u not recognized"),
        ("%mprun -f nosuch nosuch()", "nosuch"),
    ]:
        cell = run(kernel, line)
        assert cell.status == "error" and cell.error["ename"] == "UsageError", (line, cell.error)
        assert message in cell.error["evalue"], (line, cell.error)
        assert len(cell.error["evalue"].splitlines()) == 1, cell.error


def test_mprun_partial_report_on_panic_and_function_restored(kernel):
    cell = run(kernel, """fn boom(n: usize) -> usize {
    let v = vec![0u8; n];
    if n > 10 { panic!("too big"); }
    v.len()
}""")
    assert cell.status == "ok", cell.error
    cell = run(kernel, "%mprun -f boom boom(100)")
    assert cell.status == "error", cell.msgs
    rows = mprun_rows(shown(cell))
    assert rows[2][1:3] == (1, 100), rows
    assert run(kernel, "boom(5)").result == "5"
