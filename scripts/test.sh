#!/usr/bin/env bash
# The whole test suite: every crate's tests, then the public conformance suite on each
# backend that this build has. Works on a fresh machine: installs what it lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: Mesa's software Vulkan driver (the wgpu backend's tests run on it
# when there is no GPU) and CBC (the exact rematerialisation MILP the remat tests use
# as their oracle).
need=()
ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
[ -e /usr/include/coin/CbcSolver.hpp ] || [ -e /usr/include/coin-or/CbcSolver.hpp ] || need+=(coinor-libcbc-dev)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! python3 -c 'import numpy' 2>/dev/null; then
    echo "installing numpy for the conformance runner"
    python3 -m pip install --quiet numpy
fi

cargo test --workspace --locked --no-fail-fast

conformance=../shared/conformance
if [ -f "$conformance/runner.py" ]; then
    for backend in interp cpu wgpu; do
        echo "conformance, --backend $backend"
        python3 "$conformance/runner.py" target/debug/tensorc "$conformance/cases_public.py" --backend "$backend"
    done
else
    echo "no $conformance/runner.py beside this checkout; skipping the conformance suite"
fi
