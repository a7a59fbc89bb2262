#!/usr/bin/env bash
# Benchmark the GPU backend (--backend wgpu) against PyTorch on the same GPU (issue 5).
# Builds tensorc and the device_peak example (release), then bench/gpu_bench.py runs
# the CPU benchmark's workloads with `tensorc bench --backend wgpu --json` next to
# PyTorch and prints a Markdown table. Usage:
#   bench/gpu_bench.sh [--quick] [--reps N] [--only NAME...] [--no-torch] [--json PATH]
# --quick: small sizes, for a software rasteriser (Mesa llvmpipe).
# TENSORC_WGPU_ADAPTER (index or part of the adapter's name) chooses the adapter.
#
# Python: $PYTHON if set; otherwise, where nvidia-smi exists, bench/.venv-gpu (created
# with --system-site-packages, so a torch already installed is used; numpy and torch
# are pip-installed there only if missing); otherwise python3 with numpy (a venv with
# numpy if python3 lacks it). Without torch + CUDA the PyTorch columns read "—".
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv-gpu

venv() {
    [ -x "$VENV/bin/python" ] || python3 -m venv --system-site-packages "$VENV"
    PY="$VENV/bin/python"
}

if [ -n "${PYTHON:-}" ]; then
    PY="$PYTHON"
elif command -v nvidia-smi >/dev/null 2>&1; then
    venv
    if ! "$PY" -c 'import numpy, torch; assert torch.cuda.is_available()' 2>/dev/null; then
        echo "gpu_bench: installing numpy and torch into $VENV ..." >&2
        "$PY" -m pip install --quiet numpy torch \
            || echo "gpu_bench: pip install torch failed; running without PyTorch" >&2
    fi
else
    PY=python3
    if ! "$PY" -c 'import numpy' 2>/dev/null; then
        venv
        "$PY" -m pip install --quiet numpy
    fi
fi

cargo build --quiet --release -p tensorc-cli --bin tensorc
cargo build --quiet --release -p tc-wgpu --example device_peak
exec "$PY" bench/gpu_bench.py --tensorc target/release/tensorc --peak target/release/examples/device_peak "$@"
