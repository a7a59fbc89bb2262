#!/usr/bin/env bash
# The per-call overhead of a tiny function (`x + 1` on 16 f32 elements) called from Rust,
# C and Python through tensorc, beside `jax.jit` dispatch and NumPy's own `x + 1`; then,
# with `--train`, one epoch of Fashion-MNIST's MLP trained from a Python loop beside
# `tensorc train`. Creates bench/.venv (numpy, jax[cpu]) on first use and installs the
# Python package into it (release build); builds the Rust example and the C program
# against target/release/libtensorc.so. Prints Markdown tables. Usage:
#   bench/call_overhead.sh [--train]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet numpy "jax[cpu]"
fi
"$VENV/bin/pip" install --quiet --force-reinstall --no-deps ./bindings/python
cargo build --quiet --release -p tensorc-capi -p tensorc-cli
cargo build --quiet --release -p tensorc --example call_overhead
cc -O2 bench/call_overhead.c -I bindings/c/include -L target/release -ltensorc \
    -Wl,-rpath,"$PWD/target/release" -o target/release/call_overhead_c
"$VENV/bin/python" bench/call_overhead.py --rust target/release/examples/call_overhead --c target/release/call_overhead_c
if [ "${1:-}" = "--train" ]; then
    "$VENV/bin/python" bindings/python/examples/train_fashion.py --tensorc target/release/tensorc
fi
