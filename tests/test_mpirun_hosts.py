"""%%mpirun across hosts: one rank on each of two hosts, over ssh.

The hosts are network namespaces this file makes itself (tests/netns_hosts.py:
a bridge, a veth pair and an sshd per host, a throwaway key), and removes
again, whatever happens. The kernel is started with the environment that
points Open MPI's ssh launcher at them (`Hosts.mpi_env`), as a user would
set it for a real cluster; the kernel passes its environment on to mpirun
unchanged.

Skips, saying why, where namespaces cannot be made: not root, no `ip`
(iproute2), no sshd (openssh-server), no mpirun. install.sh installs them
where it can, so CI runs every test here.
"""
import os
import shutil
import subprocess
import tempfile

import pytest
from jupyter_client.manager import start_new_kernel

import netns_hosts
from conftest import FIRST_CELL_TIMEOUT, rank_lines, run
from netns_hosts import Hosts, Unavailable

BUILD_TIMEOUT = 1800  # the first %%mpirun build on a cold cache

SETUP = """\
const N: u64 = 10_000;
fn square(x: u64) -> u64 {
    x * x
}
"""
EXACT = sum(x * x for x in range(10_000))

# Each rank says where it runs: its hostname (the host's UTS namespace) and
# the address it reaches the bridge from. Connecting a UDP socket sends
# nothing; it only picks the source address, which is the rank's own host's.
WHERE_AND_TOTAL = """\
%%mpirun -n 2 {hosts}
let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
probe.connect("{gateway}:9").unwrap();
let addr = probe.local_addr().unwrap().ip();
let local: u64 = split_range(0..N, rank, size).map(square).sum();
let total = all_reduce_sum(&world, local);
println!("{{}} {{}} {{}}", name.trim(), addr, total);
"""


def unavailable():
    if shutil.which("mpirun") is None:
        return "mpirun not found: install openmpi-bin libopenmpi-dev libclang-dev (install.sh does, as root)"
    return netns_hosts.missing_tools()


@pytest.fixture(scope="module")
def hosts():
    why = unavailable()
    if why:
        pytest.skip(f"no namespace hosts: {why}")
    try:
        with Hosts() as made:
            yield made
    except Unavailable as e:
        pytest.skip(f"no namespace hosts: {e}")


@pytest.fixture(scope="module")
def hosts_kernel(hosts):
    env = dict(os.environ, **hosts.mpi_env())
    km, kc = start_new_kernel(kernel_name="parlab", startup_timeout=120, env=env)
    try:
        setup = run(kc, SETUP, timeout=FIRST_CELL_TIMEOUT)
        assert setup.status == "ok", setup.msgs
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_all_reduce_with_one_rank_on_each_host(hosts, hosts_kernel):
    cell = run(hosts_kernel, WHERE_AND_TOTAL.format(hosts="-H hostA,hostB", gateway=hosts.gateway),
               timeout=BUILD_TIMEOUT)
    assert cell.status == "ok", (cell.error, cell.stdout, cell.stderr)
    a, b = hosts.addresses["hostA"], hosts.addresses["hostB"]
    # -H a,b gives each host one slot: rank 0 on hostA, rank 1 on hostB.
    assert rank_lines(cell.stdout) == {0: [f"hostA {a} {EXACT}"], 1: [f"hostB {b} {EXACT}"]}, cell.stderr
    after = run(hosts_kernel, "square(7)")
    assert after.result == "49"


def test_without_hosts_the_ranks_stay_here(hosts, hosts_kernel):
    # The control: the same program without -H runs both ranks on this
    # machine, which reaches the bridge from the bridge's own address; so
    # the test above could not pass with ranks that never left.
    cell = run(hosts_kernel, WHERE_AND_TOTAL.format(hosts="", gateway=hosts.gateway), timeout=BUILD_TIMEOUT)
    assert cell.status == "ok", (cell.error, cell.stdout, cell.stderr)
    here = open("/proc/sys/kernel/hostname").read().strip()
    line = f"{here} {hosts.gateway} {EXACT}"
    assert rank_lines(cell.stdout) == {0: [line], 1: [line]}, cell.stderr


def test_hosts_are_removed_even_when_the_body_fails():
    why = netns_hosts.missing_tools()
    if why:
        pytest.skip(f"no namespace hosts: {why}")
    made = None
    with pytest.raises(RuntimeError, match="the body failed"):
        try:
            with Hosts() as h:
                made = h
                assert h.ssh("hostB", "cat /proc/sys/kernel/hostname").strip() == "hostB"
                raise RuntimeError("the body failed")
        except Unavailable as e:
            pytest.skip(f"no namespace hosts: {e}")
    assert made is not None
    assert made.leftovers() == []


def test_leftovers_of_a_killed_run_are_removed():
    why = netns_hosts.missing_tools()
    if why:
        pytest.skip(f"no namespace hosts: {why}")
    # A process id that is certainly gone: a child that has been waited for.
    child = subprocess.Popen(["true"])
    child.wait()
    dead = child.pid
    ns, bridge = f"{netns_hosts.PREFIX}{dead}-0a", f"{netns_hosts.BRIDGE_PREFIX}{dead}-0"
    try:
        try:
            netns_hosts.sh("ip", "netns", "add", ns)
        except RuntimeError as e:
            pytest.skip(f"no namespace hosts: {e}")
        netns_hosts.sh("ip", "link", "add", bridge, "type", "bridge")
        keys = tempfile.mkdtemp(prefix=f"{netns_hosts.WORKDIR_PREFIX}{dead}-0-")
        netns_hosts.remove_stale()
        assert ns not in netns_hosts.sh("ip", "netns", "list").split()
        assert netns_hosts.sh("ip", "link", "show", bridge, check=False).strip() == ""
        assert not os.path.exists(keys)
    finally:
        netns_hosts.sh("ip", "netns", "del", ns, check=False)
        netns_hosts.sh("ip", "link", "del", bridge, check=False)
