#!/usr/bin/env bash
# Benchmark the CPU backend against NumPy and JAX/XLA on the CPU, side by side.
# Creates bench/.venv (numpy, jax[cpu]) on first use, builds the tensorc bench example,
# then bench/cpu_bench.py runs it case by case next to NumPy and XLA and prints a
# Markdown table. Usage:
#   bench/cpu_bench.sh [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${1:-20}"
VENV=bench/.venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet numpy "jax[cpu]"
fi
cargo build --quiet --release -p tc-cpu --example bench
"$VENV/bin/python" bench/cpu_bench.py target/release/examples/bench "$REPS"
