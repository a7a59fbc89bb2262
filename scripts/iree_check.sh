#!/usr/bin/env bash
# Compile tensorc's emitted MLIR and StableHLO with IREE and compare with the interpreter
# (scripts/iree_check.py). Makes a virtualenv with IREE 3.13 under target/ on first use.
# Usage: scripts/iree_check.sh TENSORC [CASES_FILE.py]   (scripts/test.sh passes tests/conformance/cases.py)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/iree-venv
if [ ! -x "$venv/bin/iree-compile" ]; then
    echo "installing IREE 3.13 into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "iree-base-compiler==3.13.*" "iree-base-runtime==3.13.*" numpy
fi
exec "$venv/bin/python" scripts/iree_check.py "$@"
