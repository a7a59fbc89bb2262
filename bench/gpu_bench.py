"""GPU benchmark (issue 5): tensorc's wgpu backend vs PyTorch on the same GPU.

Runs the CPU benchmark's workloads (bench/cpu_bench.py: gelu, softmax, layernorm, f32
matmul, one SGD step of an MLP) with `tensorc bench FILE --backend wgpu --json`, which
times the kernels on inputs already on the device (wall clock per run: submit, then
wait for the device). When `torch` is importable and sees a CUDA device, the same
programs run in PyTorch eager on that GPU (the fused built-ins: F.gelu(tanh),
softmax, F.layer_norm, cuBLAS matmul with TF32 off, autograd for the MLP step), timed
the same way (wall clock per call, then torch.cuda.synchronize). The reference for
bandwidth-bound kernels is the device's copy bandwidth measured by
compiler/tc-wgpu/examples/device_peak.rs (read + write bytes of copy_buffer_to_buffer).

Prints a Markdown table: tensorc and PyTorch medians, their ratio, tensorc's achieved
GB/s (bandwidth-bound cases) or GFLOP/s (matmul, MLP step), that as a percentage of the
copy bandwidth or of PyTorch's throughput, the issue's target, and the compile time.

Usage (normally through bench/gpu_bench.sh, which builds the binaries):
  python gpu_bench.py --tensorc target/release/tensorc --peak target/release/examples/device_peak
                      [--quick] [--reps N] [--only NAME ...] [--no-torch] [--json PATH]
TENSORC_WGPU_ADAPTER (adapter index or part of its name) is passed through.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

MLP_STEP = """use nn;
fn predict(x, w1, b1, w2, b2, w3, b3) {
    let h1 = nn::relu(x @ w1 + b1);
    let h2 = nn::relu(h1 @ w2 + b2);
    h2 @ w3 + b3
}
fn main(w1, b1, w2, b2, w3, b3, x, y: i32[B]) {
    let l = nn::cross_entropy(predict(x, w1, b1, w2, b2, w3, b3), y);
    let (g1, gb1, g2, gb2, g3, gb3) = grad(l, (w1, b1, w2, b2, w3, b3));
    let lr = 0.01;
    (w1 - lr * g1, b1 - lr * gb1, w2 - lr * g2, b2 - lr * gb2, w3 - lr * g3, b3 - lr * gb3, l)
}
"""

# Full sizes are cpu_bench's; --quick sizes finish in minutes on a software rasteriser.
SIZES = {
    "full": {"gelu": 16 * 1024 * 1024, "rows": 4096, "matmul": 2048, "mlp": (256, 784, 512, 10), "peak_mib": 256},
    "quick": {"gelu": 1024 * 1024, "rows": 1024, "matmul": 512, "mlp": (64, 784, 512, 10), "peak_mib": 64},
}

# Which reference each workload is judged against, and the target.
BANDWIDTH, THROUGHPUT = "copy bandwidth", "PyTorch"
TARGETS = {"gelu": (BANDWIDTH, 0.70), "softmax": (BANDWIDTH, 0.70), "layernorm": (BANDWIDTH, 0.70), "matmul": (THROUGHPUT, 0.40), "mlp_step": (THROUGHPUT, None)}


def cases(sizes, rng):
    """name -> (shape text, tensorc source, [(param, array)])."""
    f32 = np.float32
    u = lambda shape, scale=1.0: (scale * rng.uniform(-1, 1, shape)).astype(f32)
    n, r, m = sizes["gelu"], sizes["rows"], sizes["matmul"]
    B, I, H, O = sizes["mlp"]
    mlp = [("w1", u((I, H), 0.05)), ("b1", u(H, 0.05)), ("w2", u((H, H), 0.05)), ("b2", u(H, 0.05)), ("w3", u((H, O), 0.05)), ("b3", u(O, 0.05)), ("x", u((B, I), 0.05)), ("y", rng.integers(0, O, B).astype(np.int32))]
    return {
        "gelu": (f"{n // (1024 * 1024)}Mi", "use nn;\nfn main(x) { nn::gelu(x) }\n", [("x", u(n))]),
        "softmax": (f"{r}×{r}", "use nn;\nfn main(x) { nn::softmax(x) }\n", [("x", u((r, r)))]),
        "layernorm": (f"{r}×{r}", "use nn;\nfn main(x, g, b) { nn::layernorm(x, g, b) }\n", [("x", u((r, r))), ("g", u(r)), ("b", u(r))]),
        "matmul": (f"{m}³", "fn main(a, b) { a @ b }\n", [("a", u((m, m))), ("b", u((m, m)))]),
        "mlp_step": (f"{I}-{H}-{H}-{O}, batch {B}", MLP_STEP, mlp),
    }


def last_json(text):
    return json.loads(next(line for line in reversed(text.splitlines()) if line.startswith("{")))


def device_peak(binary, mib, reps):
    out = subprocess.run([binary, str(mib), str(reps)], capture_output=True, text=True)
    if out.returncode != 0:
        lines = [l for l in out.stderr.splitlines() if l.strip() and "XDG_RUNTIME_DIR" not in l]
        sys.exit(f"gpu_bench: {binary} failed: {lines[-1] if lines else f'exit status {out.returncode}'}")
    return last_json(out.stdout)


def run_tensorc(binary, workdir, name, src, inputs, reps):
    path = os.path.join(workdir, f"{name}.tc")
    with open(path, "w") as f:
        f.write(src)
    args = []
    for param, array in inputs:
        npy = os.path.join(workdir, f"{name}_{param}.npy")
        np.save(npy, array)
        args.append(f"{param}={npy}")
    cmd = [binary, "bench", path, "-e", "main", *args, "--backend", "wgpu", "--json", "--reps", str(reps)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        lines = [l for l in (out.stderr + out.stdout).splitlines() if l.strip() and "XDG_RUNTIME_DIR" not in l]
        raise RuntimeError(lines[-1].strip() if lines else f"exit status {out.returncode}")
    return last_json(out.stdout)


def torch_status(disabled):
    """(torch module or None, a line saying which device or why it is skipped)."""
    if disabled:
        return None, "PyTorch: skipped (--no-torch)"
    try:
        import torch
    except ImportError:
        why = "no NVIDIA GPU here (nvidia-smi not found)" if not _has_nvidia_smi() else "torch is not importable"
        return None, f"PyTorch: skipped: {why}; tensorc columns only"
    if not torch.cuda.is_available():
        return None, f"PyTorch {torch.__version__}: skipped: torch.cuda.is_available() is False (no CUDA device); tensorc columns only"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    return torch, f"PyTorch {torch.__version__} (CUDA {torch.version.cuda}) on {torch.cuda.get_device_name(0)}, eager, TF32 off"


def _has_nvidia_smi():
    return any(os.access(os.path.join(p, "nvidia-smi"), os.X_OK) for p in os.environ.get("PATH", "").split(os.pathsep))


def torch_case(torch, name, inputs):
    """A no-argument callable running the workload in PyTorch on inputs already on the GPU."""
    import torch.nn.functional as F

    dev = {p: torch.from_numpy(a).cuda() for p, a in inputs}
    if name == "gelu":
        return lambda: F.gelu(dev["x"], approximate="tanh")
    if name == "softmax":
        return lambda: torch.softmax(dev["x"], dim=-1)
    if name == "layernorm":
        x, g, b = dev["x"], dev["g"], dev["b"]
        return lambda: F.layer_norm(x, (x.shape[-1],), g, b, eps=1e-5)
    if name == "matmul":
        return lambda: dev["a"] @ dev["b"]
    if name == "mlp_step":
        params = [dev[k].requires_grad_() for k in ("w1", "b1", "w2", "b2", "w3", "b3")]
        x, y = dev["x"], dev["y"].long()

        def step():
            w1, b1, w2, b2, w3, b3 = params
            h1 = torch.relu(x @ w1 + b1)
            h2 = torch.relu(h1 @ w2 + b2)
            loss = F.cross_entropy(h2 @ w3 + b3, y)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                return [p - 0.01 * g for p, g in zip(params, grads)] + [loss.detach()]

        return step
    raise ValueError(name)


def torch_median_ms(torch, f, reps):
    """Wall clock of one call then synchronize, as `tensorc bench` times a run."""
    for _ in range(3):
        f()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        torch.cuda.synchronize()
        ts.append((time.perf_counter() - t) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]


def pct(share):
    return f"{100 * share:.0f}%" if share >= 0.1 else f"{100 * share:.1f}%"


def fmt(v, digits=2):
    return "—" if v is None else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tensorc", default="target/release/tensorc")
    ap.add_argument("--peak", default="target/release/examples/device_peak")
    ap.add_argument("--quick", action="store_true", help="small sizes (for a software rasteriser such as llvmpipe)")
    ap.add_argument("--reps", type=int, default=None, help="timed repetitions per case (default 50, 5 with --quick)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these workloads: " + ", ".join(TARGETS))
    ap.add_argument("--no-torch", action="store_true", help="do not run PyTorch even if it is available")
    ap.add_argument("--json", metavar="PATH", help="also write the raw measurements as JSON")
    a = ap.parse_args()
    sizes = SIZES["quick" if a.quick else "full"]
    reps = a.reps or (5 if a.quick else 50)

    torch, torch_line = torch_status(a.no_torch)
    peak = device_peak(a.peak, sizes["peak_mib"], max(reps, 10))
    adapter_env = os.environ.get("TENSORC_WGPU_ADAPTER")
    print(f"date: {datetime.date.today().isoformat()}; sizes: {'quick' if a.quick else 'full'}; {reps} timed runs per case")
    print(f"wgpu adapter: {peak['adapter']} ({peak['backend']}, {peak['device_type']}; driver {peak['driver']})" + (f"; TENSORC_WGPU_ADAPTER={adapter_env}" if adapter_env else ""))
    print(
        f"copy bandwidth (copy_buffer_to_buffer of {peak['bytes'] >> 20} MiB, read + write): {peak['gbps']:.1f} GB/s "
        f"({peak['single_gbps']:.1f} GB/s with one copy per submission; empty submit + wait {peak['submit_wait_ms'] * 1e3:.0f} µs)"
    )
    print(torch_line)
    if peak["device_type"] == "Cpu":
        print("NOTE: the adapter is a software rasteriser (CPU), not a GPU: these numbers prove the script, not the backend's GPU performance.")
        if torch:
            print("WARNING: PyTorch sees a CUDA GPU but wgpu chose a software adapter: install the NVIDIA Vulkan driver (ICD) or set TENSORC_WGPU_ADAPTER=nvidia.")
    elif torch:
        cuda_name = torch.cuda.get_device_name(0).lower()
        if cuda_name not in peak["adapter"].lower() and peak["adapter"].lower() not in cuda_name:
            print(f"WARNING: wgpu's adapter and PyTorch's device may differ ({peak['adapter']!r} vs {cuda_name!r}); TENSORC_WGPU_ADAPTER chooses the adapter.")
    print()

    rng = np.random.default_rng(0)
    todo = cases(sizes, rng)
    wanted = [n for n in todo if not a.only or n in a.only]
    rows, raw, failed = [], {"device_peak": peak, "torch": torch_line, "cases": {}}, False
    header = "| workload | shape | tensorc ms | PyTorch ms | tensorc / PyTorch | tensorc achieved | % of reference | target | compile ms |"
    rows.append(header)
    rows.append("|---" * (header.count("|") - 1) + "|")
    for name in wanted:
        shape, src, inputs = todo[name]
        with tempfile.TemporaryDirectory(prefix=f"gpu_bench_{name}_") as workdir:
            try:
                r = run_tensorc(a.tensorc, workdir, name, src, inputs, reps)
            except RuntimeError as e:
                failed = True
                rows.append(f"| {name} | {shape} | error: {e} | | | | | | |")
                print(f"{name}: tensorc failed: {e}", file=sys.stderr)
                continue
        torch_ms = None
        if torch:
            try:
                torch_ms = torch_median_ms(torch, torch_case(torch, name, inputs), reps)
            except Exception as e:  # e.g. out of memory: keep the tensorc row
                print(f"{name}: PyTorch failed: {e}", file=sys.stderr)
        ms = r["median_ms"]
        gbps = r["bytes"] / (ms * 1e6)
        gflops = r["flops"] / (ms * 1e6) if r["flops"] else None
        ref, target = TARGETS[name]
        if ref == BANDWIDTH:
            achieved = f"{gbps:.1f} GB/s"
            share = gbps / peak["gbps"]
            ref_text = f"{pct(share)} of copy BW"
        else:
            achieved = f"{gflops:.1f} GFLOP/s"
            share = torch_ms / ms if torch_ms else None
            ref_text = f"{pct(share)} of PyTorch" if share is not None else "— (no PyTorch)"
        if target is None:
            verdict = "—"
        elif peak["device_type"] == "Cpu":
            verdict = f"≥ {100 * target:.0f}%: not judged (CPU adapter)"
        elif share is None:
            verdict = f"≥ {100 * target:.0f}% of {ref}: not measured"
        else:
            verdict = f"≥ {100 * target:.0f}%: {'met' if share >= target else 'missed'}"
        ratio = ms / torch_ms if torch_ms else None
        rows.append(
            f"| {name} | {shape} | {ms:.3f} | {fmt(torch_ms, 3)} | {fmt(ratio)} | {achieved} | {ref_text} | {verdict} | {r['compile_ms']:.1f} |"
        )
        raw["cases"][name] = {"shape": shape, "tensorc": r, "torch_ms": torch_ms, "share": share}
        print(f"{name}: done", file=sys.stderr, flush=True)
    print("\n".join(rows))
    print(
        "\nGB/s = bytes the program must move (inputs read + outputs written) / median; "
        "% of copy BW compares that with the measured copy bandwidth; % of PyTorch = PyTorch ms / tensorc ms (throughput share)."
    )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(raw, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
