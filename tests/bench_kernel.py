"""Kernel latency, parlab side by side with evcxr_jupyter (issues 2 and 11).

    .venv/bin/python tests/bench_kernel.py [--evcxr PATH] [--rounds N] [--starts N]

Prints `name value unit` lines: each figure for both kernels and the
parlab / evcxr_jupyter ratio. The two kernels are measured in one run,
alternating cell by cell, so machine noise hits both alike.

- kernel_start_s: process start to the reply of the first cell (`1`),
  the wait a user sees after "Restart kernel" (both kernels compile their
  first cell against a warm build cache).
- plain_cell_s: median round trip (execute_request to idle) of `N + 1`
  in a bare session.
- var_cell_s: median round trip of `let vN = vec![N; 1000]; vN.len()`,
  a cell that defines a variable evcxr must carry into the next cells.
- plain_cell_loaded_s: `N + 1` once `ndarray`, `rayon` and the runtime
  `parlab` are dependencies and in use (both kernels get the same crates:
  evcxr_jupyter through `:dep parlab = { path = … }`).
- dep_cell_s: `a.sum()` on an ndarray array defined earlier.
- growth_ms_per_def: how much a plain cell slows per definition, after 100
  cells that each define a `fn` and a `let` (evcxr compiles every earlier
  item into every cell).
- threads_growth_4_parallel_cells: threads of the evaluation process after
  the fourth of four cells that each run a rayon `par_iter`, minus after
  the first.

parlab only:
- timeit_magic_overhead_s: median latency of `%timeit -n 1 -r 1 N + 1`
  minus that of `N + 1`, cell for cell.
- first_pool_cell_s: process start of a fresh kernel to the reply of its
  first cell, `use parlab::prelude::*; Pool::new(2).map(...)`.
- second_kernel_first_runtime_cell_s: the same, for a kernel started while
  another runs, in a build slot that no kernel has used (it starts from
  the seed install.sh leaves).
- second_kernel_then_first_let_cell_s: that kernel's next cell, which
  defines a variable: it waits for what is left of rust-analyzer's
  analysis of the new crates, which ran behind the first cell.

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
from pathlib import Path

from jupyter_client.manager import KernelManager

sys.path.insert(0, os.path.dirname(__file__))
from conftest import run, seeded_cache  # noqa: E402

RUNTIME = Path(__file__).resolve().parent.parent / "runtime"
THREADS = ('std::fs::read_to_string("/proc/self/status").unwrap().lines()'
           '.find(|l| l.starts_with("Threads:")).unwrap()'
           '.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()')


def evcxr_spec(binary, root):
    d = os.path.join(root, "kernels", "evcxr_bench")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "kernel.json"), "w") as f:
        json.dump({"argv": [binary, "--control_file", "{connection_file}"],
                   "display_name": "evcxr (bench)", "language": "rust",
                   "interrupt_mode": "message"}, f)


def start(name, env=None, first="1"):
    t0 = time.perf_counter()
    km = KernelManager(kernel_name=name)
    km.start_kernel(env=env or dict(os.environ))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=600)
    cell = run(kc, first, timeout=1800)
    assert cell.status == "ok", cell.msgs
    return km, kc, time.perf_counter() - t0


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def timed(kc, code):
    t0 = time.perf_counter()
    cell = run(kc, code, timeout=1800)
    dt = time.perf_counter() - t0
    assert cell.status == "ok", (code, cell.error)
    return dt, cell


def medians_side_by_side(kernels, code_of, rounds):
    """Median round trip of `code_of(n)` in each kernel, alternating."""
    times = {k: [] for k in kernels}
    for n in range(rounds):
        for k, kc in kernels.items():
            times[k].append(timed(kc, code_of(n))[0])
    return {k: statistics.median(v) for k, v in times.items()}


def report(name, values, unit="s"):
    p, e = values["parlab"], values["evcxr"]
    print(f"{name}_parlab {p:.3f} {unit}")
    print(f"{name}_evcxr_jupyter {e:.3f} {unit}")
    print(f"{name} {p / e:.2f} ratio")


def second_kernel():
    """Start → first runtime cell of a kernel in a never-used slot, while
    another kernel runs; both in a cache that shares the real seed."""
    tmp = Path(tempfile.mkdtemp(prefix="parlab-bench-cache-"))
    env = seeded_cache(tmp / "cache")
    km1, kc1, _ = start("parlab", env)
    try:
        km2, kc2, dt = start("parlab", env, first="use parlab::prelude::*;\nPool::new(2).map(|x: u64| x + 1, 0..4u64)")
        # rust-analyzer's analysis of the new crates ran behind that cell;
        # the first cell defining a variable waits for what is left of it.
        let_s = timed(kc2, "let v = Pool::new(2).map(|x: u64| x + 1, 0..4u64); v.len()")[0]
        stop(km2, kc2)
    finally:
        stop(km1, kc1)
        shutil.rmtree(tmp, ignore_errors=True)
    return dt, let_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--evcxr", default=shutil.which("evcxr_jupyter"))
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--defs", type=int, default=100)
    args = ap.parse_args()
    if not args.evcxr:
        sys.exit("evcxr_jupyter not found: cargo install evcxr_jupyter --version 0.22.0 --locked")
    root = tempfile.mkdtemp(prefix="parlab-bench-")
    evcxr_spec(args.evcxr, root)
    os.environ["JUPYTER_PATH"] = root + os.pathsep + os.environ.get("JUPYTER_PATH", "")

    names = {"parlab": "parlab", "evcxr": "evcxr_bench"}
    managers, kernels = {}, {}
    starts = {k: [] for k in names}
    for i in range(args.starts):
        for k, name in names.items():
            km, kc, dt = start(name)
            starts[k].append(dt)
            if i + 1 < args.starts:
                stop(km, kc)
            else:
                managers[k], kernels[k] = km, kc
    start_s = {k: statistics.median(v) for k, v in starts.items()}
    try:
        figures = measure(args, kernels)
    finally:
        for k in kernels:
            stop(managers[k], kernels[k])
    report_all(args, start_s, *figures)


def measure(args, kernels):
    """The per-cell figures, kernels alternating cell by cell."""
    plain = medians_side_by_side(kernels, lambda n: f"{n} + 1", args.rounds)
    var = medians_side_by_side(kernels, lambda n: f"let v{n} = vec![{n}u64; 1000]; v{n}.len()", args.rounds)
    overhead = []
    for n in range(args.rounds):
        magic = timed(kernels["parlab"], f"%timeit -n 1 -r 1 {n} + 1")[0]
        overhead.append(magic - timed(kernels["parlab"], f"{n} + 1")[0])

    # The same crates in both sessions, each used once.
    for k, kc in kernels.items():
        timed(kc, f':dep ndarray = "0.16"\n:dep rayon = "1"\n:dep parlab = {{ path = "{RUNTIME}" }}\n'
                  "use parlab::prelude::*;\nuse rayon::prelude::*;\n"
                  "let a = ndarray::Array1::<f64>::ones(1000);\nPool::new(2).map(|x: u64| x + 1, 0..4u64).len()")
    threads = {}
    for k, kc in kernels.items():
        counts = [int(timed(kc, f"let t{n}: u64 = (0..100_000u64).into_par_iter().sum();\n{THREADS}")[1].result)
                  for n in range(4)]
        threads[k] = counts[-1] - counts[0]
    loaded = medians_side_by_side(kernels, lambda n: f"{n} + 1", args.rounds)
    dep = medians_side_by_side(kernels, lambda n: f"a.sum() + {n}.0", args.rounds)
    for n in range(args.defs):
        for kc in kernels.values():
            timed(kc, f"fn f{n}(x: u64) -> u64 {{ x + {n} }}\nlet d{n} = f{n}({n});")
    after = medians_side_by_side(kernels, lambda n: f"{n} + 1", args.rounds)
    growth = {k: (after[k] - loaded[k]) / args.defs * 1000 for k in kernels}
    return plain, var, overhead, loaded, dep, growth, threads


def report_all(args, start_s, plain, var, overhead, loaded, dep, growth, threads):
    t0 = time.perf_counter()
    km, kc, _ = start("parlab", first="use parlab::prelude::*;\nPool::new(2).map(|x: u64| x + 1, 0..4u64)")
    first_pool = time.perf_counter() - t0
    stop(km, kc)
    second, second_let = second_kernel()

    report("kernel_start_s", start_s)
    report("plain_cell_s", plain)
    report("var_cell_s", var)
    report("plain_cell_loaded_s", loaded)
    report("dep_cell_s", dep)
    print(f"growth_ms_per_def_parlab {growth['parlab']:.2f} ms")
    print(f"growth_ms_per_def_evcxr_jupyter {growth['evcxr']:.2f} ms")
    print(f"threads_growth_4_parallel_cells_parlab {threads['parlab']} threads")
    print(f"threads_growth_4_parallel_cells_evcxr_jupyter {threads['evcxr']} threads")
    print(f"timeit_magic_overhead_s {statistics.median(overhead):.3f} s")
    print(f"first_pool_cell_s {first_pool:.2f} s")
    print(f"second_kernel_first_runtime_cell_s {second:.2f} s")
    print(f"second_kernel_then_first_let_cell_s {second_let:.2f} s")


if __name__ == "__main__":
    main()
