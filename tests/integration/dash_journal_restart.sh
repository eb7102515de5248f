#!/usr/bin/env bash
# Nothing lost: the dashboard is down during a call that takes an order.
# The model hears "noted" only once the order is journaled (SPOOL_DIR), and
#  (A) the dashboard comes back while voiceproxy runs: the order and the
#      call log arrive, exactly once each;
#  (B) voiceproxy is SIGKILLed after the call, the dashboard comes back, a
#      new voiceproxy replays the journal: the order and call log arrive,
#      exactly once each, and the journal ends empty.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

restart_dash() { # same port; it may take a moment to be free again
  for _ in $(seq 50); do
    start_dash --port "$DASH_PORT" && kill -0 "$DASH_PID" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "fake_dashboard did not restart on port $DASH_PORT"
}
kill_dash() { kill -TERM "$DASH_PID"; wait "$DASH_PID" 2>/dev/null; }
journal() { ls "$T/spool" 2>/dev/null | grep -c '\.json$'; }

# accepted PATH KEY_PREFIX: requests accepted (2xx, not duplicates)
accepted() {
  python3 - "$T/dash.jsonl" "$1" "$2" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] == sys.argv[2] and (r["idempotencyKey"] or "").startswith(sys.argv[3]) \
       and 200 <= r["status"] < 300 and not r["duplicate"]:
        n += 1
print(n)
PY
}
wait_accepted() { # PATH KEY_PREFIX SECONDS
  for _ in $(seq $(( $3 * 10 ))); do [ "$(accepted "$1" "$2")" -ge 1 ] && return 0; sleep 0.1; done
  return 1
}
noted_sid() { # the function_call_output said "noted"; prints the call's callSid
  python3 - "$T/rec.jsonl" <<'PY'
import json, sys
ev = [json.loads(l)["event"] for l in open(sys.argv[1]) if l.strip()]
fco = [e["item"] for e in ev if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"]
assert len(fco) >= 1, "no function_call_output"
out = json.loads(fco[-1]["output"])
assert out.get("status") == "noted", out
PY
}

ORDER='{"customerName":"Paul","items":[{"name":"Regina","quantity":1}]}'

# ---- (A) down during the call, back while voiceproxy runs ----
start_dash
start_rt --at 500:call:create_order:"$ORDER"
start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT" DASHBOARD_TOOL_TIMEOUT_MS=2000 \
  DEFAULT_INSTRUCTIONS="Default prompt of the test" VOICE=sage
kill_dash   # /api/ai now gets "connection refused": the call runs on defaults
twc --tone 300:2000 --duration-ms 2000 --restaurant-id pizza-napoli --from +33600000001 \
  --summary "$T/a.json" >/dev/null || fail "A: twilio_client"
noted_sid || fail "A: the model was not told the order is noted"
for _ in $(seq 50); do [ "$(journal)" -ge 2 ] && break; sleep 0.1; done
[ "$(journal)" -ge 2 ] || fail "A: order + call log not journaled ($(journal) entries)"
grep -q 'defaults: dashboard unreachable (connection refused)' "$T/vp.log" || fail "A: /api/ai failure not logged"
python3 - "$T/rec.jsonl" <<'PY' || fail "A: the session did not use the defaults"
import json, sys
su = [json.loads(l)["event"] for l in open(sys.argv[1]) if '"session.update"' in l][0]["session"]
assert su["instructions"].startswith("Default prompt of the test"), su["instructions"]
assert su["audio"]["output"]["voice"] == "sage", su["audio"]
PY
restart_dash
wait_accepted /api/orders CA 30 || fail "A: the order never arrived"
wait_accepted /api/calls CA 30 || fail "A: the call log never arrived"
for _ in $(seq 50); do [ "$(journal)" = 0 ] && break; sleep 0.1; done
[ "$(journal)" = 0 ] || fail "A: journal not emptied"
sleep 1 # anything sent twice would show now
[ "$(accepted /api/orders CA)" = 1 ] || fail "A: order delivered $(accepted /api/orders CA) times"
[ "$(accepted /api/calls CA)" = 1 ] || fail "A: call log delivered $(accepted /api/calls CA) times"
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "A: voiceproxy exit $VP_RC"
kill_dash
mv "$T/dash.jsonl" "$T/dash-a.jsonl"; mv "$T/rec.jsonl" "$T/rec-a.jsonl"

# ---- (B) SIGKILL in between ----
start_dash
start_rt --at 500:call:create_order:"$ORDER"
start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT" DASHBOARD_TOOL_TIMEOUT_MS=2000
kill_dash
twc --tone 300:2000 --duration-ms 2000 --restaurant-id pizza-napoli --from +33600000002 \
  --summary "$T/b.json" >/dev/null || fail "B: twilio_client"
noted_sid || fail "B: the model was not told the order is noted"
for _ in $(seq 50); do [ "$(journal)" -ge 2 ] && break; sleep 0.1; done
[ "$(journal)" -ge 2 ] || fail "B: order + call log not journaled"
kill -KILL "$VP_PID"; wait "$VP_PID" 2>/dev/null
[ "$(journal)" -ge 2 ] || fail "B: journal lost with the process"
restart_dash
start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT"
grep -q 'journal replay: 2 entries' "$T/vp.log" || fail "B: no replay at start"
wait_accepted /api/orders CA 30 || fail "B: the order never arrived after the restart"
wait_accepted /api/calls CA 30 || fail "B: the call log never arrived after the restart"
for _ in $(seq 50); do [ "$(journal)" = 0 ] && break; sleep 0.1; done
[ "$(journal)" = 0 ] || fail "B: journal not emptied"
sleep 1
[ "$(accepted /api/orders CA)" = 1 ] || fail "B: order delivered $(accepted /api/orders CA) times"
[ "$(accepted /api/calls CA)" = 1 ] || fail "B: call log delivered $(accepted /api/calls CA) times"
python3 - "$T/dash.jsonl" <<'PY' || fail "B: order content"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"/api/orders"' in l][-1]
b = r["body"]
assert b["from"] == "+33600000002" and b["restaurantId"] == "pizza-napoli" and b["items"][0]["name"] == "Regina", b
assert r["idempotencyKey"] == b["callSid"] + ":call_1_1", r["idempotencyKey"]
PY
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "B: voiceproxy exit $VP_RC"
echo "dash_journal_restart: ok"
