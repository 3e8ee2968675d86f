#!/usr/bin/env bash
# Builds Cube with clang, -Wthread-safety and -Werror (CUBE_THREAD_SAFETY=ON) in build-tsa/;
# the build is the check: a CUBE_GUARDED_BY member touched without its cube::Mutex held, or a
# CUBE_REQUIRES function called without it, fails to compile (common/mutex.h). Everything is
# built (libraries, binaries, tests, bench) and nothing is run: the gcc build runs the tests.
#
#   ./scripts/thread-safety.sh                                    # what .ci/run does
#   CMAKE_CXX_COMPILER_LAUNCHER=ccache ./scripts/thread-safety.sh  # locally, on first configure
#
# Environment: TSA_BUILD_DIR (default build-tsa), TSA_JOBS (default: the number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${TSA_BUILD_DIR:-build-tsa}
jobs=${TSA_JOBS:-$(nproc)}

if ! command -v clang++ >/dev/null; then
  echo "thread-safety.sh: clang++ is not installed; run scripts/install-deps.sh" >&2
  exit 1
fi

# -O0 without -g: clang's warnings do not depend on the optimizer, and this build never runs.
CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 \
  -DCUBE_WERROR=ON -DCUBE_THREAD_SAFETY=ON >/dev/null
cmake --build "$build_dir" -j"$jobs"
echo "thread-safety.sh: clean (clang -Wthread-safety -Werror)"
