"""Per-call overhead of a tiny function, `x + 1` on 16 float32 elements, called from
Python through tensorc, beside `jax.jit` dispatch of the same function and NumPy's own
`x + 1`; with `--rust` and `--c`, also the Rust and C hosts' numbers (their programs print
`<host> <path> <min ns> <median ns>` lines). Each figure is nanoseconds per call: the
minimum and median over 300 blocks of 100 calls, after a warm-up. Run by
bench/call_overhead.sh; prints a Markdown table.
"""

import argparse
import subprocess
import time

import numpy as np

import tensorc

BLOCK = 100
BLOCKS = 300


def measure(f):
    """(min, median) nanoseconds per call of f() over BLOCKS blocks of BLOCK calls."""
    for _ in range(BLOCK * 10):
        f()
    per_call = []
    clock = time.perf_counter_ns
    for _ in range(BLOCKS):
        start = clock()
        for _ in range(BLOCK):
            f()
        per_call.append((clock() - start) / BLOCK)
    per_call.sort()
    return per_call[0], per_call[BLOCKS // 2]


def python_rows():
    x = np.arange(16, dtype=np.float32)
    m = tensorc.compile("fn add_one(x) { x + 1.0 }")
    add_one = m.add_one
    assert (add_one(x) == x + 1).all()
    rows = [
        ("Python", "tensorc: `f(x)`, `f = m.add_one`", measure(lambda: add_one(x))),
        ("Python", "tensorc: `m.add_one(x)`", measure(lambda: m.add_one(x))),
        ("Python", "NumPy: `x + 1`", measure(lambda: x + 1)),
    ]
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("(jax is not installed: no JAX rows)")
        return rows
    jax.config.update("jax_platforms", "cpu")
    f = jax.jit(lambda v: v + 1)
    xj = jnp.asarray(x)
    assert (np.asarray(f(xj)) == x + 1).all()
    rows.append(("Python", "JAX: `f(x).block_until_ready()`, x a jax.Array", measure(lambda: f(xj).block_until_ready())))
    rows.append(("Python", "JAX: `np.asarray(f(x))`, x a NumPy array", measure(lambda: np.asarray(f(x)))))
    return rows


def host_rows(host, program):
    out = subprocess.run([program], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        name, *path, lo, mid = line.split()
        rows.append((host, "tensorc: `" + " ".join(path) + "`", (float(lo), float(mid))))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rust", help="the Rust program (compiler/tensorc/examples/call_overhead.rs)")
    parser.add_argument("--c", help="the C program (bench/call_overhead.c)")
    args = parser.parse_args()
    rows = []
    if args.rust:
        rows += host_rows("Rust", args.rust)
    if args.c:
        rows += host_rows("C", args.c)
    rows += python_rows()
    print("| host | call | min µs | median µs |")
    print("|---|---|---:|---:|")
    for host, what, (lo, mid) in rows:
        print(f"| {host} | {what} | {lo / 1000:.2f} | {mid / 1000:.2f} |")


if __name__ == "__main__":
    main()
