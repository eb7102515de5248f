#!/usr/bin/env bash
# Fuzz smoke: builds the libFuzzer variant (make fuzz, clang), replays every
# regression input (tests/fuzz/regress/X: past crashes, must stay fixed) and
# the seed corpora, then fuzzes each target for FUZZ_SMOKE_SECS (default 6)
# seconds, two targets at a time. Any crash, leak, UB, contract violation or
# hang fails the test. Long runs: tests/fuzz/run.sh SECONDS (docs/security.md).
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
command -v clang >/dev/null 2>&1 || { echo "skipped: clang not installed (make deps)" >&2; exit 77; }
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
  { echo "skipped: libFuzzer runtime missing (libclang-rt-14-dev; make deps)" >&2; exit 77; }

# Run from `make test`: do not inherit its jobserver or variables.
unset MAKEFLAGS MFLAGS MAKELEVEL
OUT=$(mktemp -d /tmp/voixia-fuzz.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
n=$(ls tests/fuzz/fuzz_*.c 2>/dev/null | wc -l)
[ "$n" -gt 0 ] || { echo "FAIL: no fuzz target in tests/fuzz" >&2; exit 1; }

t0=$SECONDS
FUZZ_OUT=$OUT FUZZ_JOBS=${FUZZ_JOBS:-2} tests/fuzz/run.sh "${FUZZ_SMOKE_SECS:-6}"; rc=$?
echo "fuzz smoke: $n targets, $((SECONDS - t0)) s, exit $rc"
if [ $rc -ne 0 ]; then
  # Keep what libFuzzer saved, for the report and the regress/ directory.
  mkdir -p build/fuzz/smoke-artifacts && cp -r "$OUT"/artifacts/. build/fuzz/smoke-artifacts/ 2>/dev/null
  for l in "$OUT"/logs/*.log; do echo "---- $l"; tail -n 40 "$l"; done
  echo "FAIL: fuzz smoke found a crash (artifacts in build/fuzz/smoke-artifacts)" >&2
  exit 1
fi
