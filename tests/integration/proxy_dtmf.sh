#!/usr/bin/env bash
# DTMF from the stream reaches the model: each keypress becomes a
# conversation.item.create user message "[DTMF d]" (schema-valid), in order,
# with no response.create per digit. Keypresses that arrive before the
# session is set up (slow dashboard set-up) are kept and sent right after it.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

# /api/ai answers after 1 s: the first keypresses come before session.update
rm -f "$T/dash.port"
echo '{"instructions":"Test agent without a greeting."}' >"$T/ai.json"
"$BUILD/tests/fakes/fake_dashboard" --log "$T/dash.jsonl" --port-file "$T/dash.port" \
  --ai "$T/ai.json" --delay /api/ai=1000 >/dev/null 2>"$T/dash.err" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/dash.port" ] && break; sleep 0.05; done
DASH_PORT=$(cat "$T/dash.port" 2>/dev/null) || fail "fake_dashboard did not start"
start_rt
start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT" DASHBOARD_AI_TIMEOUT_MS=3000
twc --restaurant-id pizza-napoli --tone 300:2500 --duration-ms 2500 --dtmf '300:1*5#9' --summary "$T/t.json" >/dev/null \
  || fail "twilio_client"
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"
[ "$RT_RC" = 0 ] || fail "contract violations: $(grep VIOLATION "$T/rt.err" | head -3)"
python3 "$ROOT/tests/lib/check_realtime_schema.py" "$T/rec.jsonl" || fail "schema validation"
python3 - "$T/rec.jsonl" <<'PY' || fail "DTMF messages"
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ev = [r["event"] for r in rec]
types = [e["type"] for e in ev]
msgs = [(i, e["item"]) for i, e in enumerate(ev) if e["type"] == "conversation.item.create"
        and e["item"]["type"] == "message"]
texts = [it["content"][0]["text"] for _, it in msgs]
assert texts == ["[DTMF 1]", "[DTMF *]", "[DTMF 5]", "[DTMF #]", "[DTMF 9]"], texts
for _, it in msgs:
    assert it["role"] == "user" and it["content"][0]["type"] == "input_text", it
assert msgs[0][0] > types.index("session.update"), "a DTMF message before session.update"
su = types.index("session.update")
early = [rec[i]["t"] - rec[su]["t"] for i, _ in msgs[:2]]
assert all(0 <= d < 100 for d in early), ("keypresses before the session were not kept", early)
assert all(e["type"] != "response.create" for e in ev[su + 1:]), "response.create sent for a keypress"
assert "response.create" not in types, "response.create sent for a keypress"
print("ok", texts)
PY
echo "proxy_dtmf: ok"
