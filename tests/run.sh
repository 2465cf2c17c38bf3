#!/usr/bin/env bash
# The whole test suite, from a fresh machine: set-up, Rust unit and doc
# tests, then end-to-end tests through the real kernel over the Jupyter
# protocol. Exits non-zero if anything fails (or if pytest collected no
# test at all).
set -euo pipefail
cd "$(dirname "$0")/.."
./install.sh

printf '\n== cargo test (release profile, shared with the kernel build)\n'
cargo test --release --locked --workspace
# evcxr's own unit tests, with parlab's patch of it (third_party/README.md):
# only evcxr's test binary is compiled, against the kernel's build.
cargo test --release --locked -p evcxr --lib

printf '\n== end-to-end tests (pytest, real kernel)\n'
set +e
.venv/bin/python -m pytest tests -v --timeout=900 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
