#!/usr/bin/env bash
# The whole test suite: every crate's tests, then the public conformance suite on each
# backend that this build has. Works on a fresh machine: installs what it lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import numpy' 2>/dev/null; then
    echo "installing numpy for the conformance runner"
    python3 -m pip install --quiet numpy
fi

cargo test --workspace --locked --no-fail-fast

conformance=../shared/conformance
if [ -f "$conformance/runner.py" ]; then
    for backend in interp cpu; do
        echo "conformance, --backend $backend"
        python3 "$conformance/runner.py" target/debug/tensorc "$conformance/cases_public.py" --backend "$backend"
    done
else
    echo "no $conformance/runner.py beside this checkout; skipping the conformance suite"
fi
