"""End-to-end: a fresh kernel's first cells, which carry the process set-up.

The set-up call (and any pending `:dep` line) rides on the user's first
cell (kernel/src/engine/setup/), so these tests start kernels without the
warm-up cell the other modules' fixture runs.
"""
import json
import os
import re

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel

from conftest import FIRST_CELL_TIMEOUT, run

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(cell):
    return ANSI.sub("", "\n".join(cell.error["traceback"]))


def start(**env):
    return start_new_kernel(kernel_name="parlab", startup_timeout=120, env=dict(os.environ, **env))


@pytest.fixture
def fresh():
    km, kc = start()
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_first_cells_errors_are_drawn_on_the_users_lines(fresh):
    compile_error = run(fresh, 'let a = 1;\nlet x: u8 = "s";', timeout=FIRST_CELL_TIMEOUT)
    assert compile_error.error["ename"] == "CompileError"
    tb = plain(compile_error)
    assert "In[1]:2:13" in tb, tb
    assert '2 │ let x: u8 = "s";' in tb, tb
    assert "init" not in tb, tb

    # Nothing of the first cell ran, so the set-up rides on this one.
    panic = run(fresh, "let v = vec![1];\nlet y = v[5];")
    assert panic.error["ename"] == "panic"
    tb = plain(panic)
    assert "In[2], line 2" in tb and "----> 2" in tb, tb
    assert panic.stderr == ""
    assert run(fresh, "let kept = 7;").status == "ok"
    assert run(fresh, "kept * 6").result == "42"


def test_clear_keeps_the_set_up_and_the_runtime_comes_back(fresh):
    assert run(fresh, "%timeit -n 1 -r 1 1 + 1", timeout=FIRST_CELL_TIMEOUT).status == "ok"
    assert run(fresh, ":clear").status == "ok"
    panic = run(fresh, "let v: Vec<u8> = vec![];\nv[3]")
    assert panic.error["ename"] == "panic", panic.msgs
    assert "index out of bounds" in panic.error["evalue"]
    again = run(fresh, "%timeit -n 1 -r 1 2 + 2", timeout=FIRST_CELL_TIMEOUT)
    assert again.status == "ok", again.msgs
    assert "per loop" in "".join(c["data"]["text/plain"] for c in again.of("display_data"))


def test_an_unusable_prebuilt_child_falls_back_to_its_sources(tmp_path):
    # As when rustc was updated after install: the rlib is rejected.
    (tmp_path / "deps").mkdir()
    (tmp_path / "libparlab_child.rlib").write_bytes(b"not an rlib")
    km, kc = start(PARLAB_CHILD_RLIB=str(tmp_path / "libparlab_child.rlib"))
    try:
        first = run(kc, "let n = 20;\nn + 1", timeout=FIRST_CELL_TIMEOUT)
        assert first.status == "ok", first.msgs
        assert first.result == "21"
        panic = run(kc, 'panic!("boom {}", n);')
        assert panic.error["ename"] == "panic"
        assert panic.error["evalue"] == "boom 20"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_runtime_that_cannot_be_added_is_the_cells_error(tmp_path, monkeypatch):
    # A kernelspec whose runtime directory does not exist (the installed
    # spec's own `env` would override the test's environment).
    spec = KernelSpecManager().get_kernel_spec("parlab")
    d = tmp_path / "kernels" / "parlab_no_runtime"
    d.mkdir(parents=True)
    env = dict(spec.env, PARLAB_RUNTIME_DIR=str(tmp_path / "no-runtime-here"))
    (d / "kernel.json").write_text(json.dumps({"argv": spec.argv, "display_name": "x", "language": "rust", "env": env}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path) + os.pathsep + os.environ.get("JUPYTER_PATH", ""))
    km, kc = start_new_kernel(kernel_name="parlab_no_runtime", startup_timeout=120)
    try:
        assert run(kc, "let kept = 3;", timeout=FIRST_CELL_TIMEOUT).status == "ok"
        magic = run(kc, "%timeit -n 1 -r 1 kept + 1")
        assert magic.status == "error"
        assert "could not add parlab's runtime" in magic.error["evalue"], magic.error
        # Plain cells and variables are unaffected; the next magic tries again.
        assert run(kc, "kept * 2").result == "6"
        again = run(kc, "%timeit -n 1 -r 1 kept + 1")
        assert "could not add parlab's runtime" in again.error["evalue"], again.error
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
