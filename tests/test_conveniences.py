"""End-to-end: IPython's everyday conveniences (issue 13) through the real kernel.

%lsmagic, help on every magic (as a cell and as inspect), docs for Rust names
(Shift-Tab anywhere in a name or a call's arguments, `name?`), completion of
magics, %who/%whos/%env, and evcxr's display blocks as display_data.
"""
import pytest

from conftest import ok, run

MAGICS = ["%timeit", "%%timeit", "%time", "%%time", "%lprun", "%%mpirun", "%lsmagic", "%who", "%whos", "%env", "%load_ext"]

DOCUMENTED = '''/// Euclidean distance of two points, written for the notebook.
fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}'''


def inspect(kernel, code, cursor):
    msg_id = kernel.inspect(code, cursor_pos=cursor, detail_level=0)
    reply = kernel.get_shell_msg(timeout=120)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.get_shell_msg(timeout=120)
    return reply["content"]


def complete(kernel, code):
    msg_id = kernel.complete(code, cursor_pos=len(code))
    reply = kernel.get_shell_msg(timeout=120)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.get_shell_msg(timeout=120)
    return reply["content"]


def page(cell):
    """The text of the cell's one pager payload."""
    payload = cell.reply["payload"]
    assert len(payload) == 1 and payload[0]["source"] == "page", cell.reply
    return payload[0]["data"]["text/plain"]


def test_setup(kernel):
    ok(kernel, "use parlab::prelude::*;")
    ok(kernel, DOCUMENTED)


def test_lsmagic_lists_magics_and_commands(kernel):
    text = ok(kernel, "%lsmagic").result
    line, cell, commands = text.split("\n\n")[:3]
    assert line.startswith("Available line magics:")
    for name in ["%timeit", "%time", "%lprun", "%load_ext", "%lsmagic", "%who", "%whos", "%env"]:
        assert name in line.split(), name
    assert cell.startswith("Available cell magics:")
    for name in ["%%timeit", "%%time", "%%mpirun"]:
        assert name in cell.split(), name
    assert commands.startswith("Available evcxr commands:")
    assert ":dep" in commands.split() and ":vars" in commands.split() and ":quit" not in commands.split()


@pytest.mark.parametrize("magic", MAGICS)
def test_help_for_each_magic_as_cell_and_inspect(kernel, magic):
    for code in [magic + "?", magic + "??", "?" + magic]:
        text = page(ok(kernel, code))
        assert text.startswith("Docstring:\n"), text
        assert "Usage" in text and "\n  " + magic in text and "Examples\n--------" in text, text
    reply = inspect(kernel, magic + " ", 2)
    assert reply["found"], reply
    assert reply["data"]["text/plain"] == page(run(kernel, magic + "?"))


def test_help_lists_every_option(kernel):
    text = page(ok(kernel, "%timeit?"))
    for flag in ["-n N", "-r R", "-t", "-c", "-p P", "-q", "-o", "-v NAME"]:
        assert "\n  " + flag in text, flag
    assert "%lprun -f NAME" in page(ok(kernel, "%lprun?"))
    assert run(kernel, "%nosuch?").error["evalue"] == "Object `%nosuch` not found."


def at(marked):
    """The code and the cursor of a `|` in `marked`."""
    return marked.replace("|", "", 1), marked.index("|")


@pytest.mark.parametrize(
    "mid_name,after_first_argument,doc",
    [
        ("let v: Vec<u8> = Vec::with_ca|pacity(10);", "let v: Vec<u8> = Vec::with_capacity(10|", "with at least the specified capacity"),
        ("let p = Pool::n|ew(2);", "let p = Pool::new(2, |", "worker threads (at least one)"),
        ("let d = dist|ance((0.0, 0.0), (3.0, 4.0));", "let d = distance((0.0, 0.0), |(3.0, 4.0));", "Euclidean distance of two points"),
    ],
)
def test_inspect_mid_name_and_after_first_argument(kernel, mid_name, after_first_argument, doc):
    for marked in [mid_name, after_first_argument]:
        reply = inspect(kernel, *at(marked))
        assert reply["found"], (marked, reply)
        assert doc in reply["data"]["text/plain"], (marked, reply["data"]["text/plain"])
        assert doc in reply["data"]["text/html"]


def test_pool_new_doc_comment(kernel):
    reply = inspect(kernel, "Pool::new(2, ", len("Pool::new(2, "))
    assert reply["found"], reply
    assert "pub fn new(threads: usize)" in reply["data"]["text/plain"]


