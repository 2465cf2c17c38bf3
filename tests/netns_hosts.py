"""Two throwaway "hosts" on this machine, for testing %%mpirun across hosts.

Each host is a network namespace with its own address, joined to a bridge
in the root namespace by a veth pair, with its own hostname (a UTS
namespace) and its own sshd, which accepts one throwaway key as root. The
hosts share this machine's filesystem, as a cluster shares a home
directory: the MPI binary the kernel builds is at the same path on every
host, so mpirun needs nothing copied.

    10.213.K.1  bridge plb<tag>     (root namespace: mpirun, the kernel)
    10.213.K.2  hostA               (namespace parlab-<tag>a, sshd)
    10.213.K.3  hostB               (namespace parlab-<tag>b, sshd)

(<tag> is <pid>-<n>: the process id, and a count of the process's Hosts.)

K is the first /24 from 10.213.1.0 on that no route or address of the
machine already covers. `hostA` and `hostB` resolve through an ssh config
of their own (`Host hostA / HostName 10.213.K.2`), which Open MPI's ssh
launcher is told to use (`OMPI_MCA_plm_rsh_args=-F <config>`), so nothing
global changes: no /etc/hosts entry, nothing in ~/.ssh. The only global
trace, /run/sshd (sshd's privilege-separation directory), is removed
again if it was made here.

Everything made is undone in reverse order on exit, whatever happened,
and a run that was killed before it could clean up (SIGKILL) is cleaned up
by the next one: every name carries the owning process id, and what
belongs to a dead process is removed.

Creating namespaces needs root, `ip` (iproute2), `unshare` (util-linux),
`sshd` (openssh-server), `ssh` and `ssh-keygen`; `Unavailable` says which
is missing, for a clear skip.
"""
import ipaddress
import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

SSHD = "/usr/sbin/sshd"
PREFIX = "parlab-"  # namespaces: parlab-<tag>a
BRIDGE_PREFIX = "plb"  # bridge: plb<tag>; veths: plv<tag>a (bridge side)
RANGE = ipaddress.ip_network("10.213.0.0/16")
PRIVSEP_DIR = Path("/run/sshd")
WORKDIR_PREFIX = "parlab-hosts-"  # keys and configs: $TMPDIR/parlab-hosts-<tag>-XXXX
PRIVSEP_MARK = "made-run-sshd"  # in the workdir: this run made /run/sshd


class Unavailable(Exception):
    """Namespaces (or sshd) cannot be had here; the message says why."""


