#!/usr/bin/env bash
# Runs Cube's whole test suite from a fresh clone: installs the Debian packages it needs, starts
# dockerd and builds the local test image (the docker driver tests use the real engine), builds
# with warnings as errors, and runs ctest.
#
#   ./scripts/test.sh              # gcc build in build-test/, every test
#   ./scripts/test.sh -R Cluster   # extra arguments go to ctest
#   ./scripts/test.sh --sanitize   # clang build in build-asan/: the unit tests under
#                                  # AddressSanitizer + UndefinedBehaviorSanitizer, and the
#                                  # thread-safety annotations checked (-Wthread-safety -Werror)
#
# The sanitizer build compiles every library and executable but only the unit-test binaries
# (target unit_tests), and runs `ctest -L unit`: the integration tests run in the gcc build.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=OFF
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=ON
  shift
fi

./scripts/install-deps.sh
./scripts/start-dockerd.sh
./scripts/build-test-image.sh

jobs=$(nproc)
if [ "$sanitize" = ON ]; then
  build_dir=build-asan
  # -O1 and line tables only: ASan reports still name file and line, and the build takes about
  # half the time of -O2 -g. clang, because only clang checks the thread-safety annotations
  # (common/mutex.h); compiling is that check.
  CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DCUBE_WERROR=ON -DCUBE_SANITIZE=ON \
    -DCUBE_THREAD_SAFETY=ON >/dev/null
  cmake --build "$build_dir" -j"$jobs" --target unit_tests cube-broker cube-agent cube-client \
    cube-bench placement_bench codec_bench
  ctest_args=(-L unit)
else
  build_dir=build-test
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUBE_WERROR=ON >/dev/null
  cmake --build "$build_dir" -j"$jobs"
  ctest_args=()
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" "${ctest_args[@]}" "$@"
