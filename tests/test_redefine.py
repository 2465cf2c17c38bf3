"""Re-running an edited stand-alone `impl` cell replaces the old block
(issue 2). Plain evcxr keeps an impl block that follows no named item of
its cell forever, so the edited block clashes with the old one (E0592)."""
from conftest import run

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


def ok(kernel, code):
    cell = run(kernel, code)
    assert cell.status == "ok", (code, cell.error)
    return cell


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
