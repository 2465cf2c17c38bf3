"""Re-running an edited stand-alone `impl` cell replaces the old block
(issue 2). Plain evcxr keeps an impl block that follows no named item of
its cell forever, so the edited block clashes with the old one (E0592)."""
from conftest import ok, run

GET = """impl P {
    fn get(&self) -> i32 {
        self.x
    }
}"""

DISPLAY = """impl std::fmt::Display for P {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "P({})", self.x)
    }
}"""


def test_edited_impl_replaces_the_old_one(kernel):
    ok(kernel, "struct P { x: i32 }")
    ok(kernel, GET)
    assert ok(kernel, "P { x: 1 }.get()").result == "1"
    ok(kernel, GET.replace("self.x", "self.x + 1"))
    assert ok(kernel, "P { x: 1 }.get()").result == "2"


def test_other_impls_survive_an_edit(kernel):
    ok(kernel, DISPLAY)
    ok(kernel, "impl P {\n    fn double(&self) -> i32 {\n        2 * self.x\n    }\n}")
    ok(kernel, GET.replace("self.x", "self.x + 10"))
    assert ok(kernel, "P { x: 1 }.get()").result == "11"
    assert ok(kernel, 'format!("{}", P { x: 5 })').result == '"P(5)"'
    assert ok(kernel, "P { x: 4 }.double()").result == "8"
    # The trait written another way still replaces the first Display.
    ok(kernel, "use std::fmt;\n" + DISPLAY.replace("std::fmt::Display", "fmt::Display").replace("P({})", "<{}>"))
    assert ok(kernel, 'format!("{}", P { x: 5 })').result == '"<5>"'


def test_errors_and_panics_point_at_the_users_lines(kernel):
    cell = run(kernel, "impl P {\n    fn get(&self) -> i32 {\n        self.y\n    }\n}")
    assert cell.status == "error" and "no field `y`" in cell.error["evalue"]
    shown = "\n".join(cell.error["traceback"])
    assert ":3:" in shown and "__PARLAB" not in shown
    # A failed cell changes nothing.
    assert ok(kernel, "P { x: 1 }.get()").result == "11"
    ok(kernel, "impl P {\n    fn get(&self) -> i32 {\n        let v: Vec<i32> = vec![];\n        v[self.x as usize]\n    }\n}")
    cell = run(kernel, "P { x: 3 }.get()")
    assert cell.status == "error" and cell.error["ename"] == "panic", cell.error
    assert "----> 4" in "\n".join(cell.error["traceback"])


def test_lprun_profiles_the_current_body(kernel):
    ok(kernel, GET.replace("self.x", "self.x * 100"))
    cell = ok(kernel, "%lprun -f P::get P { x: 2 }.get()")
    report = cell.of("display_data")[-1]["data"]["text/plain"]
    assert "Function: P::get at line 2" in report
    assert "self.x * 100" in report and "v[self.x" not in report
    assert "     3         1" in report  # the body line ran once
    # Everything is back, unprobed, and still single.
    assert ok(kernel, "P { x: 3 }.get()").result == "300"
    assert ok(kernel, 'format!("{} {}", P { x: 5 }, P { x: 5 }.double())').result == '"<5> 10"'


def test_redefining_the_type_keeps_stand_alone_impls(kernel):
    ok(kernel, "#[derive(Clone, Debug)]\nstruct P { x: i32 }")
    assert ok(kernel, "P { x: 2 }.clone().get()").result == "200"
    ok(kernel, GET.replace("self.x", "self.x - 1"))
    assert ok(kernel, "P { x: 2 }.get()").result == "1"


def test_an_impl_next_to_timing_lines_is_re_runnable(kernel):
    # A cell with a magic line is planned as steps; its impl blocks must be
    # anchored as in a plain cell, bound magic lines included.
    cell = GET.replace("self.x", "self.x * 3") + "\n%timeit -n1 -r1 P { x: 1 }.get()\nP { x: 1 }.get()"
    first = ok(kernel, cell)
    assert first.result == "3" and "per loop" in first.of("display_data")[-1]["data"]["text/plain"]
    assert ok(kernel, cell.replace("* 3", "* 4")).result == "4"
    bound = GET.replace("self.x", "self.x * 5") + "\nlet r = %timeit -o -n1 -r1 P { x: 1 }.get();\n%time let y = P { x: 2 }.get();\ny"
    assert ok(kernel, bound).result == "10"
    assert ok(kernel, bound.replace("* 5", "* 6")).result == "12"
    assert ok(kernel, "P { x: 1 }.get()").result == "6"


def test_an_edited_impl_in_a_lprun_cell_is_the_one_profiled(kernel):
    cell = GET.replace("self.x", "self.x * 7") + "\n%lprun -f P::get P { x: 1 }.get()\nP { x: 1 }.get()"
    assert ok(kernel, cell).result == "7"
    second = ok(kernel, cell.replace("* 7", "* 8"))
    assert second.result == "8"
    report = second.of("display_data")[-1]["data"]["text/plain"]
    assert "self.x * 8" in report and "     3         1" in report
    # The restored body is the edited one, and still single.
    assert ok(kernel, "P { x: 2 }.get()").result == "16"
    # And the registry agrees with the session: a plain edit replaces it.
    ok(kernel, GET.replace("self.x", "self.x - 1"))
    assert ok(kernel, "P { x: 2 }.get()").result == "1"


def test_edited_impls_in_cell_magic_bodies(kernel):
    # A `%%timeit` body runs inside a block: its items are local to the
    # cell, so an edit simply runs the new body.
    q = "struct Q { x: i32 }\nimpl Q {\n    fn get(&self) -> i32 {\n        self.x + 1\n    }\n}\n"
    timeit = "%%timeit -n1 -r1\n" + q + 'println!("got {}", Q { x: 1 }.get());'
    assert "got 2" in ok(kernel, timeit).stdout
    assert "got 3" in ok(kernel, timeit.replace("+ 1", "+ 2")).stdout
    # A `%%time` body runs at top level, as IPython runs it in the user's
    # namespace: its items stay, and an edit replaces them.
    assert ok(kernel, "%%time\n" + q + "Q { x: 1 }.get()").result == "2"
    assert ok(kernel, "%%time\n" + q.replace("+ 1", "+ 2") + "Q { x: 1 }.get()").result == "3"
    assert ok(kernel, "Q { x: 5 }.get()").result == "7"
    # The same for a stand-alone impl of the notebook's `P`, then edited in a plain cell.
    assert ok(kernel, "%%time\n" + GET.replace("self.x", "self.x + 100") + "\nP { x: 1 }.get()").result == "101"
    assert ok(kernel, "P { x: 1 }.get()").result == "101"
    ok(kernel, GET.replace("self.x", "self.x + 7"))
    assert ok(kernel, "P { x: 1 }.get()").result == "8"


def test_an_impl_whose_cell_panicked_is_still_replaceable(kernel):
    # The cell compiled, so evcxr keeps its items although it panicked.
    panicked = run(kernel, GET.replace("self.x", "self.x + 20") + '\nif (P { x: 1 }).get() == 21 { panic!("boom") }')
    assert panicked.error["ename"] == "panic"
    ok(kernel, GET.replace("self.x", "self.x + 30"))
    assert ok(kernel, "P { x: 1 }.get()").result == "31"
