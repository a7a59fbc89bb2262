#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer on the stable toolchain (no cargo-fuzz, no
# nightly): builds the targets in fuzz/ with SanitizerCoverage instrumentation and
# runs one for SECONDS, keeping its corpus in fuzz/corpus/TARGET and any crashing
# input in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz.sh parse 600          the parser on arbitrary bytes
#   scripts/fuzz.sh check 600          parse, check, specialise and simplify
#   scripts/fuzz.sh differential 1200  generated programs: interpreter against CPU JIT
#   scripts/fuzz.sh differential 0 fuzz/artifacts/differential/crash-...   replay one input
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS [INPUT...]}
seconds=${2:-60}
shift 2 || shift $#

export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps the instrumentation off build scripts and proc macros.
triple=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --locked --target "$triple" --bin "$target"
bin="target/$triple/release/$target"

mkdir -p "corpus/$target" "artifacts/$target"
if [ $# -gt 0 ]; then
    exec "$bin" "$@"
fi
# The front-end targets start from the repository's programs (read, never written).
# The differential target reads at most ~100 bytes (24 steps); longer inputs add nothing,
# so it starts at full length instead of growing it slowly.
seeds=()
lengths=(-max_len=4096)
case $target in
    parse|check) seeds=(../tests/cases ../examples ../stdlib) ;;
    differential) lengths=(-max_len=128 -len_control=0) ;;
esac
# The rss limit catches unbounded allocation; the timeout, hangs.
exec "$bin" "corpus/$target" "${seeds[@]}" -artifact_prefix="artifacts/$target/" \
    -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 "${lengths[@]}" -print_final_stats=1
