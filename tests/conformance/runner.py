#!/usr/bin/env python3
"""The conformance runner: runs each case of a cases file through the `tensorc` command line
on one backend and compares what it wrote with the NumPy oracle's values.

Usage: runner.py TENSORC CASES.py [--backend B] [--only NAME] [--jobs N]

CASES.py defines CASES, a list of dicts. Every case has `name` and `src` (the program), and
optionally `entry` (default `main`), `args` ({parameter: value}: an ndarray is written as
a .npy file, `bytes` as a raw file, a number is passed as NAME=NUMBER) and `skip_backends`
({backend: reason}: the case does not run there, and the reason is printed; the key `iree`
is read by scripts/iree_check.py). Then one of:
  expect=[array, ...]       the results, in order (`tensorc run -o DIR` writes DIR/0.npy,
                            DIR/1.npy, ...); floats compare within `rtol` and `atol`
                            (defaults 1e-4 and 1e-5; NaN matches NaN, inf matches the same
                            inf), everything else exactly; shapes and dtypes always exactly.
  exit=1, error=CODE, at=LINE:COL   a compile error: exit status 1, `error[CODE` (a prefix
                            of the code) in stderr and, when given, the location `:LINE:COL`.
  exit=2 or exit=3, stderr_has=TEXT  a usage (2) or runtime (3) error whose message
                            contains TEXT (case-insensitive).
A panic is always a failure, whatever the case expects.

Each case prints `PASS name`, `FAIL name: why` or `SKIP name: reason`; the last line is
`N passed, M failed, K skipped`. The exit status is 1 when any case failed, else 0.
CASE_TIMEOUT (seconds, default 120) bounds each run of tensorc. Cases run `--jobs` at a time
(default: the number of CPUs); their lines are printed in the file's order.
"""
import argparse
import concurrent.futures
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np

DEFAULT_RTOL = 1e-4
DEFAULT_ATOL = 1e-5


def load_cases(path):
    spec = importlib.util.spec_from_file_location("conformance_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


def write_args(case, folder):
    """The command-line arguments that bind the case's inputs, writing files into `folder`."""
    argv = []
    for name, value in case.get("args", {}).items():
        if isinstance(value, np.ndarray):
            path = os.path.join(folder, name + ".npy")
            np.save(path, value)
            argv.append(f"{name}={path}")
        elif isinstance(value, bytes):
            # Raw file contents, for the cases about malformed input files.
            path = os.path.join(folder, name + ".npy")
            with open(path, "wb") as f:
                f.write(value)
            argv.append(f"{name}={path}")
        else:
            argv.append(f"{name}={value}")
    return argv


def check_error(case, stderr):
    """Why an expected error's message is wrong, or None."""
    code = case.get("error")
    if code and f"error[{code}" not in stderr:
        return f"stderr lacks error[{code}...]: {stderr.strip()[:300]}"
    at = case.get("at")
    if at and f":{at}" not in stderr:
        return f"stderr lacks the location :{at}: {stderr.strip()[:300]}"
    has = case.get("stderr_has")
    if has and has.lower() not in stderr.lower():
        return f"stderr lacks {has!r}: {stderr.strip()[:300]}"
    return None


def compare(i, got, want, case):
    """Why result `i` differs from the expected array, or None."""
    want = np.asarray(want)
    if got.shape != want.shape:
        return f"output {i}: shape {got.shape}, wanted {want.shape}"
    if got.dtype != want.dtype:
        return f"output {i}: dtype {got.dtype}, wanted {want.dtype}"
    if want.dtype.kind in "fc":
        g, w = got.astype(np.float64), want.astype(np.float64)
        rtol, atol = case.get("rtol", DEFAULT_RTOL), case.get("atol", DEFAULT_ATOL)
        close = np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
        if not close.all():
            at = np.unravel_index(np.argmin(close), close.shape) if close.ndim else ()
            return (f"output {i}: {np.count_nonzero(~close)} of {close.size} elements differ "
                    f"beyond rtol {rtol}, atol {atol}; first at {tuple(int(a) for a in at)}: "
                    f"got {g[at]}, wanted {w[at]}")
    elif not np.array_equal(got, want):
        differ = got != want
        at = np.unravel_index(np.argmax(differ), differ.shape) if differ.ndim else ()
        return (f"output {i}: {np.count_nonzero(differ)} of {differ.size} elements differ, "
                f"first at {tuple(int(a) for a in at)}: got {got[at]}, wanted {want[at]}")
    return None


def run_case(tensorc, case, backend, timeout):
    """None when the case passes, else why it fails."""
    with tempfile.TemporaryDirectory() as folder:
        prog = os.path.join(folder, "prog.tc")
        with open(prog, "w") as f:
            f.write(case["src"])
        out = os.path.join(folder, "out")
        argv = [tensorc, "run", prog, "-e", case.get("entry", "main"), *write_args(case, folder),
                "-o", out, "--backend", backend]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"timed out after {timeout} s"
        except OSError as e:
            return f"cannot run {tensorc}: {e}"
        if "panicked" in r.stderr or "RUST_BACKTRACE" in r.stderr:
            return "panicked: " + r.stderr.strip()[:300]
        want_exit = case.get("exit", 0)
        if r.returncode != want_exit:
            return f"exit {r.returncode}, wanted {want_exit}: {r.stderr.strip()[:300]}"
        if want_exit != 0:
            return check_error(case, r.stderr)
        expect = case["expect"]
        for i, want in enumerate(expect):
            path = os.path.join(out, f"{i}.npy")
            if not os.path.exists(path):
                return f"no output {i}.npy (stdout: {r.stdout.strip()[:200]})"
            why = compare(i, np.load(path), want, case)
            if why:
                return why
        if os.path.exists(os.path.join(out, f"{len(expect)}.npy")):
            return f"more outputs than the {len(expect)} expected"
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tensorc", help="the tensorc binary")
    parser.add_argument("cases", help="a cases file (a Python file defining CASES)")
    parser.add_argument("--backend", default="interp", help="interp, cpu, wgpu or mlir")
    parser.add_argument("--only", help="run only the case of this name")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="cases run at once (default: the CPUs)")
    args = parser.parse_args()
    timeout = float(os.environ.get("CASE_TIMEOUT", "120"))

    cases = load_cases(args.cases)
    names = [c["name"] for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        sys.exit(f"{args.cases}: case names used twice: {', '.join(duplicates)}")
    if args.only and args.only not in names:
        sys.exit(f"{args.cases}: no case named {args.only}")

    selected = [c for c in cases if not args.only or c["name"] == args.only]

    def outcome(case):
        """(status, text): SKIP with its reason, PASS, or FAIL with why."""
        reason = case.get("skip_backends", {}).get(args.backend)
        if reason:
            return "SKIP", reason
        why = run_case(args.tensorc, case, args.backend, timeout)
        return ("PASS", None) if why is None else ("FAIL", why)

    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    # Each case is its own tensorc process, so threads run them in parallel.
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for case, (status, text) in zip(selected, pool.map(outcome, selected)):
            counts[status] += 1
            print(f"{status} {case['name']}" + (f": {text}" if text else ""), flush=True)
    passed, failed, skipped = counts["PASS"], counts["FAIL"], counts["SKIP"]
    print(f"{passed} passed, {failed} failed, {skipped} skipped (--backend {args.backend})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
