"""Compiles, once, what a new kernel would otherwise make its first cells wait for.

A kernel builds cells in its build slot (`~/.cache/parlab/slots/N`, see
`kernel/src/engine/slot.rs`), whose `target/` keeps every dependency it has
compiled. This script fills the slot a kernel takes when nothing else runs
(slot 0):

1. the runtime `parlab` and its dependencies (every kernel links them),
   with the shared library that holds them (`kernel/src/engine/setup/shared.rs`);
2. for each notebook in `notebooks/`, its `:dep` lines, replayed cell by
   cell in the notebook's order in a fresh kernel, exactly as running the
   notebook would.

Replaying the notebook's own lines matters. evcxr rewrites the slot's
`Cargo.toml` from the session's dependency set at every build, and cargo
reuses an artifact only for the same crate version, features and profile.
Adding `ndarray` changes the features of crates the runtime shares with it,
so the set {parlab, ndarray} is a build of its own. Replaying each
notebook's own sets, in its own order, gives cargo every artifact the
notebook will ask for. Identical sequences (01 and 02 both add only
`ndarray`) are built once.

3. Then `parlab-kernel seed` copies slot 0 to the seed that new slots start
   from, so a second kernel started while the first runs is warm too.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
BASE = "use parlab::prelude::*; 1 + 1"


def dep_cells(path):
    """The notebook's `:dep` lines, one string per code cell that has any."""
    cells = []
    for c in json.loads(path.read_text())["cells"]:
        if c["cell_type"] != "code":
            continue
        source = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        deps = [line.strip() for line in source.splitlines() if line.strip().startswith(":dep ")]
        if deps:
            cells.append("\n".join(deps))
    return tuple(cells)


def show_streams(msg):
    """Prints cargo's progress (stream output) and nothing else."""
    if msg["msg_type"] == "stream":
        print(msg["content"]["text"], end="", flush=True)


def warm(label, cells):
    """Runs BASE and then `cells` in a fresh kernel; False if a cell failed."""
    t0 = time.time()
    km, kc = start_new_kernel(kernel_name="parlab", startup_timeout=600)
    try:
        for code in (BASE, *cells):
            reply = kc.execute_interactive(code, timeout=1800, output_hook=show_streams)
            status = reply["content"]["status"]
            if status != "ok":
                print(f"warm-up {label}: {code!r} ended with {status}")
                return False
        print(f"warm-up {label}: ok after {time.time() - t0:.0f} s")
        return True
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main():
    runs = {(): "runtime"}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = dep_cells(path)
        if cells and cells not in runs:
            lines = [line for c in cells for line in c.splitlines()]
            runs[cells] = f"{path.name} ({'; '.join(lines)})"
    ok = all([warm(label, cells) for cells, label in runs.items()])
    # New build slots (a second kernel while the first runs) start from a
    # copy of this one (kernel/src/engine/slot.rs).
    kernel = Path(__file__).resolve().parent.parent / "target" / "release" / "parlab-kernel"
    ok = subprocess.run([str(kernel), "seed"]).returncode == 0 and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
