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

say "warming the runtime build cache"
.venv/bin/python tests/warm_cache.py

say "done: .venv/bin/jupyter lab notebooks/"
