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
