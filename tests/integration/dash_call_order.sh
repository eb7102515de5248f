#!/usr/bin/env bash
# A scripted call through the real voiceproxy creates an order at the
# (fake) dashboard: GET /api/ai with the call's identifiers, the agent set-up
# from its answer (voice, tools without "endpoint"), POST /api/orders with
# the model's arguments + restaurantId, callSid, from and the Idempotency-Key
# callSid:call_id, the dashboard's answer back as function_call_output, and
# the call log (POST /api/calls) at the end with transcript, tool call, usage.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"


ARGS='{"customerName":"Marie","items":[{"name":"Margherita","quantity":2}],"pickupTime":"19:30","restaurantId":"someone-else"}'
start_dash
start_rt --at 300:transcript:"Deux margheritas pour 19h30" --at 600:call:create_order:"$ARGS"
start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT"
twc --tone 300:2500 --duration-ms 2500 --restaurant-id pizza-napoli --from +33612345678 \
  --summary "$T/t.json" >/dev/null || fail "twilio_client"
# the call log is POSTed when the call ends: wait for it (bounded)
for _ in $(seq 100); do grep -q '"/api/calls"' "$T/dash.jsonl" 2>/dev/null && break; sleep 0.05; done
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"
[ "$RT_RC" = 0 ] || fail "contract violations: $(grep VIOLATION "$T/rt.err" | head -3)"

python3 - "$T/dash.jsonl" "$T/rec.jsonl" <<'PY' || fail "dashboard requests"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ev = [json.loads(l)["event"] for l in open(sys.argv[2]) if l.strip()]
ai = [r for r in reqs if r["path"] == "/api/ai"]
assert len(ai) == 1, ai
q = ai[0]["query"]
sid = q["callSid"]
assert q["restaurantId"] == "pizza-napoli" and q["from"] == "+33612345678", q
assert sid.startswith("CA"), q
# the session uses the dashboard's set-up; tools carry only what the model accepts
su = [e for e in ev if e["type"] == "session.update"][0]["session"]
assert su["audio"]["output"]["voice"] == "coral", su["audio"]
assert "Pizzeria Napoli" in su["instructions"]
names = {t["name"] for t in su["tools"]}
assert {"create_order", "get_menu"} <= names, names
for t in su["tools"]:
    assert set(t) <= {"type", "name", "description", "parameters"}, t
orders = [r for r in reqs if r["path"] == "/api/orders"]
assert len(orders) == 1, orders
o = orders[0]
assert o["status"] == 200 and not o["duplicate"], o
b = o["body"]
assert b["restaurantId"] == "pizza-napoli", "the model must not choose the restaurant"
assert b["callSid"] == sid and b["from"] == "+33612345678", b
assert b["items"] == [{"name": "Margherita", "quantity": 2}] and b["customerName"] == "Marie", b
assert o["headers"]["content-type"] == "application/json", o["headers"]
fco = [e for e in ev if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"]
assert len(fco) == 1, fco
call_id = fco[0]["item"]["call_id"]
assert o["idempotencyKey"] == sid + ":" + call_id, (o["idempotencyKey"], call_id)
out = json.loads(fco[0]["item"]["output"])
assert out["status"] == "confirmed" and out["orderId"] == o["response"]["orderId"], out
calls = [r for r in reqs if r["path"] == "/api/calls"]
assert len(calls) == 1, calls
c = calls[0]
assert c["idempotencyKey"] == sid and c["status"] == 200, c
cl = c["body"]
assert cl["callSid"] == sid and cl["streamSid"].startswith("MZ") and cl["restaurantId"] == "pizza-napoli"
assert cl["from"] == "+33612345678" and cl["endReason"] == "caller_hangup", cl
assert cl["startedAt"].endswith("Z") and cl["endedAt"] >= cl["startedAt"], cl
assert 1 <= cl["durationSeconds"] <= 10, cl
assert any(t["role"] == "caller" and "margheritas" in t["text"] for t in cl["transcript"]), cl["transcript"]
tc = [t for t in cl["toolCalls"] if t["name"] == "create_order"]
assert len(tc) == 1 and tc[0]["callId"] == call_id and tc[0]["result"]["orderId"] == out["orderId"], tc
assert tc[0]["arguments"]["pickupTime"] == "19:30", tc
assert isinstance(cl["usage"], dict), cl
print("order", out["orderId"], "call log ok")
PY
[ -z "$(ls "$T/spool" 2>/dev/null | grep '\.json$')" ] || fail "journal not empty after delivery"
echo "dash_call_order: ok"
