#!/usr/bin/env bash
# Graceful SIGTERM (issue 8): voiceproxy stops taking calls (503 at the
# upgrade), lets live calls finish within SHUTDOWN_GRACE_MS, ends the rest
# ("shutdown"), flushes the journal and exits 0.
#  (A) dashboard up: a call that ends by itself during the grace and one
#      that would not end are both logged at the dashboard before exit;
#  (B) dashboard down: exit 0 within the grace, the call log stays in
#      SPOOL_DIR, and the next start delivers it exactly once.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

kill_dash() { kill -TERM "$DASH_PID"; wait "$DASH_PID" 2>/dev/null; }
journal() { ls "$T/spool" 2>/dev/null | grep -c '\.json$'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# calls FROM: accepted (2xx, not duplicate) call logs for that caller, then their endReasons
calls() {
  python3 - "$T/dash.jsonl" "$1" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
c = [x for x in r if x["path"] == "/api/calls" and x["body"].get("from") == sys.argv[2]
     and 200 <= x["status"] < 300 and not x["duplicate"]]
print(len(c), *[x["body"]["endReason"] for x in c])
PY
}
wait_started() { # N: N streams started (the clients may be slow to start under load)
  for _ in $(seq 200); do [ "$(grep -c 'started (restaurant' "$T/vp.log")" -ge "$1" ] && return 0; sleep 0.05; done
  fail "the calls did not start"
}
upgrade_status() { # HTTP status of a /media-stream upgrade now
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    "http://127.0.0.1:$VP_PORT/media-stream"
}

# ---- (A) dashboard up ----
start_dash
start_rt
start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT" SHUTDOWN_GRACE_MS=4000
twc --restaurant-id pizza-napoli --from +33620000001 --tone 300:1800 --duration-ms 1800 \
  --summary "$T/a1.json" >/dev/null & C1=$!
twc --restaurant-id pizza-napoli --from +33620000002 --tone 300:1000 --duration-ms 1000 --wait-close \
  --max-ms 20000 --summary "$T/a2.json" >/dev/null & C2=$!
wait_started 2; sleep 0.3
t0=$(ms); kill -TERM "$VP_PID"
sleep 0.3
st=$(upgrade_status)
[ "$st" = 503 ] || fail "A: a new stream during the drain got $st, want 503"
wait "$C1" || fail "A: the call finishing by itself was disturbed"
wait "$C2" || fail "A: twilio_client (cut call)"
for _ in $(seq 100); do kill -0 "$VP_PID" 2>/dev/null || break; sleep 0.1; done
wait "$VP_PID"; VP_RC=$?; t1=$(ms)
[ "$VP_RC" = 0 ] || fail "A: voiceproxy exit $VP_RC"
[ $((t1 - t0)) -lt 5500 ] || fail "A: shutdown took $((t1 - t0)) ms (grace 4000)"
# delivered before the exit: read the dashboard's log only now, no retries possible
[ "$(calls +33620000001)" = "1 caller_hangup" ] || fail "A: call 1: $(calls +33620000001)"
[ "$(calls +33620000002)" = "1 shutdown" ] || fail "A: call 2: $(calls +33620000002)"
[ "$(json_get "$T/a2.json" "j['server_closed']")" = True ] || fail "A: the cut call was not closed by voiceproxy"
grep -q 'shutdown: journal flushed, nothing left to deliver' "$T/vp.log" || fail "A: journal not flushed"
grep -q 'refused (503): shutting down' "$T/vp.log" || fail "A: no 503 logged"
[ "$(journal)" = 0 ] || fail "A: journal not empty"
stop_rt

# ---- (B) dashboard down ----
kill_dash
start_rt
start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT" SHUTDOWN_GRACE_MS=2000
twc --restaurant-id pizza-napoli --from +33620000003 --tone 300:1000 --duration-ms 1000 --wait-close \
  --max-ms 20000 --summary "$T/b.json" >/dev/null & C3=$!
wait_started 1; sleep 0.3
t0=$(ms); kill -TERM "$VP_PID"
wait "$C3" || fail "B: twilio_client"
for _ in $(seq 100); do kill -0 "$VP_PID" 2>/dev/null || break; sleep 0.1; done
wait "$VP_PID"; VP_RC=$?; t1=$(ms)
[ "$VP_RC" = 0 ] || fail "B: voiceproxy exit $VP_RC"
[ $((t1 - t0)) -lt 3000 ] || fail "B: shutdown took $((t1 - t0)) ms (grace 2000)"
grep -q 'not accepted yet: they stay journaled' "$T/vp.log" || fail "B: pending requests not reported"
[ "$(journal)" = 1 ] || fail "B: $(journal) journal entries, want the call log"
grep -q '+33620000003' "$T"/spool/*.json || fail "B: the journaled entry is not this call's log"
stop_rt
for _ in $(seq 50); do # same port; it may take a moment to be free again
  start_dash --port "$DASH_PORT" && kill -0 "$DASH_PID" 2>/dev/null && break; sleep 0.1
done
start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT"
grep -q 'journal replay: 1 entries' "$T/vp.log" || fail "B: no replay at the next start"
for _ in $(seq 100); do [ "$(journal)" = 0 ] && break; sleep 0.1; done
[ "$(journal)" = 0 ] || fail "B: journal not emptied"
sleep 1 # a second delivery would show now
[ "$(calls +33620000003)" = "1 shutdown" ] || fail "B: call log delivered: $(calls +33620000003)"
stop_vp
[ "$VP_RC" = 0 ] || fail "B: voiceproxy exit $VP_RC (restart)"
echo "dash_shutdown: ok"
