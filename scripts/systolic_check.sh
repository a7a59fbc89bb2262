#!/usr/bin/env bash
# Check `tensorc systolic` against SCALE-Sim 3.0.0 on the layer shapes of
# scripts/systolic_check.py (GEMM and convolution, os/ws/is, arrays 8×8 to 256×256):
# runs both and prints a comparison table; fails if any cycle count, SRAM count,
# utilisation or (where the model says it is exact) DRAM count differs.
# Creates a virtualenv with scalesim==3.0.0 and numpy<2 on first use, at $SCALESIM_VENV
# (default ~/.cache/tensorc/scalesim-venv). Usage:
#   scripts/systolic_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SCALESIM_VENV:-$HOME/.cache/tensorc/scalesim-venv}"
if ! "$VENV/bin/python" -c 'import scalesim' 2>/dev/null; then
    echo "creating $VENV with scalesim 3.0.0"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet 'numpy<2' scalesim==3.0.0
fi
cargo build --quiet -p tensorc-cli
"$VENV/bin/python" scripts/systolic_check.py target/debug/tensorc
