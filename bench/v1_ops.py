"""The language-v1 operations side by side: tensorc (CPU backend) vs NumPy vs JAX/XLA.

Cases (the inputs of each are the same size in all three):
  sort    sort of 1M f32                         np.sort / jnp.sort
  top_k   top_k(x, 10) of [4096, 32000] f32      np.argpartition + sort of the 10 / jax.lax.top_k
  cumsum  cumsum of 16M f32                      np.cumsum / jnp.cumsum
  einsum  einsum("bqhd,bkhd->bhqk") at [8, 512, 8, 64]   np.einsum(optimize=True) / jnp.einsum

For each case the tensorc bench binary (built by v1_ops.sh) runs first, then NumPy and
jax.jit right after, so all three see the same machine load. Every time is min / median
of REPS runs after warm-up. The floor is the larger of the bytes the case must move at
the measured triad bandwidth and its flops at the rate of tensorc's own 2048^2 f32
matmul (the `gemm` kernel's peak on this machine).
Usage: python v1_ops.py BENCH_BINARY [REPS]
"""

import os
import sys
import time

import numpy as np
import jax
import jax.numpy as jnp

from cpu_bench import tensorc_case, times_ms  # this folder's runner and timing loop




def np_top_k(x, k):
    part = np.argpartition(-x, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(x, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(part, order, axis=1)


def main():
    binary = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10

    def tensorc(name):
        return tensorc_case(binary, reps, name)

    triad = tensorc("triad")
    gbps = triad["gbps"]
    mm = tensorc("matmul")
    peak_gflops = mm["flops"] / (mm["min_ms"] * 1e6)
    rng = np.random.default_rng(0)
    f32 = np.float32
    x1m = rng.uniform(-1, 1, 1 << 20).astype(f32)
    logits = rng.uniform(-1, 1, (4096, 32000)).astype(f32)
    x16m = rng.uniform(-1, 1, 16 * 1024 * 1024).astype(f32)
    q = rng.uniform(-1, 1, (8, 512, 8, 64)).astype(f32)
    k = rng.uniform(-1, 1, (8, 512, 8, 64)).astype(f32)

    def jx(f, *args):
        jf = jax.jit(f)
        dev = [jnp.asarray(a) for a in args]
        t = time.perf_counter()
        jf.lower(*dev).compile()
        compile_ms = (time.perf_counter() - t) * 1e3
        return times_ms(lambda: jax.block_until_ready(jf(*dev)), reps), compile_ms

    spec = "bqhd,bkhd->bhqk"
    cases = {
        "sort": (lambda: np.sort(x1m), lambda: jx(jnp.sort, x1m)),
        "top_k": (lambda: np_top_k(logits, 10), lambda: jx(lambda x: jax.lax.top_k(x, 10), logits)),
        "cumsum": (lambda: np.cumsum(x16m), lambda: jx(jnp.cumsum, x16m)),
        "einsum": (lambda: np.einsum(spec, q, k, optimize=True), lambda: jx(lambda a, b: jnp.einsum(spec, a, b), q, k)),
    }
    print(
        f"threads: tensorc {triad['threads']}, XLA/NumPy: {os.cpu_count()} cores; triad bandwidth {gbps:.1f} GB/s; "
        f"f32 matmul {peak_gflops:.0f} GFLOP/s\n"
    )
    print("| benchmark | tensorc ms (min / median) | NumPy ms | XLA ms | tensorc / XLA | floor ms | compile ms (tc / XLA) |")
    print("|---|---|---|---|---|---|---|")
    for name, (np_f, jax_f) in cases.items():
        r = tensorc(name)
        np_min, np_med = times_ms(np_f, max(3, reps // 2))
        (xla_min, xla_med), xla_compile = jax_f()
        floor = max(r["bytes"] / (gbps * 1e9), r["flops"] / (peak_gflops * 1e9)) * 1e3
        print(
            f"| {name} | {r['min_ms']:.2f} / {r['median_ms']:.2f} | {np_min:.2f} / {np_med:.2f} | {xla_min:.2f} / {xla_med:.2f} | "
            f"{r['median_ms'] / xla_med:.2f} | {floor:.2f} | {r['compile_ms']:.0f} / {xla_compile:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
