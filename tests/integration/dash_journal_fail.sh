#!/usr/bin/env bash
# The journal cannot be written (issue 4, "nothing lost" made honest): the
# order is kept and retried from memory, but the model is NOT told "noted":
# its function_call_output says the request could not be confirmed; an error
# line carries the call id; /health counts journal_failures. Once the
# dashboard accepts again, the order still arrives, exactly once.
#  (1) SPOOL_DIR unusable from the start (a path under a file: /dev/null/x);
#  (2) SPOOL_DIR usable at start, then replaced by a file (writes fail in the
#      thread pool).
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

start_dash
DASH="http://127.0.0.1:$DASH_PORT"
control() { curl -s --max-time 5 -X POST -H 'Content-Type: application/json' -d "$1" "$DASH/__control" >/dev/null; }
accepted() { # FROM: accepted (2xx, not duplicate) orders from that caller
  python3 - "$T/dash.jsonl" "$1" <<'PY'
import json, sys
print(sum(1 for l in open(sys.argv[1]) if l.strip() for r in [json.loads(l)]
          if r["path"] == "/api/orders" and r["body"].get("from") == sys.argv[2]
          and 200 <= r["status"] < 300 and not r["duplicate"]))
PY
}
ORDER='{"customerName":"Léa","items":[{"name":"Calzone","quantity":1}]}'

one() { # label from spool_dir [mid-run: replace the dir by a file]
  local label=$1 from=$2 spool=$3 break_it=${4:-}
  control '{"mode":"down","status":503,"path":"/api/orders"}'
  start_rt --at 1200:call:create_order:"$ORDER"
  start_vp DASHBOARD_URL="$DASH" SPOOL_DIR="$spool" DASHBOARD_TOOL_TIMEOUT_MS=1000 \
    DASHBOARD_RETRY_MIN_MS=200 DASHBOARD_RETRY_MAX_MS=400
  if [ -n "$break_it" ]; then rm -rf "$spool"; : >"$spool"; fi
  twc --tone 300:3000 --duration-ms 3000 --restaurant-id pizza-napoli --from "$from" \
    --summary "$T/$label.json" >/dev/null || fail "$label: twilio_client"
  python3 - "$T/rec.jsonl" <<'PY' || fail "$label: the model was not told the truth"
import json, sys
ev = [json.loads(l)["event"] for l in open(sys.argv[1]) if l.strip()]
fco = [e["item"] for e in ev if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"]
assert len(fco) == 1, fco
out = json.loads(fco[0]["output"])
assert out.get("status") == "not_confirmed" and out.get("delivered") is False, out
assert "noted" not in out.get("status", ""), out
PY
  python3 "$ROOT/tests/lib/check_realtime_schema.py" "$T/rec.jsonl" >/dev/null || fail "$label: schema"
  grep -E "ERROR .*\[CA[0-9a-f]+\] dash: order .* NOT journaled" "$T/vp.log" >/dev/null \
    || fail "$label: no error line with the call id"
  health | grep -Eq '"journal_failures":[1-9]' || fail "$label: /health: $(health)"
  [ "$(accepted "$from")" = 0 ] || fail "$label: delivered while the dashboard refused"
  control '{"mode":"reset"}'
  for _ in $(seq 100); do [ "$(accepted "$from")" -ge 1 ] && break; sleep 0.1; done
  sleep 0.5
  [ "$(accepted "$from")" = 1 ] || fail "$label: order delivered $(accepted "$from") times from memory"
  stop_vp; stop_rt
  [ "$VP_RC" = 0 ] || fail "$label: voiceproxy exit $VP_RC"
  [ "$RT_RC" = 0 ] || fail "$label: contract violations"
  mv "$T/rec.jsonl" "$T/rec-$label.jsonl"
}

one nodir  +33630000001 /dev/null/x
one broken +33630000002 "$T/spool2" break
echo "dash_journal_fail: ok"
