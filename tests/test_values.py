"""End-to-end: a cell's value, shown as evcxr shows it, in one build.

The kernel imports `parlab_child::value::StdDisplay` so that a std value's
`(expr).evcxr_display()` compiles the first time (runtime/child/src/value.rs);
these tests pin that what is shown did not change, for std values and for
types with their own `evcxr_display`, and that `:fmt` still applies.
"""
from conftest import ok

HTML_TYPE = '''
struct Badge(u32);
impl Badge {
    pub fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT text/html\\n<b>{}</b>\\nEVCXR_END_CONTENT", self.0);
    }
}
'''

TRAIT_TYPE = '''
#[derive(Debug)]
struct Tagged(u32);
trait Show { fn evcxr_display(&self); }
impl Show for Tagged {
    fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT text/plain\\ntag {}\\nEVCXR_END_CONTENT", self.0);
    }
}
'''


def html_shown(cell):
    """The HTML a cell showed, as its value or as a display."""
    return "".join(c["data"].get("text/html", "") for c in cell.of("execute_result") + cell.of("display_data"))


def test_std_values_show_their_debug_text(kernel):
    assert ok(kernel, "40 + 2").result == "42"
    assert ok(kernel, '"abc".to_string()').result == '"abc"'
    assert ok(kernel, "vec![Some(1), None]").result == "[Some(1), None]"
    assert ok(kernel, "(1, 2.5, 'c')").result == "(1, 2.5, 'c')"
    assert ok(kernel, "let w = vec![3u8; 2];\n&w").result == "[3, 3]"
    assert ok(kernel, "w.len()").result == "2"
    # `()` is no result, as before.
    assert ok(kernel, 'println!("x")').result is None


def test_types_with_their_own_display_keep_it(kernel):
    ok(kernel, HTML_TYPE)
    cell = ok(kernel, "Badge(7)")
    assert "<b>7</b>" in html_shown(cell), cell.msgs
    ok(kernel, TRAIT_TYPE)
    assert ok(kernel, "Tagged(3)").result == "tag 3"


def test_fmt_still_changes_how_values_print(kernel):
    ok(kernel, ":fmt {:#?}")
    assert ok(kernel, "vec![(1, 2)]").result == "[\n    (\n        1,\n        2,\n    ),\n]"
    ok(kernel, ":fmt {:?}")
    assert ok(kernel, "vec![(1, 2)]").result == "[(1, 2)]"
