#!/usr/bin/env bash
# Benchmark the language-v1 operations (sort, top_k, cumsum, einsum) on the CPU backend
# against NumPy and JAX/XLA on the CPU, in one run. Creates a venv with numpy and
# jax[cpu] on first use (bench/.venv, or $VENV), builds the tensorc bench example, then
# bench/v1_ops.py runs it case by case next to NumPy and XLA and prints a Markdown table.
# Usage:
#   bench/v1_ops.sh [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${1:-10}"
VENV="${VENV:-bench/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet numpy "jax[cpu]"
fi
cargo build --quiet --release -p tc-cpu --example bench
"$VENV/bin/python" bench/v1_ops.py target/release/examples/bench "$REPS"
