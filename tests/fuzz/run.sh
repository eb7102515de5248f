#!/usr/bin/env bash
# Runs the libFuzzer targets (tests/fuzz/fuzz_*.c, built by `make fuzz`).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     default: 300 s each, every target
#   tests/fuzz/run.sh 600 sdp twilio            ten minutes on two targets
#   FUZZ_JOBS=1 tests/fuzz/run.sh 60            one target at a time
#
# Each target starts from its seeds (tests/fuzz/corpus/X), the regression
# inputs (tests/fuzz/regress/X: every past crash, must stay fixed) and what
# earlier runs found (build/fuzz/corpus/X, where new inputs are written; the
# committed seeds are never modified). Crashes, leaks, UB and timeouts are
# saved under build/fuzz/artifacts/X/; copy a reproducer into
# tests/fuzz/regress/X/ once understood. Logs: build/fuzz/logs/X.log.
# FUZZ_OUT=DIR puts corpus/, artifacts/ and logs/ there instead of build/fuzz
# (the smoke test uses a temporary one). FUZZ_NOBUILD=1 skips `make fuzz`.
# Exit status: 0 when no target failed, 1 otherwise (each failure listed).
set -u
cd "$(dirname "$0")/../.."
SECS=${1:-300}
shift || true
[[ $SECS =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2; }
JOBS=${FUZZ_JOBS:-$(nproc)}

OUT=${FUZZ_OUT:-build/fuzz}
mkdir -p build/fuzz "$OUT"
if [ -z "${FUZZ_NOBUILD:-}" ]; then
  make --no-print-directory -j"$JOBS" fuzz >"$OUT/make.log" 2>&1 ||
    { grep -E 'error|Error' "$OUT/make.log" | head -n 20 >&2; echo "fuzz: make fuzz failed (log: $OUT/make.log)" >&2; exit 1; }
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do t=${f##*/fuzz_}; targets+=("${t%.c}"); done
fi

export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_target() { # name -> exit status of the fuzzer
  local t=$1 bin=build/fuzz/fuzz_$1
  local work=$OUT/corpus/$t art=$OUT/artifacts/$t/ log=$OUT/logs/$t.log
  local dirs=("$work") regress=()
  mkdir -p "$work" "$art" "$OUT/logs"
  : >"$log"
  [ -d tests/fuzz/corpus/$t ] && dirs+=(tests/fuzz/corpus/$t)
  local dict=() ; [ -f tests/fuzz/$t.dict ] && dict=(-dict=tests/fuzz/$t.dict)
  [ -x "$bin" ] || { echo "fuzz: $bin missing" >"$log"; return 1; }
  # Every past crash first, one by one, so a regression names its input.
  [ -d tests/fuzz/regress/$t ] && mapfile -t regress < <(find tests/fuzz/regress/$t -type f ! -name '*.md' | sort)
  if [ ${#regress[@]} -gt 0 ]; then
    "$bin" -timeout=10 -rss_limit_mb=2048 -error_exitcode=3 -timeout_exitcode=4 \
      -artifact_prefix="$art" "${regress[@]}" >>"$log" 2>&1 || { echo "fuzz: regression input failed" >>"$log"; return 3; }
    dirs+=(tests/fuzz/regress/$t)
  fi
  # -timeout: one input taking 10 s is a hang (a finding, not a pause).
  "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -error_exitcode=3 -timeout_exitcode=4 -print_final_stats=1 \
    -artifact_prefix="$art" "${dict[@]}" "${dirs[@]}" >>"$log" 2>&1
}

fail=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  mkdir -p "$OUT/logs"; rm -f "$OUT/logs/$t.rc"
  { run_target "$t"; echo $? >"$OUT/logs/$t.rc"; } &
done
wait
for t in "${targets[@]}"; do
  rc=$(cat "$OUT/logs/$t.rc" 2>/dev/null || echo 1)
  log=$OUT/logs/$t.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1)
  if [ $rc -eq 0 ]; then
    echo "fuzz: $t ok (${SECS}s, ${execs:-?} runs, ${cov:-cov: ?})"
  else
    fail+=("$t")
    echo "fuzz: $t FAILED (exit $rc); artifacts in $OUT/artifacts/$t/; log $log:"
    grep -E 'ERROR|SUMMARY|contract violated|runtime error|Test unit written|deadly signal|Running: |regression input|does not|invalid JSON|missing' "$log" | head -n 14 | sed 's/^/    | /'
  fi
done
[ ${#fail[@]} -eq 0 ] || { echo "fuzz: failed: ${fail[*]}"; exit 1; }
