#!/usr/bin/env bash
# The call log (POST /api/calls, Idempotency-Key = callSid) after every kind
# of end: the agent hanging up (end_call), the caller hanging up, and an
# OpenAI failure mid-call. Each carries the call's identifiers, times,
# transcript, tool calls, summed usage and the right endReason.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

start_dash

one_call() { # label from twc-args... ; rt must be running
  local label=$1 from=$2; shift 2
  start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT"
  twc --restaurant-id pizza-napoli --from "$from" --summary "$T/$label.json" "$@" >/dev/null \
    || fail "$label: twilio_client"
  for _ in $(seq 100); do grep -q "\"from\":\"$from\"" "$T/dash.jsonl" 2>/dev/null &&
    grep "\"from\":\"$from\"" "$T/dash.jsonl" | grep -q '"/api/calls"' && break; sleep 0.05; done
  stop_vp; stop_rt
  [ "$VP_RC" = 0 ] || fail "$label: voiceproxy exit $VP_RC"
}

# (1) the agent ends the call after a goodbye
start_rt --at 300:transcript:"Merci, au revoir" --at 600:call:end_call:'{}' --at 650:tone:440:500
one_call agent +33600000011 --tone 300:6000 --duration-ms 6000 --wait-close --max-ms 15000
# (2) the caller hangs up
start_rt --at 300:transcript:"Allo ?"
one_call hangup +33600000012 --tone 300:1500 --duration-ms 1500
# (3) OpenAI fails mid-call
start_rt --at 300:transcript:"Bonjour" --at 800:error:server_error:"The server had an error"
one_call openai +33600000013 --tone 300:4000 --duration-ms 4000 --wait-close --max-ms 20000

python3 - "$T/dash.jsonl" <<'PY' || fail "call logs"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
logs = {r["body"]["from"]: r for r in reqs if r["path"] == "/api/calls"}
want = {"+33600000011": ("agent_end_call", "Merci, au revoir"),
        "+33600000012": ("caller_hangup", "Allo ?"),
        "+33600000013": ("openai_error", "Bonjour")}
for frm, (reason, said) in want.items():
    assert frm in logs, f"no call log for {frm}: {list(logs)}"
    r = logs[frm]
    b = r["body"]
    ai = [q for q in reqs if q["path"] == "/api/ai" and q["query"].get("from") == frm][0]
    sid = ai["query"]["callSid"]
    assert r["status"] == 200 and r["idempotencyKey"] == sid and b["callSid"] == sid, (r["idempotencyKey"], sid)
    assert b["endReason"] == reason, (frm, b["endReason"])
    assert b["restaurantId"] == "pizza-napoli" and b["streamSid"].startswith("MZ"), b
    for k in ("to", "startedAt", "endedAt", "durationSeconds", "transcript", "toolCalls", "usage"):
        assert k in b, (frm, k)
    assert b["startedAt"] <= b["endedAt"] and b["endedAt"].endswith("Z"), b
    assert any(t["role"] == "caller" and t["text"] == said and t["at"].endswith("Z") for t in b["transcript"]), b["transcript"]
    if reason == "agent_end_call":
        assert any(t["name"] == "end_call" for t in b["toolCalls"]), b["toolCalls"]
    print(frm, reason, "ok")
    assert sum(1 for q in reqs if q["path"] == "/api/calls" and q["body"]["from"] == frm) == 1, "one call log per call"
PY
echo "dash_calllog_ends: ok"
