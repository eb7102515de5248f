#!/usr/bin/env bash
# end_call: the model says goodbye then calls the built-in end_call tool.
# The goodbye must play to its end at the caller (mark echoed), then
# voiceproxy closes the stream itself (SIP BYE in Mode B).
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

gen_ulaw "$T/bye.ulaw" 16000 4   # 2 s goodbye, delivered in 1 s (2x real time)
start_rt --at 200:say:"$T/bye.ulaw" --at 300:call:end_call:{}
start_vp
twc --tone 300:1000 --duration-ms 1000 --wait-close --max-ms 20000 --rx-audio "$T/rx.ulaw" \
    --summary "$T/twc.json" >/dev/null || fail "twilio_client failed"
stop_vp; stop_rt
[ "$RT_RC" = 0 ] || fail "contract violations"
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"
cmp "$T/bye.ulaw" "$T/rx.ulaw" || fail "goodbye audio not delivered whole"
python3 - "$T/twc.json" <<'PY' || fail "stream not ended by voiceproxy after the goodbye played"
import json, sys
c = json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(c)
assert c["server_closed"], "voiceproxy must close the stream"
assert c["played_bytes"] == 16000, "goodbye not played to its end before the close"
assert c["ms"] >= 2000, "closed before the 2 s goodbye could play"
assert c["ms"] < 6000, "closed too late"
PY
python3 "$ROOT/tests/lib/check_realtime_schema.py" "$T/rec.jsonl" >/dev/null || fail "schema validation"
grep -q 'call ended: agent_end_call' "$T/vp.log" || fail "end reason not logged"
echo "proxy_endcall: ok"
