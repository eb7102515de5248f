#!/usr/bin/env bash
# (1) A model tool call other than end_call goes to the dashboard client and
# its answer (here an error or "noted" answer: the dashboard is down) comes
# back as function_call_output for the same call_id, then response.create.
# (2) SIGTERM with a live call: the stream is closed, the call log is
# handed over, voiceproxy exits 0 within the grace period.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

start_rt --at 300:call:check_availability:'{"date":"2026-11-22","partySize":2}'
start_vp DASHBOARD_TOOL_TIMEOUT_MS=1000
twc --tone 300:3000 --duration-ms 3000 --summary "$T/t.json" >/dev/null || fail "twilio_client"
stop_vp; stop_rt
[ "$RT_RC" = 0 ] || fail "contract violations: $(grep VIOLATION "$T/rt.err" | head -3)"
[ "$(json_get "$T/rtsum.json" "j['fc_outputs']")" = 1 ] || fail "no function_call_output for the tool call"
python3 - "$T/rec.jsonl" <<'PY' || fail "tool output sequence"
import json, sys
ev = [json.loads(l)["event"] for l in open(sys.argv[1])]
i = next(k for k, e in enumerate(ev) if e["type"] == "conversation.item.create")
item = ev[i]["item"]
assert item["type"] == "function_call_output" and item["call_id"] == "call_1_1", item
json.loads(item["output"])
assert any(e["type"] == "response.create" for e in ev[i + 1:]), "no response.create after the output"
PY
python3 "$ROOT/tests/lib/check_realtime_schema.py" "$T/rec.jsonl" || fail "schema validation"
grep -q 'tool call check_availability' "$T/vp.log" || fail "tool call not logged"

# (2) SIGTERM during a call
start_rt
start_vp SHUTDOWN_GRACE_MS=3000
twc --tone 300:1000 --duration-ms 1000 --wait-close --max-ms 20000 --summary "$T/s.json" >/dev/null &
C=$!
sleep 1.5
t0=$(date +%s%N)
stop_vp
t1=$(date +%s%N)
wait $C || fail "twilio_client (shutdown)"
stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC on SIGTERM"
[ $(( (t1 - t0) / 1000000 )) -lt 4000 ] || fail "shutdown took too long"
[ "$(json_get "$T/s.json" "j['server_closed']")" = True ] || fail "the live stream was not closed by voiceproxy"
grep -q 'call ended: shutdown' "$T/vp.log" || fail "no shutdown end reason"
grep -q 'voiceproxy stopped' "$T/vp.log" || fail "no clean stop"
echo "proxy_tool_shutdown: ok"
