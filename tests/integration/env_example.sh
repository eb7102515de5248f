#!/usr/bin/env bash
# .env.example documents exactly the settings the binaries know: every
# variable in `voiceproxy --help` and `sipbridge --help` appears in it, and
# every variable it names is known to one of them.
set -u
BUILD=${BUILD:-build/asan}; cd "${ROOT:-.}"
help=$( "$BUILD/voiceproxy" --help; "$BUILD/sipbridge" --help ) || { echo "--help failed"; exit 1; }
known=$(grep -oE '\b[A-Z][A-Z0-9_]{2,}\b' <<<"$help" | sort -u)
in_help=$(grep -oE '^  --[a-z-]+ +[A-Z A-Z0-9_]*  +[A-Z][A-Z0-9_]+,|^  [A-Z][A-Z0-9_]+ ' <<<"$help" | grep -oE '[A-Z][A-Z0-9_]{2,}' | grep -vE '^(VALUE|URL|PORT|N|LEVEL|KEY|MIN|MAX)$' | sort -u)
in_help=$(printf '%s\nPORT\n' "$in_help" | grep -v '^PARAMS$' | sort -u)
in_example=$(grep -oE '^#? ?[A-Z][A-Z0-9_]+=' .env.example | tr -d '# =' | sort -u)
rc=0
for v in $in_help; do grep -qx "$v" <<<"$in_example" || { echo "missing from .env.example: $v"; rc=1; }; done
for v in $in_example; do grep -qx "$v" <<<"$known" || { echo ".env.example names an unknown setting: $v"; rc=1; }; done
[ $rc -eq 0 ] && echo "$(wc -w <<<"$in_help") settings documented"
exit $rc
