#!/usr/bin/env bash
# Builds Cube's libFuzzer targets (tests/fuzz) with clang, -fsanitize=fuzzer,address,undefined,
# in build-fuzz/, and runs each one for FUZZ_SECONDS on a copy of its committed corpus. Fails on
# any crash, leak, timeout or sanitizer report; prints the executions run per target.
#
#   ./scripts/fuzz.sh                    # every target, 60 s each
#   FUZZ_SECONDS=30 ./scripts/fuzz.sh    # what .ci/run does
#   ./scripts/fuzz.sh http_api_fuzz      # only the targets named
#
# The committed corpus is never modified: new interesting inputs stay in the temporary copy.
# A finding is kept in build-fuzz/fuzz-findings/<target>/ (see tests/fuzz/README.md, "When the
# fuzzer finds something"). Environment: FUZZ_SECONDS (default 60), FUZZ_BUILD_DIR (default
# build-fuzz), FUZZ_JOBS (build parallelism, default 2), FUZZ_MAX_LEN (default 8192).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${FUZZ_SECONDS:-60}
build_dir=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-2}
max_len=${FUZZ_MAX_LEN:-8192}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(codec_fuzz task_json_fuzz http_api_fuzz)
fi

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ is not installed; run scripts/install-deps.sh" >&2
  exit 1
fi

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCUBE_FUZZ=ON -DCUBE_WERROR=ON >/dev/null
cmake --build "$build_dir" -j"$jobs" --target "${targets[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/cube-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
findings=$build_dir/fuzz-findings
# Reports must name source lines; leaks are findings (libFuzzer's default with ASan).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x /usr/bin/llvm-symbolizer-14 ]; then
  export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
fi

failed=()
summary=$(printf '%-16s %8s %12s %10s %8s  %s' TARGET SECONDS EXECUTIONS EXEC/S CORPUS RESULT)
for target in "${targets[@]}"; do
  binary=$build_dir/tests/fuzz/$target
  seeds=tests/fuzz/corpus/$target
  corpus=$work/$target/corpus
  artifacts=$work/$target/artifacts
  log=$work/$target/log
  mkdir -p "$corpus" "$artifacts"
  if [ -d "$seeds" ]; then cp -R "$seeds/." "$corpus/"; fi
  args=(-max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048
    -print_final_stats=1 -artifact_prefix="$artifacts/")
  if [ -f "tests/fuzz/$target.dict" ]; then args+=(-dict="tests/fuzz/$target.dict"); fi

  echo "fuzz.sh: $target for ${seconds}s on $(find "$corpus" -type f | wc -l) seed files"
  set +e
  "$binary" "${args[@]}" "$corpus" >"$log" 2>&1
  status=$?
  set -e

  executions=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log" | tail -n 1)
  rate=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log" | tail -n 1)
  size=$(find "$corpus" -type f | wc -l)
  result=ok
  if [ "$status" -ne 0 ] ||
    grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant broken|SUMMARY: ' "$log"; then
    result="FAILED (exit $status)"
    failed+=("$target")
    mkdir -p "$findings/$target"
    cp -R "$artifacts/." "$findings/$target/" 2>/dev/null || true
    cp "$log" "$findings/$target/fuzz.log"
    echo "fuzz.sh: $target FAILED; the report (last 60 lines), full log and input in $findings/$target/:" >&2
    tail -n 60 "$log" >&2
  fi
  summary+=$'\n'$(printf '%-16s %8s %12s %10s %8s  %s' "$target" "$seconds" "${executions:-?}" \
    "${rate:-?}" "$size" "$result")
done

echo
echo "$summary"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
