"""%%mpirun costs and MPI efficiency, through the real kernel (issue 7).

    .venv/bin/python tests/bench_mpirun.py [--rounds N]

Prints `name value unit` lines (lines starting with `#` are notes):

- mpirun_cell_overhead_s: median round trip (execute_request to idle) of
  `%%mpirun -n 2` around an empty body (`let _ = rank;`), with its binary
  already built: mpirun's launch and teardown, MPI_Init/MPI_Finalize, and
  the kernel's share (finding the cached binary, relaying output). For
  scale, the same figure is printed for a plain cell and for mpirun run
  directly from a shell on the same binary.
- mpirun_interrupt_s: from interrupt_request to the cell's reply for a
  2-rank job whose rank 1 spins in `loop {}`.
- mpi_efficiency_2ranks: serial time / (2 x time on 2 ranks) of the pool
  benchmark's uniform workload (32 tasks of 2,000,000 xorshift steps,
  runtime/examples/bench_pool.rs), both timed inside the MPI program
  (`-n 1` and `-n 2`, from a barrier to the result on rank 0), so launch
  cost is not counted: it is mpirun_cell_overhead_s. Best of N
  alternating runs. Goal >= 0.9, the pool's bar.

Needs mpirun (install.sh installs Open MPI where it can).
"""
import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from conftest import run, start_parlab  # noqa: E402

SETUP = """\
const TASKS: u64 = 32;
/// The pool benchmark's uniform task: opaque seed and length.
fn spin(seed: u64) -> u64 {
    let mut x = std::hint::black_box(seed) | 1;
    for _ in 0..std::hint::black_box(2_000_000u32) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}
"""

WORK = """\
%%mpirun -n {n}
let mine = split_range(0..TASKS, rank, size);
world.barrier();
let start = std::time::Instant::now();
let local = mine.map(spin).fold(0u64, |a, x| a ^ x);
let all = reduce_sum_to_root(&world, local & 0xffff);
if let Some(total) = all {{
    println!("seconds {{:.6}} check {{total}}", start.elapsed().as_secs_f64());
}}
"""

EMPTY = "%%mpirun -n 2\nlet _ = rank;"
HANG = '%%mpirun -n 2\nprintln!("up");\nif rank == 1 {\n    loop {}\n}\nworld.barrier();'


def round_trip(kc, code):
    t0 = time.perf_counter()
    cell = run(kc, code, timeout=1800)
    dt = time.perf_counter() - t0
    assert cell.status == "ok", (code, cell.error)
    return dt, cell


def work_seconds(kc, n):
    _, cell = round_trip(kc, WORK.format(n=n))
    line = [l for l in cell.stdout.splitlines() if l.startswith("[0] seconds")][0]
    return float(line.split()[2])


def interrupt_seconds(kc):
    msg_id = kc.execute(HANG)
    seen = 0
    while seen < 2:
        msg = kc.get_iopub_msg(timeout=600)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            seen += msg["content"]["text"].count("up")
    t0 = time.perf_counter()
    kc.km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=60)
    dt = time.perf_counter() - t0
    assert reply["content"]["status"] == "error"
    # Drain the cell's iopub messages.
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            break
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" \
                and msg["content"]["execution_state"] == "idle":
            break
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if shutil.which("mpirun") is None:
        sys.exit("mpirun not found: install openmpi-bin libopenmpi-dev libclang-dev")
    km, kc = start_parlab()
    kc.km = km
    try:
        assert run(kc, SETUP).status == "ok"
        # Build (or find) every program once before measuring.
        for code in (EMPTY, WORK.format(n=1), WORK.format(n=2)):
            round_trip(kc, code)
        _, cell = round_trip(kc, "%%mpirun -n 1\nprintln!(\"{}\", std::env::current_exe().unwrap().display());")
        print(f"# {os.cpu_count()} cores; {args.rounds} rounds")

        plain, empty, direct = [], [], []
        exe = cell.stdout.split("] ", 1)[1].strip()
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        for _ in range(args.rounds):
            plain.append(round_trip(kc, "1")[0])
            empty.append(round_trip(kc, EMPTY)[0])
            t0 = time.perf_counter()
            subprocess.run(["mpirun", "--tag-output", "-n", "2", exe], env=env, check=True, capture_output=True)
            direct.append(time.perf_counter() - t0)
        print(f"# medians: plain cell `1` {statistics.median(plain):.3f} s; "
              f"mpirun -n 2 from a shell on a one-line program (no kernel) {statistics.median(direct):.3f} s")
        print(f"mpirun_cell_overhead_s {statistics.median(empty):.3f} s")

        stops = [interrupt_seconds(kc) for _ in range(3)]
        print(f"mpirun_interrupt_s {statistics.median(stops):.3f} s")

        serial, parallel = float("inf"), float("inf")
        for _ in range(args.rounds):
            serial = min(serial, work_seconds(kc, 1))
            parallel = min(parallel, work_seconds(kc, 2))
        print(f"# 32 uniform tasks: -n 1 {serial * 1e3:.1f} ms, -n 2 {parallel * 1e3:.1f} ms (best of {args.rounds})")
        print(f"mpi_efficiency_2ranks {serial / (2 * parallel):.3f} ratio")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
