"""%timeit, %%timeit, %time, %%time through the real kernel (issue 3).

Assertions are on formats, values and error shapes, never on how fast
anything ran: the machine is shared.
"""
import re
import time

from conftest import run

TIMEIT_LINE = re.compile(
    r"^\d[\d.,]* (ns|μs|ms|s) ± \d[\d.,]* (ns|μs|ms|s) per loop "
    r"\(mean ± std\. dev\. of (\d+) runs?, ([\d,]+) loops? each\)$",
    re.M,
)


def timeit_text(cell):
    shown = cell.of("display_data")
    assert shown, cell.msgs
    return shown[-1]["data"]["text/plain"]


def test_line_timeit_prints_ipythons_line_and_no_value(kernel):
    assert run(kernel, "let v: Vec<u64> = (0..1000).collect();").status == "ok"
    cell = run(kernel, "%timeit v.iter().sum::<u64>()")
    assert cell.status == "ok", cell.error
    text = timeit_text(cell)
    m = TIMEIT_LINE.search(text)
    assert m, text
    assert m.group(3) == "7"
    assert cell.result is None  # like IPython: %timeit without -o has no Out
    html = cell.of("display_data")[-1]["data"].get("text/html", "")
    assert "per loop" in html


def test_loops_repeat_and_singular_forms(kernel):
    cell = run(kernel, "%timeit -n 1 -r 1 v.len()")
    assert "(mean ± std. dev. of 1 run, 1 loop each)" in timeit_text(cell)
    cell = run(kernel, "%timeit -n10 -r 3 v.len()")
    assert "(mean ± std. dev. of 3 runs, 10 loops each)" in timeit_text(cell)


def test_result_object_with_o_and_binding(kernel):
    cell = run(kernel, "let r = %timeit -o -n 100 -r 3 v.iter().max();")
    assert cell.status == "ok", cell.error
    assert TIMEIT_LINE.search(timeit_text(cell))
    assert run(kernel, "r.loops").result == "100"
    assert run(kernel, "r.repeat").result == "3"
    assert run(kernel, "r.all_runs.len()").result == "3"
    assert run(kernel, "r.best <= r.average() && r.average() <= r.worst").result == "true"
    shown = run(kernel, "r").result
    assert shown.startswith("<TimeitResult : ") and "3 runs, 100 loops each" in shown, shown


def test_quiet_prints_nothing(kernel):
    cell = run(kernel, "%timeit -q -n 10 v.len()")
    assert cell.status == "ok"
    assert not cell.of("display_data") and not cell.stdout


def test_magic_line_among_other_lines(kernel):
    cell = run(kernel, "let a = 2u64;\n%timeit -n 10 a * 3\nlet b = a + 1;")
    assert cell.status == "ok", cell.error
    assert TIMEIT_LINE.search(timeit_text(cell))
    assert run(kernel, "b").result == "3"


def test_a_let_statement_is_timed(kernel):
    cell = run(kernel, "%timeit -n 10 -r 2 let w = v.clone();")
    assert cell.status == "ok", cell.error
    assert "2 runs, 10 loops each" in timeit_text(cell)
    assert run(kernel, "v.len()").result == "1000"


def test_cell_timeit_setup_is_visible_to_the_body(kernel):
    cell = run(kernel, "%%timeit -n 10 -r 2 let mut w = v.clone();\nw.sort_unstable();\nw.len()")
    assert cell.status == "ok", cell.error
    assert "2 runs, 10 loops each" in timeit_text(cell)


def test_variables_are_unchanged_after_timing(kernel):
    run(kernel, "let mut counter = 41u64;")
    cell = run(kernel, "%timeit -n 5 -r 2 counter + 1")
    assert cell.status == "ok", cell.error
    assert run(kernel, "counter").result == "41"
    assert run(kernel, "v.len()").result == "1000"


def test_time_prints_cpu_and_wall_and_returns_the_value(kernel):
    cell = run(kernel, "%time v.iter().sum::<u64>()")
    assert cell.status == "ok", cell.error
    assert re.search(r"^CPU times: user .+, sys: .+, total: .+$", cell.stdout, re.M), cell.stdout
    assert re.search(r"^Wall time: \d", cell.stdout, re.M), cell.stdout
    assert cell.result == "499500"
    cell = run(kernel, "%time let w = v.len() + 1;")
    assert cell.status == "ok" and "Wall time" in cell.stdout
    assert run(kernel, "w").result == "1001"


