"""%%mpirun end to end: cells built as MPI programs and run on Open MPI.

Needs `mpirun` (openmpi-bin) and, to build the program, libopenmpi-dev and
libclang-dev; install.sh installs them where it can. Without mpirun every
test here is skipped except the one that checks the message a user gets
when it is missing.

The first %%mpirun cell on a fresh machine compiles the mpi crate and the
runtime's dependencies into ~/.cache/parlab/mpirun (a few minutes on 2
cores); later cells rebuild only their own main.rs.
"""
import os
import queue
import shutil
import subprocess
import time

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import FIRST_CELL_TIMEOUT, rank_lines, run

HAVE_MPIRUN = shutil.which("mpirun") is not None
needs_mpirun = pytest.mark.skipif(
    not HAVE_MPIRUN,
    reason="mpirun not found: install openmpi-bin libopenmpi-dev libclang-dev (install.sh does, as root)",
)
BUILD_TIMEOUT = 1800  # the first build on a cold cache

SETUP = """\
const N: u64 = 10_000;
fn square(x: u64) -> u64 {
    x * x
}
struct Acc {
    total: u64,
}
impl Acc {
    fn add(&mut self, x: u64) {
        self.total += x;
    }
}
fn unhappy(rank: i32) -> u64 {
    if rank == 1 {
        panic!("rank {rank} is unhappy");
    }
    7
}
let kept = 41u64;
"""


@pytest.fixture(scope="module")
def mpi_kernel(kernel):
    if not HAVE_MPIRUN:
        pytest.skip("mpirun not found: install openmpi-bin libopenmpi-dev libclang-dev")
    setup = run(kernel, SETUP)
    assert setup.status == "ok", setup.msgs
    return kernel


def still_alive(kc):
    """Earlier variables survive every %%mpirun cell."""
    after = run(kc, "kept + 1")
    assert after.status == "ok", after.msgs
    assert after.result == "42"


# What the kernel itself may say on stderr while building.
NOTICES = ("Building the MPI program", "Waiting for another kernel")


REDUCE = """\
%%mpirun {args}
let mine = split_range(0..N, rank, size);
let local: u64 = mine.clone().map(square).sum();
println!("{{}} items", mine.end - mine.start);
eprintln!("rank {{rank}} of {{size}} on stderr");
if let Some(total) = reduce_sum_to_root(&world, local) {{
    println!("total {{total}}");
}}
"""
EXACT = sum(x * x for x in range(10_000))


@needs_mpirun
@pytest.mark.parametrize("args,ranks", [("-n 2", 2), ("-n 4 --oversubscribe", 4)])
def test_reduction_gives_the_exact_sum(mpi_kernel, args, ranks):
    cell = run(mpi_kernel, REDUCE.format(args=args), timeout=BUILD_TIMEOUT)
    assert cell.status == "ok", cell.msgs
    out = rank_lines(cell.stdout)
    assert sorted(out) == list(range(ranks))
    assert out[0][-1] == f"total {EXACT}"
    assert sum(int(lines[0].split()[0]) for lines in out.values()) == 10_000
    assert all(not any(l.startswith("total") for l in out[r]) for r in range(1, ranks))
    # stderr stays stderr, with its own prefixes; stdout has none of it.
    err = rank_lines("\n".join(l for l in cell.stderr.splitlines() if not l.startswith(NOTICES)))
    assert err == {r: [f"rank {r} of {ranks} on stderr"] for r in range(ranks)}
    assert "on stderr" not in cell.stdout
    still_alive(mpi_kernel)


@needs_mpirun
def test_notebook_items_are_in_scope(mpi_kernel):
    cell = run(mpi_kernel, """\
%%mpirun -n 2
let mut acc = Acc { total: 0 };
for i in split_range(0..N, rank, size) {
    acc.add(square(i) % 7);
}
let all = all_reduce_sum(&world, acc.total);
println!("{} {}", acc.total > 0, all);
""", timeout=BUILD_TIMEOUT)
    assert cell.status == "ok", cell.msgs
    expected = sum(x * x % 7 for x in range(10_000))
    assert {r: l[-1].split()[1] for r, l in rank_lines(cell.stdout).items()} == {0: str(expected), 1: str(expected)}
    still_alive(mpi_kernel)


