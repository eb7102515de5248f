#!/usr/bin/env bash
# Runs every unit test (cmocka programs) and every integration test script,
# then prints one closing line: "tests: N passed, N failed, N skipped".
# Usage: tests/run.sh [BUILD_DIR]   (default build/asan)
# Integration scripts (tests/integration/*.sh) get BUILD (the binaries' dir)
# and exit 0 = pass, 77 = skipped (with a reason on stderr), else fail.
# Set ONLY=pattern to run a subset.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build/asan}
export BUILD ROOT=$PWD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One log directory per run, so runs side by side never delete each other's logs.
mkdir -p "$BUILD/test-logs"
LOGDIR=${TEST_LOGDIR:-$(mktemp -d "$BUILD/test-logs/run-$(date +%H%M%S)-XXXX")}
mkdir -p "$LOGDIR"
echo "test logs: $LOGDIR"
pass=0; fail=0; skip=0; failed=()

run_one() { # name timeout cmd...
  local name=$1 to=$2; shift 2
  local log="$LOGDIR/${name//\//_}.log" t0=$SECONDS rc
  timeout -k 5 "$to" "$@" >"$log" 2>&1; rc=$?
  if [ $rc -eq 0 ]; then pass=$((pass+1)); echo "PASS  $name ($((SECONDS-t0))s)"
  elif [ $rc -eq 77 ]; then skip=$((skip+1)); echo "SKIP  $name: $(tail -n1 "$log")"
  else fail=$((fail+1)); failed+=("$name"); echo "FAIL  $name (exit $rc, $((SECONDS-t0))s), last lines of $log:"
    tail -n 25 "$log" | sed 's/^/    | /'
  fi
  # cmocka's own summary lines, kept visible
  grep -E '^\[  (PASSED|FAILED)  \]' "$log" | sed 's/^/      /' || true
}

for t in "$BUILD"/tests/unit/test_*; do
  [ -x "$t" ] || continue
  [ -n "${ONLY:-}" ] && [[ $t != *$ONLY* ]] && continue
  run_one "unit/$(basename "$t")" 120 "$t"
done
for t in tests/integration/*.sh; do
  [ -f "$t" ] || continue
  [ -n "${ONLY:-}" ] && [[ $t != *$ONLY* ]] && continue
  run_one "integration/$(basename "$t" .sh)" 300 bash "$t"
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
