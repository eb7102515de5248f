#!/usr/bin/env bash
# A slow dashboard never stalls audio: /api/orders answers after 5 s while
# two calls each place an order. During those 5 s the caller audio keeps
# reaching the model at its 20 ms pace and the agent audio keeps reaching
# the callers, on both calls; then each call gets the dashboard's real answer.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

start_dash --delay /api/orders=5000

start_rt --at 500:call:create_order:'{"items":[{"name":"Calzone","quantity":1}]}' --at 1000:tone:440:3000
start_vp DASHBOARD_URL="http://127.0.0.1:$DASH_PORT" DASHBOARD_TOOL_TIMEOUT_MS=8000
twc --streams 2 --tone 300:7000 --duration-ms 7000 --restaurant-id pizza-napoli --events "$T/ev.jsonl" --summary "$T/s.json" \
  >/dev/null || fail "twilio_client"
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"
[ "$RT_RC" = 0 ] || fail "contract violations: $(grep VIOLATION "$T/rt.err" | head -3)"

python3 - "$T/rec.jsonl" "$T/ev.jsonl" "$T/s.json" "$T/dash.jsonl" <<'PY' || fail "audio stalled or wrong answer"
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
conns = sorted({r["conn"] for r in rec if "event" in r})
assert len(conns) == 2, conns
for c in conns:
    ev = [r for r in rec if r.get("conn") == c and "event" in r]
    fco = [r for r in ev if r["event"]["type"] == "conversation.item.create"
           and r["event"]["item"]["type"] == "function_call_output"]
    assert len(fco) == 1, fco
    out = json.loads(fco[0]["event"]["item"]["output"])
    assert out.get("status") == "confirmed" and "orderId" in out, out
    t_out = fco[0]["t"]
    assert t_out >= 5400, f"conn {c}: answer at {t_out} ms, the dashboard delay is 5 s"
    app = [r["t"] for r in ev if r["event"]["type"] == "input_audio_buffer.append" and 600 <= r["t"] <= t_out - 100]
    assert len(app) > 150, f"conn {c}: only {len(app)} caller frames while the tool was pending"
    gap = max(b - a for a, b in zip(app, app[1:]))
    assert gap < 250, f"conn {c}: caller audio stalled {gap} ms while the tool was pending"
    print(f"conn {c}: answer at {t_out} ms, {len(app)} caller frames meanwhile, max gap {gap} ms")
tw = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
for s in (0, 1):
    marks = [e["t"] for e in tw if e.get("stream") == s and e.get("dir") == "rx" and e.get("event") == "mark"]
    pending = [t for t in marks if 1200 <= t <= 5000]
    assert pending, f"stream {s}: no agent audio reached the caller while the tool was pending: {marks[:10]}"
for line in open(sys.argv[3]):
    if line.strip():
        r = json.loads(line)
        assert r["rx_bytes"] >= 24000, r
orders = [json.loads(l) for l in open(sys.argv[4]) if '"/api/orders"' in l]
assert len(orders) == 2 and all(o["status"] == 200 for o in orders), orders
PY
echo "dash_slow_tool: ok"
