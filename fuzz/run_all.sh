#!/usr/bin/env bash
# Build the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) in build-fuzz/ and run
# each for an equal share of a bounded time. Exit status non-zero when any target finds a crash, a
# sanitizer report, an unexpected exception, a leak, or an input that runs longer than 10 s.
#   usage: fuzz/run_all.sh [total_seconds=60] [build_dir=build-fuzz]
# Seeds come from fuzz/corpus/<target>/ (committed, small); what a run discovers goes to
# <build_dir>/corpus/<target>/ (never into the repository); crashing inputs to <build_dir>/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-60}
build=${2:-build-fuzz}
cxx=${EPSIM_FUZZ_CXX:-clang++}
command -v "$cxx" >/dev/null || { echo "fuzz/run_all.sh: $cxx not found (apt-get install clang libclang-rt-dev)" >&2; exit 2; }

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# -O1 with line tables: symbolized reports at a fraction of -O2 -g compile time (what libFuzzer suggests).
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" \
  -DEPSIM_FUZZ=ON -DEPSIM_BUILD_TESTS=OFF -DEPSIM_BUILD_BENCH=OFF -DEPSIM_CUDA=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" --target epsim_fuzzers -j "$(nproc)"

targets=$(sed -n 's/^epsim_fuzzer(\([a-z0-9_]*\).*/\1/p' fuzz/CMakeLists.txt)
n=$(echo "$targets" | wc -w)
each=$(( total / n > 0 ? total / n : 1 ))
mkdir -p "$build/artifacts"
failed=""
for t in $targets; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  echo "== $t: ${each}s"
  dict=fuzz/json.dict
  [ -f "fuzz/$t.dict" ] && dict="fuzz/$t.dict"
  # ASan's leak check stays on; UBSan aborts on the first report (-fno-sanitize-recover).
  if ! "$build/fuzz/$t" "$corpus" "fuzz/corpus/$t" -dict="$dict" -max_total_time="$each" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
        > "$build/$t.log" 2>&1; then
    failed="$failed $t"
    tail -40 "$build/$t.log"
  else
    grep -E '^(stat::number_of_executed_units|Done )' "$build/$t.log" | tr '\n' ' '; echo
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz/run_all.sh: FAILED:$failed (inputs in $build/artifacts/; reproduce with $build/fuzz/<target> <file>)" >&2
  exit 1
fi
echo "fuzz/run_all.sh: all $n targets clean"
