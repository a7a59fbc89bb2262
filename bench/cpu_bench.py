"""Side-by-side CPU benchmark: tensorc (CPU backend) vs NumPy vs JAX/XLA.

For each benchmark, runs the tensorc bench binary (`target/release/examples/bench`,
built by cpu_bench.sh) on that case, then times the same program with NumPy and
jax.jit (XLA on the CPU) right after, so all three see the same machine load. Prints a
Markdown table of medians, the ratio of tensorc to XLA, and the memory-bandwidth floor
(bytes the program must move / measured triad bandwidth).
Usage: python cpu_bench.py BENCH_BINARY [REPS]
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import jax
import jax.numpy as jnp


def tensorc_case(binary, reps, name):
    """The JSON line the tensorc benchmark binary prints for case `name`."""
    out = subprocess.run([binary, str(reps), name], check=True, capture_output=True, text=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("{")))


def times_ms(f, reps):
    """Min and median milliseconds of `reps` calls of `f` after two warm-up calls."""
    f()
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t) * 1e3)
    ts.sort()
    return ts[0], ts[len(ts) // 2]


def median_ms(f, reps):
    return times_ms(f, reps)[1]


def gelu(xp, x):
    return 0.5 * x * (1 + xp.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


def softmax(xp, x):
    e = xp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def layernorm(xp, x, g, b, eps=1e-5):
    d = x - x.mean(axis=-1, keepdims=True)
    var = (d * d).mean(axis=-1, keepdims=True)
    return d / xp.sqrt(var + eps) * g + b


def mlp_loss(params, x, y):
    w1, b1, w2, b2, w3, b3 = params
    h1 = jax.nn.relu(x @ w1 + b1)
    h2 = jax.nn.relu(h1 @ w2 + b2)
    logits = h2 @ w3 + b3
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


@jax.jit
def mlp_step(w1, b1, w2, b2, w3, b3, x, y):
    params = (w1, b1, w2, b2, w3, b3)
    l, g = jax.value_and_grad(mlp_loss)(params, x, y)
    return tuple(p - 0.01 * gp for p, gp in zip(params, g)) + (l,)


def main():
    binary = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 20

    def tensorc(name):
        return tensorc_case(binary, reps, name)

    triad = tensorc("triad")
    gbps = triad["gbps"]
    rng = np.random.default_rng(0)
    f32 = np.float32
    x16m = rng.uniform(-1, 1, 16 * 1024 * 1024).astype(f32)
    sq = rng.uniform(-1, 1, (4096, 4096)).astype(f32)
    g, b = rng.uniform(-1, 1, 4096).astype(f32), rng.uniform(-1, 1, 4096).astype(f32)
    a2, b2 = rng.uniform(-1, 1, (2048, 2048)).astype(f32), rng.uniform(-1, 1, (2048, 2048)).astype(f32)
    B, I, H, O = 256, 784, 512, 10
    mlp = [rng.uniform(-0.05, 0.05, s).astype(f32) for s in [(I, H), (H,), (H, H), (H,), (H, O), (O,), (B, I)]]
    labels = rng.integers(0, 10, B).astype(np.int32)

    def jx(f, *args):
        jf = jax.jit(f)
        dev = [jnp.asarray(a) for a in args]
        t = time.perf_counter()
        jf.lower(*dev).compile()
        compile_ms = (time.perf_counter() - t) * 1e3
        return median_ms(lambda: jax.block_until_ready(jf(*dev)), reps), compile_ms

    cases = {
        "gelu": (lambda: gelu(np, x16m), lambda: jx(lambda x: gelu(jnp, x), x16m)),
        "softmax": (lambda: softmax(np, sq), lambda: jx(lambda x: softmax(jnp, x), sq)),
        "layernorm": (lambda: layernorm(np, sq, g, b), lambda: jx(lambda x, g, b: layernorm(jnp, x, g, b), sq, g, b)),
        "matmul": (lambda: a2 @ b2, lambda: jx(lambda a, b: a @ b, a2, b2)),
        "mlp_step": (None, lambda: jx(lambda *a: mlp_step(*a), *mlp, labels)),
    }
    print(f"threads: tensorc {triad['threads']}, XLA/NumPy: {os.cpu_count()} cores; triad bandwidth {gbps:.1f} GB/s\n")
    print("| benchmark | tensorc ms | NumPy ms | XLA ms | tensorc / XLA | floor ms | tensorc / floor | GFLOP/s | compile ms (tc / XLA) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (np_f, jax_f) in cases.items():
        r = tensorc(name)
        np_ms = median_ms(np_f, max(3, reps // 4)) if np_f else float("nan")
        xla_ms, xla_compile = jax_f()
        floor = r["bytes"] / (gbps * 1e9) * 1e3
        gflops = r["flops"] / (r["median_ms"] * 1e6) if r["flops"] else float("nan")
        print(
            f"| {name} | {r['median_ms']:.2f} | {np_ms:.2f} | {xla_ms:.2f} | {r['median_ms'] / xla_ms:.2f} | {floor:.2f} | "
            f"{r['median_ms'] / floor:.1f} | {gflops:.0f} | {r['compile_ms']:.1f} / {xla_compile:.0f} |"
        )


if __name__ == "__main__":
    main()
