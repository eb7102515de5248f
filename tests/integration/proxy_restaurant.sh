#!/usr/bin/env bash
# fake_realtime's "restaurant agent" mode (used by the demo and the
# benchmark) through voiceproxy: greeting, the caller's first utterance
# answered with audio + a create_order tool call (output returned, then a
# confirmation), the second utterance answered with a goodbye + end_call,
# after which voiceproxy hangs up. Every client event schema-valid.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

python3 -W ignore - "$T/caller.ulaw" <<'PY'
import audioop, math, struct, sys
def tone(ms, hz=350): return b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * hz * i / 8000))) for i in range(ms * 8))
def sil(ms): return b"\0\0" * ms * 8
open(sys.argv[1], "wb").write(audioop.lin2ulaw(sil(2500) + tone(1500) + sil(4500) + tone(1000) + sil(6000), 2))
PY
start_rt --restaurant
start_vp GREETING="Pizzeria Napoli, bonjour"
twc --audio "$T/caller.ulaw" --wait-close --max-ms 30000 --summary "$T/t.json" >/dev/null || fail "twilio_client"
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"
[ "$RT_RC" = 0 ] || fail "contract violations: $(grep VIOLATION "$T/rt.err" | head -3)"
python3 - "$T/t.json" "$T/rtsum.json" <<'PY' || fail "restaurant conversation"
import json, sys
c = json.loads(open(sys.argv[1]).read().splitlines()[-1]); s = json.load(open(sys.argv[2]))
print(c); print(s)
assert c["server_closed"] and c["close_reason"] == "agent_end_call", "voiceproxy must hang up after end_call"
assert c["rx_bytes"] == c["played_bytes"] >= 8000 * 4, "greeting + answers + goodbye played to the end"
assert s["fc_outputs"] == 1, "create_order output expected"
assert s["responses"] >= 4, "greeting, answer, confirmation, goodbye"
PY
grep -q 'tool call create_order' "$T/vp.log" || fail "create_order not called"
grep -q 'call ended: agent_end_call' "$T/vp.log" || fail "end reason"
python3 "$ROOT/tests/lib/check_realtime_schema.py" "$T/rec.jsonl" >/dev/null || fail "schema validation"
echo "proxy_restaurant: ok"
