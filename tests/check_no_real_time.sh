#!/usr/bin/env bash
# Production and test code read time only through common/clock.h (STYLE.md habit 5): this check
# fails when real clocks or sleeps appear anywhere else in the C++ sources.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='std::chrono::steady_clock::now|std::chrono::system_clock::now|steady_clock::now\(|system_clock::now\(|this_thread::sleep_for|this_thread::sleep_until|\busleep\(|\bnanosleep\(|[^_.:a-z]sleep\('
hits=$(grep -rnE "$pattern" --include='*.cpp' --include='*.h' common protocol broker agent client gateway tests bench 2>/dev/null \
  | grep -v '^common/clock\.cpp:' || true)
if [ -n "$hits" ]; then
  echo "Real time or sleeps outside common/clock.cpp (inject a Clock instead):"
  echo "$hits"
  exit 1
fi
echo "no real-time reads or sleeps outside common/clock.cpp"
