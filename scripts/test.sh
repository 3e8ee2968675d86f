#!/usr/bin/env bash
# Runs Cube's whole test suite from a fresh clone: installs the Debian packages it needs, starts
# dockerd and builds the local test image (the docker driver tests use the real engine), builds
# with warnings as errors, and runs ctest.
#
#   ./scripts/test.sh              # normal build in build-test/
#   ./scripts/test.sh --sanitize   # AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   ./scripts/test.sh -R Cluster   # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=OFF
build_dir=build-test
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=ON
  build_dir=build-asan
  shift
fi

./scripts/install-deps.sh
./scripts/start-dockerd.sh
./scripts/build-test-image.sh

jobs=$(nproc)
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUBE_WERROR=ON \
  -DCUBE_SANITIZE="$sanitize" >/dev/null
cmake --build "$build_dir" -j"$jobs"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" "$@"