@needs_mpirun
def test_dep_crates_reach_the_program(mpi_kernel):
    # A crate added with :dep (and a function using it) works in the ranks too.
    dep = run(mpi_kernel, ':dep itoa = "1"', timeout=BUILD_TIMEOUT)
    assert dep.status == "ok", dep.msgs
    f = run(mpi_kernel, "fn spelled(x: u64) -> String {\n    itoa::Buffer::new().format(x).to_owned()\n}")
    assert f.status == "ok", f.msgs
    cell = run(mpi_kernel, "%%mpirun -n 2\nprintln!(\"{}\", spelled(1000 + rank as u64));", timeout=BUILD_TIMEOUT)
    assert cell.status == "ok", cell.msgs
    assert rank_lines(cell.stdout) == {0: ["1000"], 1: ["1001"]}


@needs_mpirun
def test_same_cell_twice_reuses_the_binary(mpi_kernel):
    code = '%%mpirun -n 2\nprintln!("{}", std::env::current_exe().unwrap().display());'
    first = run(mpi_kernel, code, timeout=BUILD_TIMEOUT)
    assert first.status == "ok", first.msgs
    exe = rank_lines(first.stdout)[0][0]
    stamp = os.stat(exe).st_mtime_ns
    second = run(mpi_kernel, code)
    assert second.status == "ok", second.msgs
    assert rank_lines(second.stdout) == {0: [exe], 1: [exe]}
    assert os.stat(exe).st_mtime_ns == stamp
    assert "Building" not in second.stderr


@needs_mpirun
def test_panicking_rank_is_named(mpi_kernel):
    cell = run(mpi_kernel, """\
%%mpirun -n 2
println!("before");
let v = unhappy(rank);
world.barrier();
println!("after {v}");
""", timeout=BUILD_TIMEOUT)
    assert cell.status == "error"
    err = cell.error
    assert err["ename"] == "panic"
    assert err["evalue"] == "rank 1 panicked: rank 1 is unhappy"
    tb = "\n".join(err["traceback"])
    # The panic is placed in the cell that defined `unhappy`, on its line.
    assert "Rank 1, cell" in tb and 'panic!("rank {rank} is unhappy");' in tb
    assert "after" not in cell.stdout
    assert "[0] before" in cell.stdout
    still_alive(mpi_kernel)


@needs_mpirun
def test_failing_rank_exit_status(mpi_kernel):
    cell = run(mpi_kernel, "%%mpirun -n 2\nif rank == 1 {\n    std::process::exit(3);\n}\nworld.barrier();",
               timeout=BUILD_TIMEOUT)
    assert cell.status == "error"
    assert cell.error["ename"] == "MpiError"
    assert cell.error["evalue"] == "rank 1 exited with status 3"
    still_alive(mpi_kernel)


@needs_mpirun
def test_compile_errors_point_into_the_cell(mpi_kernel):
    cell = run(mpi_kernel, "%%mpirun -n 2\nlet a = 1;\nlet b = no_such_thing + a;", timeout=BUILD_TIMEOUT)
    assert cell.status == "error"
    assert cell.error["ename"] == "CompileError"
    assert "cannot find value `no_such_thing`" in cell.error["evalue"]
    tb = "\n".join(cell.error["traceback"])
    count = cell.reply["execution_count"]
    assert f"--> In[{count}]:3:9" in tb, tb
    assert "3  | let b = no_such_thing + a;" in tb or "3 | let b = no_such_thing + a;" in tb, tb
    assert "main.rs" not in tb
    still_alive(mpi_kernel)