def sh(*args, check=True, **kwargs):
    """Runs a command, returning its stdout; failures carry its stderr."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, **kwargs)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def missing_tools():
    """Why namespace hosts cannot be made here, or None."""
    if os.geteuid() != 0:
        return "not root: creating network namespaces needs root"
    for tool, package in [("ip", "iproute2"), ("unshare", "util-linux"), ("ssh", "openssh-client"),
                          ("ssh-keygen", "openssh-client")]:
        if shutil.which(tool) is None:
            return f"`{tool}` not found (install {package}; install.sh does, as root)"
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} not found (install openssh-server; install.sh does, as root)"
    return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_namespace_processes(ns):
    """SIGKILL to every process in namespace `ns` (sshd, its sessions, orted, ranks)."""
    for _ in range(20):
        pids = [int(p) for p in sh("ip", "netns", "pids", ns, check=False).split()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def remove_stale():
    """Removes the namespaces, bridges and key directories of earlier runs
    whose process is gone (killed before it could clean up)."""
    for line in sh("ip", "netns", "list", check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(rf"{PREFIX}(\d+)-\d+[a-z]+", name)
        if m and not pid_alive(int(m.group(1))):
            kill_namespace_processes(name)
            sh("ip", "netns", "del", name, check=False)
    for line in sh("ip", "-o", "link", "show", "type", "bridge", check=False).splitlines():
        m = re.match(rf"\d+: ({BRIDGE_PREFIX}(\d+)-\d+):", line)
        if m and not pid_alive(int(m.group(2))):
            sh("ip", "link", "del", m.group(1), check=False)  # its veths go with their namespaces
    for workdir in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        m = re.match(rf"{WORKDIR_PREFIX}(\d+)-", workdir.name)
        if m and not pid_alive(int(m.group(1))):
            if (workdir / PRIVSEP_MARK).exists():
                remove_privsep_dir()
            shutil.rmtree(workdir, ignore_errors=True)  # the keys of a killed run


def remove_privsep_dir():
    """Removes /run/sshd, unless an sshd (started elsewhere meanwhile) needs it."""
    if not [p for p in sh("pgrep", "-x", "sshd", check=False).split() if not _zombie(p)]:
        try:
            PRIVSEP_DIR.rmdir()
        except OSError:
            pass


def free_subnet():
    """The first 10.213.K.0/24 that nothing on this machine uses yet."""
    used = []
    for cmd in (["ip", "-4", "-o", "route", "show", "table", "all"], ["ip", "-4", "-o", "addr", "show"]):
        for word in sh(*cmd, check=False).split():
            try:
                used.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                continue
    for net in RANGE.subnets(new_prefix=24):
        if net.network_address.packed[2] == 0:
            continue
        if not any(net.overlaps(u) for u in used if u.version == 4 and u.prefixlen > 0):
            return net
    raise RuntimeError(f"no free /24 left in {RANGE}")


class Hosts:
    """A context manager: two namespace hosts with sshd, undone on exit.

    Attributes once entered: `names` ("hostA", "hostB"), `addresses`
    {name: "10.213.K.n"}, `gateway` (the bridge's address), `subnet`,
    `namespaces`, `bridge`, `workdir` (keys and configs), `ssh_config`,
    and `mpi_env()`, the environment a kernel needs to reach them.
    """

    def __init__(self, names=("hostA", "hostB")):
        self.names = list(names)
        self._undo = ExitStack()
        self.made_privsep_dir = False

    # -- set-up ------------------------------------------------------------

    def __enter__(self):
        why = missing_tools()
        if why:
            raise Unavailable(why)
        try:
            self._set_up()
        except BaseException:
            self._undo.close()
            raise
        return self

    def __exit__(self, *exc):
        self._undo.close()
        return False

    def _set_up(self):
        remove_stale()
        # Unique among the process's live instances, and names stay within
        # Linux's 15 characters (plv4194304-9ai).
        tag = f"{os.getpid()}-{next(_instances)}"
        self.subnet = free_subnet()
        hosts = list(self.subnet.hosts())
        self.gateway = str(hosts[0])
        self.addresses = {name: str(hosts[i + 1]) for i, name in enumerate(self.names)}
        self.bridge = f"{BRIDGE_PREFIX}{tag}"
        self.namespaces = {}
        prefix = self.subnet.prefixlen

        self.workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{tag}-"))
        self._undo.callback(shutil.rmtree, self.workdir, ignore_errors=True)

        try:
            sh("ip", "netns", "add", f"{PREFIX}{tag}probe")
        except RuntimeError as e:
            raise Unavailable(f"cannot create a network namespace here: {e}") from e
        sh("ip", "netns", "del", f"{PREFIX}{tag}probe")

        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self._undo.callback(sh, "ip", "link", "del", self.bridge, check=False)
        sh("ip", "addr", "add", f"{self.gateway}/{prefix}", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")

        for i, name in enumerate(self.names):
            letter = "ab"[i]
            ns = f"{PREFIX}{tag}{letter}"
            outer, inner = f"plv{tag}{letter}", f"plv{tag}{letter}i"
            sh("ip", "netns", "add", ns)
            self._undo.callback(sh, "ip", "netns", "del", ns, check=False)
            self._undo.callback(kill_namespace_processes, ns)
            self.namespaces[name] = ns
            sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            # Deleting one end deletes the pair; after the move, the
            # namespace's deletion does it too.
            self._undo.callback(sh, "ip", "link", "del", outer, check=False)
            sh("ip", "link", "set", inner, "netns", ns)
            sh("ip", "link", "set", outer, "master", self.bridge)
            sh("ip", "link", "set", outer, "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.addresses[name]}/{prefix}", "dev", inner)
            sh("ip", "-n", ns, "link", "set", inner, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

        self._keys()
        self._privsep_dir()
        for name in self.names:
            self._start_sshd(name)
        for name in self.names:
            self._wait_for_login(name)

    def _keys(self):
        os.chmod(self.workdir, 0o700)
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "parlab-test-host", "-f", str(self.workdir / "host_key"))
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "parlab-test-user", "-f", str(self.workdir / "user_key"))
        shutil.copy(self.workdir / "user_key.pub", self.workdir / "authorized_keys")
        self.ssh_config = self.workdir / "ssh_config"
        lines = []
        for name, addr in self.addresses.items():
            lines += [f"Host {name}", f"  HostName {addr}"]
        lines += [
            "Host *",
            "  User root",
            f"  IdentityFile {self.workdir / 'user_key'}",
            "  IdentitiesOnly yes",
            "  BatchMode yes",
            "  ConnectTimeout 10",
            # Throwaway hosts with a throwaway host key: nothing to verify
            # against, and nothing to remember.
            "  StrictHostKeyChecking no",
            "  UserKnownHostsFile /dev/null",
            "  GlobalKnownHostsFile /dev/null",
            "  LogLevel ERROR",
        ]
        self.ssh_config.write_text("\n".join(lines) + "\n")

    def _privsep_dir(self):
        # sshd refuses to start without it; Debian's service makes it at
        # boot, which a container never has.
        if PRIVSEP_DIR.exists():
            return
        PRIVSEP_DIR.mkdir(mode=0o755)
        # For the next run, should this one be killed before it undoes it.
        (self.workdir / PRIVSEP_MARK).touch()
        self.made_privsep_dir = True
        # Undone after the sshds are stopped (registered later, undone first).
        self._undo.callback(remove_privsep_dir)

    def _start_sshd(self, name):
        config = self.workdir / f"sshd_config_{name}"
        config.write_text("\n".join([
            f"ListenAddress {self.addresses[name]}",
            f"HostKey {self.workdir / 'host_key'}",
            f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            # The key lives in a private directory under /tmp, whose sticky
            # world-writable mode StrictModes would reject.
            "StrictModes no",
            f"PidFile {self.workdir / f'sshd_{name}.pid'}",
            "",
        ]))
        log = open(self.workdir / f"sshd_{name}.log", "w")
        self._undo.callback(log.close)
        ns = self.namespaces[name]
        # A UTS namespace of its own: the host has its own hostname, as
        # Open MPI expects of distinct nodes.
        script = f'hostname "$1" && exec {SSHD} -D -e -f "$2"'
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "unshare", "--uts", "sh", "-c", script, "sh", name, str(config)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._undo.callback(_reap, proc)
        deadline = time.time() + 30
        text = ""
        while "Server listening" not in text:
            text = (self.workdir / f"sshd_{name}.log").read_text()
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"sshd for {name} did not start: {text.strip()}")
            time.sleep(0.05)

    def _wait_for_login(self, name):
        out = sh("ssh", "-F", str(self.ssh_config), name, "cat /proc/sys/kernel/hostname")
        if out.strip() != name:
            raise RuntimeError(f"ssh {name} reached a host named {out.strip()!r}")

    # -- use -----------------------------------------------------------------

    def ssh(self, name, command):
        """Runs `command` on host `name` over ssh; its stdout."""
        return sh("ssh", "-F", str(self.ssh_config), name, command)

    def mpi_env(self):
        """Environment variables that make Open MPI use these hosts: ssh with
        this config, and the TCP transports on the bridge's subnet only
        (the hosts see nothing else; mpirun would otherwise also offer
        the root namespace's other interfaces to the ranks)."""
        subnet = str(self.subnet)
        return {
            "OMPI_MCA_plm_rsh_agent": "ssh",
            "OMPI_MCA_plm_rsh_args": f"-F {self.ssh_config}",
            "OMPI_MCA_oob_tcp_if_include": subnet,
            "OMPI_MCA_btl_tcp_if_include": subnet,
            # Ranks on two hosts talk over TCP (self: a rank to itself).
            "OMPI_MCA_btl": "self,tcp",
        }

    def leftovers(self):
        """What of this run still exists (for the cleanup test)."""
        found = []
        listed = sh("ip", "netns", "list", check=False)
        found += [ns for ns in self.namespaces.values() if re.search(rf"^{re.escape(ns)}\b", listed, re.M)]
        if sh("ip", "link", "show", self.bridge, check=False).strip():
            found.append(self.bridge)
        found += [f"sshd {p}" for p in sh("pgrep", "-f", str(self.workdir), check=False).split()]
        if self.workdir.exists():
            found.append(str(self.workdir))
        if self.made_privsep_dir and PRIVSEP_DIR.exists():
            found.append(str(PRIVSEP_DIR))
        return found


_instances = itertools.count()


def _zombie(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # gone
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _reap(proc):
    """Ends the `ip netns exec … sshd` process (already killed with its
    namespace's processes) and collects its status."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
