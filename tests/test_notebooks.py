"""The course notebooks, executed headless against the installed `parlab` kernel.

Every `notebooks/*.ipynb` is picked up (a notebook added later needs no
change here): it must run top to bottom without an error output, and the
checks registered for it in `notebook_checks/` must pass on the fresh
outputs (claims about speed only warn there) and on the committed ones (notebooks are committed executed, so
they read well on a code host). Each notebook is executed once per session
and shared by its tests.
"""
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from notebook_checks import CHECKS, error_outputs, fresh_run

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
# A cold build slot compiles the runtime and the notebook's `:dep`s first.
CELL_TIMEOUT = 1200

_runs = {}


def executed(name):
    """The notebook after a fresh run (cached); fails the test if it did not run."""
    if name not in _runs:
        nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        client = NotebookClient(
            nb,
            timeout=CELL_TIMEOUT,
            kernel_name="parlab",
            resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        )
        try:
            client.execute()
            _runs[name] = nb
        except CellExecutionError as e:
            _runs[name] = e
    run = _runs[name]
    if isinstance(run, Exception):
        pytest.fail(f"{name} stopped on an error:\n{run}", pytrace=False)
    return run


def committed(name):
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


CHECK_CASES = [
    pytest.param(nb, check_name, id=f"{nb}::{check_name}")
    for nb, checks in sorted(CHECKS.items())
    for check_name in checks
]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_without_errors(name):
    nb = executed(name)
    assert error_outputs(nb) == []
    unrun = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip() and c.execution_count is None]
    assert unrun == [], f"code cells that did not run: {unrun}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_has_outputs_of_a_clean_run(name):
    nb = committed(name)
    assert nb.metadata.get("kernelspec", {}).get("name") == "parlab"
    assert nb.metadata.get("language_info", {}).get("name") == "rust"
    assert error_outputs(nb) == []
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code]
    assert None not in counts, "commit the notebook executed (jupyter nbconvert --execute --inplace)"
    assert counts == list(range(1, len(code) + 1)), f"not one run top to bottom: {counts}"


@pytest.mark.parametrize("name,check_name", CHECK_CASES)
def test_checks_on_fresh_run(name, check_name):
    assert name in NOTEBOOKS, f"checks registered for a missing notebook {name}"
    nb = executed(name)
    with fresh_run():
        CHECKS[name][check_name](nb)


@pytest.mark.parametrize("name,check_name", CHECK_CASES)
def test_checks_on_committed_outputs(name, check_name):
    assert name in NOTEBOOKS, f"checks registered for a missing notebook {name}"
    CHECKS[name][check_name](committed(name))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_notebook_says_seed(name):
    """The Python originals are "the Python notes" to a student, never
    "the seed" (a word from how the course was written): not in the prose,
    not in the code (a `seed` variable included), case-insensitive."""
    word = re.compile(r"\bseeds?\b", re.I)
    found = [
        (i, line.strip())
        for i, c in enumerate(committed(name).cells)
        for line in c.source.splitlines()
        if word.search(line)
    ]
    assert found == [], f"{name} says 'seed' in cells: {found}"
