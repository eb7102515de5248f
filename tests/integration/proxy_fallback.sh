#!/usr/bin/env bash
# Missed-call fallback (issue 8): for each way the Realtime API can fail --
# unreachable, upgrade refused 401, refused 429, a fatal error event, a
# drop mid-call -- the caller hears the FALLBACK_AUDIO prompt byte for byte
# and to its end (the stream closes only after the prompt's mark echo), and
# the restaurant gets POST /api/messages ("missed call, please call back",
# the caller's number, Idempotency-Key callSid:message) plus the call log
# whose endReason names the failure. Also: FALLBACK_AUDIO missing / empty /
# oversized -> exit 2 with one line; the default path is found from any cwd.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

PROMPT="$ROOT/proxy/audio/fallback-fr.ulaw"
[ -s "$PROMPT" ] || fail "no shipped prompt $PROMPT"
PSIZE=$(stat -c %s "$PROMPT")
BUILD_ABS=$(cd "$BUILD" && pwd)

start_dash

# wait_dash FROM PATH: the dashboard recorded a POST of PATH for that caller
wait_dash() {
  for _ in $(seq 150); do
    grep -F "\"from\":\"$1\"" "$T/dash.jsonl" 2>/dev/null | grep -qF "\"path\":\"$2\"" && return 0
    sleep 0.1
  done
  return 1
}

# one LABEL FROM REASON [fake_realtime args | "down"]
one() {
  local label=$1 from=$2 reason=$3; shift 3
  if [ "${1:-}" = down ]; then RT_PORT=$(free_port); RT_PID=; else start_rt "$@"; fi
  start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT" OPENAI_CONNECT_TIMEOUT_MS=1000
  twc --restaurant-id pizza-napoli --from "$from" --tone 300:1000 --duration-ms 1000 --wait-close \
    --max-ms 20000 --rx-audio "$T/$label.rx" --summary "$T/$label.json" >/dev/null \
    || fail "$label: twilio_client"
  cmp "$PROMPT" "$T/$label.rx" || fail "$label: the caller did not hear the fallback prompt exactly"
  python3 - "$T/$label.json" "$PSIZE" <<'PY' || fail "$label: the prompt was not played to its end"
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1]); n = int(sys.argv[2])
assert s["server_closed"], s
assert s["played_bytes"] == n, (s["played_bytes"], n)
assert s["ms"] >= n / 8, ("closed before the prompt could play", s["ms"])
PY
  wait_dash "$from" /api/messages || fail "$label: no missed-call message at the dashboard"
  wait_dash "$from" /api/calls || fail "$label: no call log at the dashboard"
  health | grep -q '"fallbacks":1' || fail "$label: /health fallbacks: $(health)"
  grep -q "call ended: $reason" "$T/vp.log" || fail "$label: end reason $reason not logged"
  stop_vp
  [ "$VP_RC" = 0 ] || fail "$label: voiceproxy exit $VP_RC"
  if [ -n "$RT_PID" ]; then stop_rt; [ "$RT_RC" = 0 ] || fail "$label: contract violations"; fi
  python3 - "$T/dash.jsonl" "$from" "$reason" <<'PY' || fail "$label: dashboard requests"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
frm, reason = sys.argv[2], sys.argv[3]
msgs = [r for r in reqs if r["path"] == "/api/messages" and r["body"].get("from") == frm]
logs = [r for r in reqs if r["path"] == "/api/calls" and r["body"].get("from") == frm]
assert len(msgs) == 1 and len(logs) == 1, (len(msgs), len(logs))
m, l = msgs[0], logs[0]
sid = l["body"]["callSid"]
assert sid.startswith("CA") and m["body"]["callSid"] == sid, (m["body"], sid)
assert m["status"] == 200 and m["idempotencyKey"] == sid + ":message", m
assert m["body"]["restaurantId"] == "pizza-napoli" and m["body"]["source"] == "voiceproxy", m["body"]
assert m["body"]["message"].startswith("missed call, please call back"), m["body"]
assert reason in m["body"]["message"], m["body"]["message"]
assert l["body"]["endReason"] == reason, l["body"]["endReason"]
print(frm, reason, "ok")
PY
}

one down  +33610000001 openai_unreachable down
one r401  +33610000002 openai_auth --refuse 401
one r429  +33610000003 openai_rate_limited --refuse 429
one error +33610000004 openai_error --at 800:error:server_error:"The server had an error"
one drop  +33610000005 openai_dropped --at 1000:close

# FALLBACK_AUDIO is checked once at start: one line, exit 2
bad_cfg() { # label expected-substring value
  local out rc
  out=$(cd "$T" && env -i PATH="$PATH" ENV_FILE=/nonexistent OPENAI_REALTIME_URL=ws://127.0.0.1:1/x \
    PORT=0 BIND_ADDR=127.0.0.1 SPOOL_DIR="$T/spool" FALLBACK_AUDIO="$3" \
    timeout 10 "$BUILD_ABS/voiceproxy" 2>&1 >/dev/null); rc=$?
  [ "$rc" = 2 ] || fail "FALLBACK_AUDIO $1: exit $rc, want 2 ($out)"
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "FALLBACK_AUDIO $1: not one line: $out"
  printf '%s\n' "$out" | grep -q "^config: FALLBACK_AUDIO: .*$2" || fail "FALLBACK_AUDIO $1: $out"
}
: >"$T/empty.ulaw"
head -c 300000 /dev/zero >"$T/big.ulaw"
bad_cfg missing "No such file" "$T/nope.ulaw"
bad_cfg empty "non-empty" "$T/empty.ulaw"
bad_cfg oversized "at most" "$T/big.ulaw"

# the default path is found from another working directory (via the binary)
(cd / && exec env -i PATH="$PATH" ENV_FILE=/nonexistent OPENAI_REALTIME_URL=ws://127.0.0.1:1/x PORT=0 \
  BIND_ADDR=127.0.0.1 SPOOL_DIR="$T/spool" "$BUILD_ABS/voiceproxy" >"$T/cwd.log" 2>&1) &
P=$!; PIDS+=("$P")
for _ in $(seq 100); do grep -q 'listening on' "$T/cwd.log" && break; sleep 0.05; done
grep -q "fallback prompt: .*proxy/audio/fallback-fr.ulaw" "$T/cwd.log" || fail "default prompt not found from /: $(cat "$T/cwd.log")"
kill -TERM "$P"; wait "$P" || fail "voiceproxy (cwd /) exit $?"
echo "proxy_fallback: ok"