@needs_mpirun
def test_display_from_a_rank(mpi_kernel):
    cell = run(mpi_kernel, '%%mpirun -n 2\nif rank == 0 {\n    parlab::display(parlab::MimeBundle::text("from rank 0").with_html("<b>0</b>"));\n}',
               timeout=BUILD_TIMEOUT)
    assert cell.status == "ok", cell.msgs
    shown = cell.of("display_data")
    assert [d["data"]["text/html"] for d in shown] == ["<b>0</b>"]
    assert "PARLAB" not in cell.stdout


@needs_mpirun
@pytest.mark.parametrize("magic,message", [
    ("%%mpirun\nx();", "%%mpirun: the number of ranks is required: %%mpirun -n N"),
    ("%%mpirun -n 0\nx();", "%%mpirun: -n must be a positive number of ranks, not `0`"),
    ("%%mpirun -n two\nx();", "%%mpirun: -n must be a positive number of ranks, not `two`"),
    ("%%mpirun -n 2 --frobnicate\nx();", "%%mpirun: option --frobnicate not recognized"),
    ("%%mpirun -n 2\n   \n", "%%mpirun: the cell has no code below the magic line"),
])
def test_usage_errors(mpi_kernel, magic, message):
    cell = run(mpi_kernel, magic)
    assert cell.status == "error"
    assert cell.error["ename"] == "UsageError"
    assert cell.error["evalue"].startswith(message), cell.error["evalue"]
    still_alive(mpi_kernel)


def processes_running(pattern):
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


@needs_mpirun
def test_interrupt_ends_every_rank(mpi_kernel):
    kc = mpi_kernel
    code = """\
%%mpirun -n 2
println!("pid {} exe {}", std::process::id(), std::env::current_exe().unwrap().display());
if rank == 1 {
    loop {}
}
world.barrier();
"""
    msg_id = kc.execute(code)
    stdout, msgs = "", []
    deadline = time.time() + BUILD_TIMEOUT
    while stdout.count("pid ") < 2:
        assert time.time() < deadline, f"ranks never started: {msgs}"
        try:
            msg = kc.get_iopub_msg(timeout=5)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        msgs.append(msg)
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            stdout += msg["content"]["text"]
    lines = {r: l[0].split() for r, l in rank_lines(stdout).items()}
    pids = [int(words[1]) for words in lines.values()]
    exe = lines[0][3]
    assert processes_running(exe), "the ranks should be running now"
    kc.km.interrupt_kernel()
    status = None
    while status != "idle":
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        msgs.append(msg)
        if msg["msg_type"] == "status":
            status = msg["content"]["execution_state"]
    reply = kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "error"
    errors = [m["content"] for m in msgs if m["msg_type"] == "error"]
    assert errors and errors[0]["ename"] == "KeyboardInterrupt", msgs
    assert "all 2 ranks were stopped" in errors[0]["evalue"]
    # Nothing is left: no rank, no mpirun running this program.
    for _ in range(50):
        if not processes_running(exe):
            break
        time.sleep(0.1)
    assert processes_running(exe) == []
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z")
    still_alive(kc)


def test_missing_mpirun_names_the_packages():
    env = dict(os.environ, PARLAB_MPIRUN="/nonexistent/parlab-test/mpirun")
    km, kc = start_new_kernel(kernel_name="parlab", startup_timeout=120, env=env)
    try:
        warm = run(kc, "let x = 1;", timeout=FIRST_CELL_TIMEOUT)
        assert warm.status == "ok", warm.msgs
        cell = run(kc, "%%mpirun -n 2\nprintln!(\"hi\");")
        assert cell.status == "error"
        assert cell.error["ename"] == "MpirunNotFound"
        for words in ["/nonexistent/parlab-test/mpirun", "openmpi-bin", "libopenmpi-dev"]:
            assert words in cell.error["evalue"]
        after = run(kc, "x + 1")
        assert after.result == "2"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
