"""Kernel latency, parlab side by side with evcxr_jupyter (issue 2).

    .venv/bin/python tests/bench_kernel.py [--evcxr PATH] [--rounds N]

Prints `name value unit` lines: each figure for both kernels and the
parlab / evcxr_jupyter ratio. The two kernels are measured in one run,
alternating cell by cell, so machine noise hits both alike.

- kernel_start_s: process start to the reply of the first cell (`1`),
  the wait a user sees after "Restart kernel" (both kernels compile their
  first cell against a warm build cache).
- plain_cell_s: median round trip (execute_request to idle) of `N + 1`.
- var_cell_s: median round trip of `let vN = vec![N; 1000]; vN.len()`,
  a cell that defines a variable evcxr must carry into the next cells.

parlab only (issues 3 and 5):
- timeit_magic_overhead_s: median latency of `%timeit -n 1 -r 1 N + 1`
  minus that of `N + 1`, cell for cell.
- first_pool_cell_s: process start of a fresh kernel to the reply of its
  first cell, `use parlab::prelude::*; Pool::new(2).map(...)`.

evcxr_jupyter is found on PATH or given with --evcxr (install it with
`cargo install evcxr_jupyter --version 0.22.0 --locked`).
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from jupyter_client.manager import KernelManager

sys.path.insert(0, os.path.dirname(__file__))
from conftest import run  # noqa: E402


def evcxr_spec(binary, root):
    d = os.path.join(root, "kernels", "evcxr_bench")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "kernel.json"), "w") as f:
        json.dump({"argv": [binary, "--control_file", "{connection_file}"],
                   "display_name": "evcxr (bench)", "language": "rust",
                   "interrupt_mode": "message"}, f)


def start(name):
    t0 = time.perf_counter()
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=600)
    cell = run(kc, "1", timeout=1800)
    assert cell.status == "ok", cell.msgs
    return km, kc, time.perf_counter() - t0


def timed(kc, code):
    t0 = time.perf_counter()
    cell = run(kc, code)
    dt = time.perf_counter() - t0
    assert cell.status == "ok", (code, cell.error)
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--evcxr", default=shutil.which("evcxr_jupyter"))
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--starts", type=int, default=3)
    args = ap.parse_args()
    if not args.evcxr:
        sys.exit("evcxr_jupyter not found: cargo install evcxr_jupyter --version 0.22.0 --locked")
    root = tempfile.mkdtemp(prefix="parlab-bench-")
    evcxr_spec(args.evcxr, root)
    os.environ["JUPYTER_PATH"] = root + os.pathsep + os.environ.get("JUPYTER_PATH", "")

    kernels = {"parlab": "parlab", "evcxr": "evcxr_bench"}
    starts = {k: [] for k in kernels}
    for i in range(args.starts):
        for k, name in kernels.items():
            km, kc, dt = start(name)
            starts[k].append(dt)
            if i + 1 < args.starts:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
            else:
                kernels[k] = (km, kc)
    plain = {k: [] for k in kernels}
    var = {k: [] for k in kernels}
    for n in range(args.rounds):
        for k, (_, kc) in kernels.items():
            plain[k].append(timed(kc, f"{n} + 1"))
        for k, (_, kc) in kernels.items():
            var[k].append(timed(kc, f"let v{n} = vec![{n}u64; 1000]; v{n}.len()"))
    overhead = []
    _, pkc = kernels["parlab"]
    for n in range(args.rounds):
        magic = timed(pkc, f"%timeit -n 1 -r 1 {n} + 1")
        overhead.append(magic - timed(pkc, f"{n} + 1"))
    for km, kc in kernels.values():
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    t0 = time.perf_counter()
    km = KernelManager(kernel_name="parlab")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=600)
    timed(kc, "use parlab::prelude::*;\nPool::new(2).map(|x: u64| x + 1, 0..4)")
    first_pool = time.perf_counter() - t0
    kc.stop_channels()
    km.shutdown_kernel(now=True)

    for name, data in [("kernel_start_s", starts), ("plain_cell_s", plain), ("var_cell_s", var)]:
        p, e = statistics.median(data["parlab"]), statistics.median(data["evcxr"])
        print(f"{name}_parlab {p:.3f} s")
        print(f"{name}_evcxr_jupyter {e:.3f} s")
        print(f"{name} {p / e:.2f} ratio")
    print(f"timeit_magic_overhead_s {statistics.median(overhead):.3f} s")
    print(f"first_pool_cell_s {first_pool:.2f} s")


if __name__ == "__main__":
    main()
