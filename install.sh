#!/usr/bin/env bash
# Sets parlab up on a machine that has Rust (cargo, rustc) and Python 3:
#   1. builds the kernel (release; the one build profile the project uses),
#   2. creates .venv with JupyterLab and the test tools,
#   3. registers the kernelspec `parlab` in .venv (`parlab-kernel install
#      --user` makes it visible to other Jupyter installs too),
#   4. warms the kernel's build cache so the first cell of a new kernel
#      does not wait for the runtime's dependencies to compile.
# Non-interactive and idempotent: run it again at any time.
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)

say() { printf '\n== %s\n' "$*"; }

say "building the workspace (release; the first build takes ~15 min on 2 cores)"
# All targets at once: tests and examples turn on dev-dependency features,
# and building them together keeps one feature set, so the test run after
# this reuses every artifact instead of rebuilding evcxr's tree.
cargo build --release --locked --workspace --all-targets
kernel="$root/target/release/parlab-kernel"

say "python environment (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt

say "kernelspec"
VIRTUAL_ENV="$root/.venv" "$kernel" install --sys-prefix
.venv/bin/jupyter kernelspec list

# Jupyter refuses to start as root without --allow-root; on a machine where
# the user is root (containers, CI VMs), the README's `.venv/bin/jupyter lab
# notebooks/` must still open. Only this .venv's Jupyter reads the file.
if [ "$(id -u)" -eq 0 ]; then
  .venv/bin/python - <<'PY'
import json, pathlib
path = pathlib.Path(".venv/etc/jupyter/jupyter_server_config.json")
config = json.loads(path.read_text()) if path.exists() else {}
config.setdefault("ServerApp", {})["allow_root"] = True
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(config, indent=2) + "\n")
PY
fi

# Installs Debian packages where that is possible (apt-get, and root or
# password-less sudo); returns non-zero otherwise. Used for the optional
# system pieces below, whose absence only skips what needs them.
apt_optional() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
    as_root=(sudo -n)
  fi
  local install=(${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@")
  "${install[@]}" || { ${as_root[@]+"${as_root[@]}"} apt-get update -q && "${install[@]}"; }
}

say "Open MPI for %%mpirun (Debian's packages; optional)"
# %%mpirun builds a cell against the mpi crate (rsmpi), whose bindings need
# Open MPI's headers and libclang, and runs it with mpirun. Without them only
# %%mpirun cells fail (their error names these packages) and tests/test_mpirun.py
# skips, so a failure here does not stop the install.
mpi_pkgs=(openmpi-bin libopenmpi-dev libclang-dev)
if command -v dpkg >/dev/null 2>&1 && dpkg -s "${mpi_pkgs[@]}" >/dev/null 2>&1; then
  echo "Open MPI: already installed ($(mpirun --version 2>/dev/null | head -n 1))"
elif apt_optional "${mpi_pkgs[@]}"; then
  echo "Open MPI: installed"
else
  echo "could not install ${mpi_pkgs[*]} (needs apt-get and root or password-less sudo): %%mpirun will not work and its tests skip"
fi

say "ssh server and iproute2 for the multi-host %%mpirun test (Debian's packages; optional)"
# tests/test_mpirun_hosts.py makes two hosts out of network namespaces (ip,
# from iproute2) and runs an sshd of its own in each (openssh-server; the
# test starts and stops it, and never uses the system's ssh service). On a
# machine whose services start on install (systemd, no policy-rc.d), Debian
# also starts that service; the test does not need it. Without them that
# test skips, so a failure here does not stop the install.
# (The files are checked, not dpkg's state: a removed package whose
# configuration is kept still counts as present for `dpkg -s`.)
host_pkgs=(openssh-server openssh-client iproute2)
have_tools() { local t; for t in "$@"; do command -v "$t" >/dev/null 2>&1 || return 1; done; }
if [ -x /usr/sbin/sshd ] && have_tools ssh ssh-keygen ip; then
  echo "openssh-server, iproute2: already installed"
elif apt_optional "${host_pkgs[@]}"; then
  echo "openssh-server, iproute2: installed"
else
  echo "could not install ${host_pkgs[*]} (needs apt-get and root or password-less sudo): the multi-host test will skip"
fi

say "Chromium for the browser test (Debian's package; optional)"
# tests/test_browser.py drives JupyterLab with Playwright in the system's
# Chromium (Playwright's own browser download is never used). Without it
# that one test skips, so a failure here does not stop the install.
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  echo "chromium: already installed"
elif apt_optional --no-install-recommends chromium fonts-liberation; then
  echo "chromium: installed"
else
  echo "could not install chromium (needs apt-get and root or password-less sudo): the browser test will skip"
fi

say "warming the runtime build cache"
.venv/bin/python tests/warm_cache.py

say "done: .venv/bin/jupyter lab notebooks/"
