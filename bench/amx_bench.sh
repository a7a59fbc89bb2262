#!/usr/bin/env bash
# The AMX path on an AMX CPU: its measured tile peak, an N×N bf16 matmul on the tiles
# (--backend mlir --amx), and the same matmul in f32 on the CPU backend, as a Markdown
# table. Needs LLVM/MLIR 22 (docs/mlir-backend.md) and numpy. Usage:
#   bench/amx_bench.sh [N]        (default 2048)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2048}"
export MLIR_SYS_220_PREFIX=/usr/lib/llvm-22 TABLEGEN_220_PREFIX=/usr/lib/llvm-22 LIBCLANG_PATH=/usr/lib/llvm-22/lib
cargo build --quiet --release -p tensorc-cli --features mlir
cargo build --quiet --release -p tc-mlir --features jit --example amx_peak
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
peak=$(target/release/examples/amx_peak)
printf 'fn main(a: bf16[%s, %s], b: bf16[%s, %s]) { a @ b }\n' "$N" "$N" "$N" "$N" >"$dir/bf16.tc"
printf 'fn main(a: f32[%s, %s], b: f32[%s, %s]) { a @ b }\n' "$N" "$N" "$N" "$N" >"$dir/f32.tc"
python3 - "$dir" "$N" <<'PY'
# Inputs: f32 .npy, and the same values as bf16 safetensors (npy has no bf16).
import json, struct, sys
import numpy as np
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
for name in "ab":
    x = rng.standard_normal((n, n), dtype=np.float32)
    np.save(f"{d}/{name}.npy", x)
    bits = (x.view(np.uint32) >> 16).astype(np.uint16)  # bf16 by truncation: any values do
    header = json.dumps({name: {"dtype": "BF16", "shape": [n, n], "data_offsets": [0, bits.nbytes]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(f"{d}/{name}.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + bits.tobytes())
PY
amx=$(target/release/tensorc bench "$dir/bf16.tc" --backend mlir --amx --json "a=$dir/a.safetensors" "b=$dir/b.safetensors")
cpu=$(target/release/tensorc bench "$dir/f32.tc" --backend cpu --json "a=$dir/a.npy" "b=$dir/b.npy")
python3 - "$N" "$peak" "$amx" "$cpu" <<'PY'
import json, sys
n = int(sys.argv[1])
peaks = [json.loads(l) for l in sys.argv[2].splitlines()]
amx, cpu = json.loads(sys.argv[3]), json.loads(sys.argv[4])
flops = 2 * n ** 3
one, all_cores = peaks[0]["gflops"], peaks[-1]["gflops"]
print(f"tile peak: {one:.0f} GFLOP/s on 1 thread, {all_cores:.0f} GFLOP/s on {peaks[-1]['threads']} threads\n")
print("| matmul | median ms | GFLOP/s | % of tile peak (all cores) | vs f32 CPU backend |")
print("|---|---|---|---|---|")
for name, r in [(f"{n}² bf16, --backend mlir --amx", amx), (f"{n}² f32, --backend cpu", cpu)]:
    g = flops / (r["median_ms"] * 1e6)
    print(f"| {name} | {r['median_ms']:.2f} | {g:.0f} | {100 * g / all_cores:.1f}% | {cpu['median_ms'] / r['median_ms']:.2f}× |")
PY
