#!/usr/bin/env python3
"""tensorc's MLIR and StableHLO, compiled and run by IREE, against tensorc's interpreter.

Usage: iree_check.py TENSORC [CASES_FILE.py]

For every case (this file's own, plus the non-error cases of a conformance cases file when
given, such as tests/conformance/cases.py, except those whose `skip_backends` names `iree`
with a reason), the program and its inputs are written to a folder, and
  tensorc run      --backend interp  gives the reference outputs,
  tensorc emit --stage mlir          (linalg on tensors) and
  tensorc emit --stage stablehlo     are each compiled by `iree-compile` for the CPU
                                     (llvm-cpu) and run with IREE's runtime on the inputs.
Every output must match the interpreter's (floats within rtol 1e-4, atol 1e-5; the rest
exactly). Cases run in parallel worker processes (IREE_CHECK_JOBS, default the number of
CPUs), printed in order. The last line printed is 'N passed, M failed'; the exit status is
1 on failure.
Run by scripts/iree_check.sh, which makes the virtualenv with IREE 3.13.
"""
import concurrent.futures
import importlib.util
import multiprocessing
import os
import subprocess
import sys
import tempfile

import numpy as np
import iree.runtime as ireert

RNG = np.random.default_rng(11)
f32 = np.float32


def r(*shape):
    return RNG.standard_normal(shape).astype(f32)


OWN_CASES = [
    dict(name="mlp_step", src="""use nn;
fn main(w1, b1, w2, x, y) {
    let loss = nn::cross_entropy(nn::relu(x @ w1 + b1) @ w2, y);
    let (g1, gb, g2) = grad(loss, (w1, b1, w2));
    (loss, w1 - 0.1 * g1, b1 - 0.1 * gb, w2 - 0.1 * g2)
}""", args=dict(w1=r(12, 16), b1=r(16), w2=r(16, 5), x=r(8, 12), y=RNG.integers(0, 5, 8).astype(np.int32))),
    dict(name="conv_pool_grad", src="""fn main(x, w) {
    let y = max_pool2d(conv2d(x, w, stride=1, padding=1), 2);
    (y, grad(sum(y * y), w), grad(sum(avg_pool2d(x, 2)), x))
}""", args=dict(x=r(2, 3, 8, 8), w=r(4, 3, 3, 3))),
    dict(name="strided_conv_pool", src="fn main(x, w) { (conv2d(x, w, stride=2, padding=0), max_pool2d(x, 3, stride=2)) }",
         args=dict(x=r(1, 2, 9, 9), w=r(3, 2, 3, 3))),
    dict(name="take_and_its_grad", src="fn main(m, i) { (take(m, i, axis=1), grad(sum(take(m, i, axis=0) * 3.0), m)) }",
         args=dict(m=r(5, 4), i=np.array([0, -1, 2, 2, 9], dtype=np.int32))),
    dict(name="argmax_argmin_ties", src="fn main(m) { (argmax(m, axis=1), argmin(m, axis=0)) }",
         args=dict(m=np.array([[1, 3, 3, 0], [2, 2, 1, 2], [-1, -5, -5, 4]], dtype=f32))),
    dict(name="int_floor_div_mod", src="fn main(a, b) { (a % b, -a, abs(a), maximum(a, b), a < b) }",
         args=dict(a=np.array([7, -7, 7, -7, 0, 5], dtype=np.int32), b=np.array([2, 2, -2, -2, 3, 0], dtype=np.int32))),
    dict(name="float_mod_and_casts", src="fn main(x) { (x % 1.5, x as i32, floor(x), round(x), (x > 0.0) as f32) }",
         args=dict(x=np.array([-3.75, -1.5, -0.25, 0.0, 0.5, 2.5, 3.5, 7.25], dtype=f32))),
    dict(name="random", src="fn main(x) { (random_uniform(7, (3, 4)), random_normal(11, (5,)) + x) }", args=dict(x=r(5))),
    dict(name="pad_concat_slice", src="fn main(a, b) { (pad(a, ((1, 0), (2, 1)), value=0.5), concat((a, b), 1), a[1:, :2], b.T, expand_dims(flatten(b), 0)) }",
         args=dict(a=r(3, 4), b=r(3, 2))),
    dict(name="layernorm_softmax", src="use nn;\nfn main(x, g, b) { (nn::layernorm(x, g, b), nn::log_softmax(x), nn::gelu(x)) }",
         args=dict(x=r(4, 6), g=r(6), b=r(6))),
]