def test_cell_time(kernel):
    cell = run(kernel, '%%time\nprintln!("body ran");\nlet s: u64 = v.iter().sum();\ns * 2')
    assert cell.status == "ok", cell.error
    assert cell.stdout.index("body ran") < cell.stdout.index("CPU times")
    assert cell.result == "999000"


def test_cell_time_keeps_its_names_as_ipython_does(kernel):
    # IPython runs a %%time cell in the user's namespace: what it defines stays.
    cell = run(kernel, "%%time\nlet kept_total: u64 = v.iter().sum();\nfn kept_helper() -> u32 { 7 }\nlet kept_vec = vec![1, 2, 3];\nkept_vec")
    assert cell.status == "ok", cell.error
    assert cell.result == "[1, 2, 3]"
    assert run(kernel, "kept_total + kept_helper() as u64").result == "499507"
    assert run(kernel, "kept_vec.len()").result == "3", "showing the value must not move it"


def test_cell_time_prints_the_times_before_a_panic(kernel):
    cell = run(kernel, "%%time\nlet short = vec![1u8];\nlet bad = short[5];")
    assert cell.error["ename"] == "panic"
    assert "Wall time" in cell.stdout
    tb = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(cell.error["traceback"]))
    assert "line 3" in tb and "short[5]" in tb, tb


def usage_error(kernel, code):
    cell = run(kernel, code)
    assert cell.status == "error", (code, cell.msgs)
    assert cell.error["ename"] == "UsageError", cell.error
    assert len(cell.error["traceback"]) == 1
    return cell.error["evalue"]


def test_usage_errors_are_one_line_and_run_nothing(kernel):
    run(kernel, "let mut ran = 0;")
    assert usage_error(kernel, "%timeit -x 1") .startswith("option -x not recognized")
    assert "-n" in usage_error(kernel, "%timeit -n abc { ran += 1; }")
    assert "-r" in usage_error(kernel, "%timeit -r 0 { ran += 1; }")
    assert "argument" in usage_error(kernel, "%timeit -n")
    assert "statement" in usage_error(kernel, "%timeit")
    assert "statement" in usage_error(kernel, "%time")
    assert usage_error(kernel, "%%time ran += 1;\nran += 1;") == "Can't use statement directly after '%%time'!"
    assert run(kernel, "ran").result == "0"


def test_moving_a_variable_is_explained_plainly(kernel):
    run(kernel, "let owned = vec![1u8, 2, 3];")
    msg = usage_error(kernel, "%timeit owned.into_iter().count()")
    assert "moves `owned`" in msg and "clone" in msg, msg
    assert run(kernel, "owned.len()").result == "3"


def test_panic_in_timed_code_points_at_the_users_line(kernel):
    cell = run(kernel, '%timeit if v.len() > 10 { panic!("boom {}", v.len()) }')
    assert cell.status == "error"
    assert cell.error["ename"] == "panic"
    assert cell.error["evalue"] == "boom 1000"
    tb = "\n".join(cell.error["traceback"])
    assert "%timeit if v.len() > 10" in tb and "__parlab" not in tb, tb
    assert run(kernel, "v.len()").result == "1000"


def test_compile_error_is_drawn_over_the_users_statement(kernel):
    cell = run(kernel, "let x = 5;\n%timeit -n 3 x.fooo()")
    assert cell.status == "error" and cell.error["ename"] == "CompileError"
    tb = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(cell.error["traceback"]))
    assert "%timeit -n 3 x.fooo()" in tb and "__parlab" not in tb, tb
    assert "In[" in tb


def test_interrupt_stops_timeit_and_keeps_variables(kernel):
    msg_id = kernel.execute("%timeit -n 1000000000 std::hint::black_box(v.iter().sum::<u64>())")
    time.sleep(3.0)  # past compilation, into the timed loop
    kernel.km.interrupt_kernel()
    reply = kernel.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    # The harness polls the interrupt flag: no restart, nothing lost.
    assert "lost" not in reply["content"]["evalue"], reply["content"]
    assert run(kernel, "v.len()").result == "1000"
    assert TIMEIT_LINE.search(timeit_text(run(kernel, "%timeit -n 10 v.len()")))
