#!/usr/bin/env bash
# Second command of the README: build and run the whole test suite, then the same suite under
# AddressSanitizer and UndefinedBehaviorSanitizer. --quick stops after the Release suite.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=no
case "$#:${1-}" in
  0:) ;;
  1:--quick) quick=yes ;;
  *) echo "usage: scripts/test.sh [--quick]" >&2; exit 2 ;;
esac
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release -j2
if [ "$quick" = yes ]; then exit 0; fi
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset sanitize -j2