def conformance_cases(path):
    spec = importlib.util.spec_from_file_location("cases", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [c for c in mod.CASES if c.get("exit", 0) == 0]


def as_array(v):
    if isinstance(v, np.ndarray):
        return v
    return np.asarray(v, dtype=f32 if isinstance(v, float) else np.int32)


def sh(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        errors = [line for line in p.stderr.splitlines() if "error" in line] or p.stderr.strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(argv[:4])}...: exit {p.returncode}: " + "\n".join(errors[:5]))
    return p.stdout


def run_iree(vmfb, entry, inputs):
    config = ireert.Config("local-task")
    ctx = ireert.SystemContext(config=config)
    with open(vmfb, "rb") as f:
        ctx.add_vm_module(ireert.VmModule.copy_buffer(ctx.instance, f.read()))
    fn = ctx.modules.module[entry]
    out = fn(*inputs)
    if not isinstance(out, (list, tuple)):
        out = [out]
    return [np.asarray(o.to_host() if hasattr(o, "to_host") else o) for o in out]


def check_case(tensorc, iree_compile, case, d):
    prog = os.path.join(d, "prog.tc")
    with open(prog, "w") as f:
        f.write(case["src"])
    entry = case.get("entry", "main")
    args, inputs = [], []
    for name, value in case.get("args", {}).items():
        a = as_array(value)
        p = os.path.join(d, name + ".npy")
        np.save(p, a)
        args.append(f"{name}={p}")
        inputs.append(a)
    out = os.path.join(d, "out")
    sh([tensorc, "run", prog, "-e", entry, *args, "-o", out, "--backend", "interp"])
    want = []
    while os.path.exists(os.path.join(out, f"{len(want)}.npy")):
        want.append(np.load(os.path.join(out, f"{len(want)}.npy")))
    failures = []
    for stage, flags in (("mlir", []), ("stablehlo", ["--iree-input-type=stablehlo"])):
        try:
            text = sh([tensorc, "emit", prog, "-e", entry, "--stage", stage, *args])
            src = os.path.join(d, f"{stage}.mlir")
            with open(src, "w") as f:
                f.write(text)
            vmfb = os.path.join(d, f"{stage}.vmfb")
            sh([iree_compile, src, *flags, "--iree-hal-target-device=local", "--iree-hal-local-target-device-backends=llvm-cpu",
                "--iree-llvmcpu-target-cpu=host", "-o", vmfb])
            got = run_iree(vmfb, entry, inputs)
        except (RuntimeError, ValueError) as e:  # ValueError: IREE's runtime refusing the call
            failures.append(f"{stage}: {e}")
            continue
        if len(got) != len(want):
            failures.append(f"{stage}: {len(got)} outputs, wanted {len(want)}")
            continue
        for i, (g, w) in enumerate(zip(got, want)):
            g = g.astype(w.dtype) if g.dtype != w.dtype and w.dtype == np.bool_ else g
            # MLIR's integers are signless: IREE hands an i8 result back as int8.
            g = g.view(np.uint8) if g.dtype == np.int8 and w.dtype == np.uint8 else g
            if g.shape != w.shape or g.dtype != w.dtype:
                failures.append(f"{stage} output {i}: {g.dtype}{list(g.shape)}, wanted {w.dtype}{list(w.shape)}")
            elif w.dtype.kind == "f":
                if not np.allclose(g, w, rtol=1e-4, atol=1e-5, equal_nan=True):
                    failures.append(f"{stage} output {i}: max abs error {np.nanmax(np.abs(g - w))}")
            elif not np.array_equal(g, w):
                failures.append(f"{stage} output {i}: {g.ravel()[:8]} != {w.ravel()[:8]}")
    return failures


def check_in_folder(tensorc, iree_compile, case):
    """check_case in a fresh temporary folder (one worker process's task)."""
    with tempfile.TemporaryDirectory() as d:
        try:
            return check_case(tensorc, iree_compile, case, d)
        except RuntimeError as e:
            return [str(e)]


def main():
    tensorc = os.path.abspath(sys.argv[1])
    iree_compile = os.path.join(os.path.dirname(sys.executable), "iree-compile")
    cases = OWN_CASES + (conformance_cases(sys.argv[2]) if len(sys.argv) > 2 else [])
    passed = failed = skipped = 0
    run = [c for c in cases if not c.get("skip_backends", {}).get("iree")]
    for case in cases:
        reason = case.get("skip_backends", {}).get("iree")
        if reason:
            skipped += 1
            print(f"skip {case['name']}: {reason}")
    jobs = int(os.environ.get("IREE_CHECK_JOBS", os.cpu_count() or 1))
    # Spawned workers (not forked): IREE's runtime holds threads once loaded.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
        results = pool.map(check_in_folder, [tensorc] * len(run), [iree_compile] * len(run), run)
        for case, failures in zip(run, results):
            if failures:
                failed += 1
                print(f"FAIL {case['name']}")
                for f in failures:
                    print(f"    {f[:2000]}")
            else:
                passed += 1
                print(f"ok   {case['name']}", flush=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
