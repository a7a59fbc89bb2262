#!/usr/bin/env bash
# The whole test suite: every crate's tests, then the conformance suite (tests/conformance) on
# each backend that this build has. Works on a fresh machine: installs what it lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: Mesa's software Vulkan driver (the wgpu backend's tests run on it
# when there is no GPU), valgrind, CBC (the exact rematerialisation MILP the remat tests use
# as their oracle), and MLIR/LLVM 22 for the MLIR backend (melior links it statically;
# its build needs libclang, Polly and the compression/solver libraries LLVM was built with).
need=()
ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
[ -e /usr/include/coin/CbcSolver.hpp ] || [ -e /usr/include/coin-or/CbcSolver.hpp ] || need+=(coinor-libcbc-dev)
# For the Flower tests: a virtualenv (flwr==1.41.0), openssl (the TLS test's certificates)
# and Fashion-MNIST (the federation's data).
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
command -v openssl >/dev/null || need+=(openssl)
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
# valgrind: the C API's example runs under it (bindings/c/tests/c_host.rs).
command -v valgrind >/dev/null || need+=(valgrind)
llvm=/usr/lib/llvm-22
[ -x $llvm/bin/mlir-tblgen ] && [ -e $llvm/lib/libMLIR.so ] && [ -e $llvm/lib/libclang.so ] && [ -e $llvm/lib/libPolly.a ] ||
    need+=(libmlir-22-dev mlir-22-tools llvm-22-dev libclang-22-dev libpolly-22-dev libzstd-dev libz3-dev libxml2-dev)
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

export MLIR_SYS_220_PREFIX=$llvm TABLEGEN_220_PREFIX=$llvm LIBCLANG_PATH=$llvm/lib
# One build, no incremental caches: they would take gigabytes of disk beside the build
# and speed up nothing here.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

# Every library first, libtensorc.so among them (the C API's test links examples/c_host
# against it, and `cargo test` alone does not build a cdylib); built for the whole
# workspace so that the tests reuse it with the same features.
cargo build --workspace --locked
cargo test --workspace --locked --no-fail-fast

# The Python package, built by its own pyproject.toml (maturin) into a virtualenv under
# target/ and tested with pytest; the dev profile reuses what the workspace tests built.
echo "Python package (bindings/python)"
venv=target/py-venv
[ -x $venv/bin/python ] || python3 -m venv $venv
$venv/bin/python -m pip install --quiet --upgrade pip pytest numpy ml_dtypes
MATURIN_PEP517_ARGS="--profile dev" $venv/bin/python -m pip install --quiet --force-reinstall --no-deps ./bindings/python
$venv/bin/python -m pytest -q bindings/python/tests

# The MLIR backend (cargo feature `mlir`): its JIT tests, the CLI's tests with it, and the
# binary the conformance suite runs (every backend), in one build (one feature resolution).
cargo test --locked -p tc-mlir -p tensorc-cli --features tensorc-cli/mlir --no-fail-fast \
    --lib --test emit --test jit --test llvm_tools --test cli

cases=tests/conformance/cases.py
for backend in interp cpu wgpu mlir; do
    echo "conformance, --backend $backend"
    python3 tests/conformance/runner.py target/debug/tensorc "$cases" --backend "$backend"
done

echo "IREE: tensorc's MLIR and StableHLO against the interpreter"
./scripts/iree_check.sh target/debug/tensorc "$cases"

echo "Flower: tensorc nodes in real flwr==1.41.0 federations (Fashion-MNIST, a killed node, a stock supernode), TLS and node auth, a fake SuperLink"
./tests/flower/e2e.sh target/debug/tensorc
./tests/flower/tls_auth.sh target/debug/tensorc
./tests/flower/fake_superlink.sh target/debug/tensorc