def test_question_mark_cells_show_the_docs(kernel):
    text = page(ok(kernel, "Pool::new?"))
    assert text == inspect(kernel, "Pool::new", 7)["data"]["text/plain"]
    vec = page(ok(kernel, "?Vec"))
    assert "A contiguous growable array type" in vec
    source = page(ok(kernel, "distance??"))
    assert "Euclidean distance" in source and "Source:\n/// Euclidean" in source
    assert ok(kernel, "nosuchname_xyz?").stdout == "Object `nosuchname_xyz` not found.\n"


def test_inspect_of_a_variable_shows_its_value(kernel):
    ok(kernel, "let inspected = vec![1u32, 2, 3];")
    reply = inspect(kernel, "inspected", 4)
    assert reply["found"]
    assert "Vec<u32>" in reply["data"]["text/plain"]
    assert "Value: len=3: [1, 2, 3]" in reply["data"]["text/plain"]


@pytest.mark.parametrize(
    "code,expected",
    [
        ("%ti", ["%time", "%timeit"]),
        ("%lprun -", ["-f", "-u", "-s", "-z", "-r", "-T", "-D"]),
        ("%lprun -f d", ["distance"]),
        ("%%mp", ["%%mpirun"]),
        (":de", [":dep"]),
    ],
)
def test_completion_of_magics(kernel, code, expected):
    reply = complete(kernel, code)
    for m in expected:
        assert m in reply["matches"], reply
    # `%ti` also offers `%%time` and `%%timeit`, as IPython does.
    typed = code[reply["cursor_start"]:].lstrip("%")
    assert all(m.lstrip("%").startswith(typed) for m in reply["matches"]), reply


def test_who_and_whos(kernel):
    ok(kernel, 'let whos_n = 42u64;\nlet whos_name = String::from("parlab");\nstruct Opaque;\nlet whos_opaque = Opaque;')
    names = ok(kernel, "%who").stdout.split()
    assert {"whos_n", "whos_name", "whos_opaque"} <= set(names)
    u64s = ok(kernel, "%who u64").stdout.split()
    assert "whos_n" in u64s and "whos_name" not in u64s
    table = ok(kernel, "%whos").stdout.splitlines()
    assert table[0].split() == ["Variable", "Type", "Data/Info"]
    assert set(table[1]) == {"-"} and len(table[1]) == len(table[0])
    rows = {line.split()[0]: line for line in table[2:]}
    assert rows["whos_n"].split()[1:] == ["u64", "42"]
    assert rows["whos_name"].endswith('"parlab"')
    assert rows["whos_opaque"].endswith("<no Debug>")
    # The Data/Info column starts where the header says.
    assert rows["whos_n"].index("42") == table[0].index("Data/Info")


def test_env_acts_on_the_evaluation_process(kernel):
    assert ok(kernel, "%env PARLAB_TEST_VAR=hello world").stdout == "env: PARLAB_TEST_VAR=hello world\n"
    assert ok(kernel, "%env PARLAB_TEST_VAR").stdout == "hello world\n"
    assert ok(kernel, 'std::env::var("PARLAB_TEST_VAR").unwrap()').result == '"hello world"'
    assert "PARLAB_TEST_VAR=hello world\n" in ok(kernel, "%env").stdout
    cell = ok(kernel, "%env PARLAB_OTHER 1\nlet seen = std::env::var(\"PARLAB_OTHER\").unwrap();\nseen")
    assert cell.result == '"1"'
    assert "does not have key" in ok(kernel, "%env PARLAB_UNSET_XYZ").stderr


def test_display_blocks_are_display_data_and_the_value_stays(kernel):
    cell = ok(
        kernel,
        'println!("EVCXR_BEGIN_CONTENT text/html\\n<b>one</b>\\nEVCXR_END_CONTENT");\n'
        'println!("EVCXR_BEGIN_CONTENT text/html\\n<b>two</b>\\nEVCXR_END_CONTENT");\n'
        "5",
    )
    kinds = [m["msg_type"] for m in cell.msgs if m["msg_type"] != "execute_input"]
    assert kinds == ["display_data", "display_data", "execute_result"], kinds
    shown = [c["data"]["text/html"] for c in cell.of("display_data")]
    assert shown == ["<b>one</b>", "<b>two</b>"]
    assert cell.of("execute_result")[0]["data"] == {"text/plain": "5"}
    assert cell.stdout == ""


def test_a_runtime_value_stays_the_execute_result(kernel):
    ok(kernel, "let timed = %timeit -o -q -n 1 -r 1 1 + 1;")
    cell = ok(kernel, "timed")
    assert cell.of("display_data") == []
    data = cell.of("execute_result")[0]["data"]
    assert "text/html" in data and "per loop" in data["text/plain"]
