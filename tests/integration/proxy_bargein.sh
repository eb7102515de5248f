#!/usr/bin/env bash
# Barge-in: while the agent's 8 s answer plays, the model reports
# speech_started. voiceproxy must send `clear` to the stream and
# conversation.item.truncate with audio_end_ms = what the caller actually
# heard (last mark echoed before the clear): never more than played, never
# more than generated, and not lagging by more than one delta (+ slack).
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

gen_ulaw "$T/answer.ulaw" 64000 3   # 8 s, sent as 200 ms deltas every 100 ms
start_rt --at 0:say:"$T/answer.ulaw" --at 2500:speech_started --chunk 1600 --pace-ms 100
start_vp
twc --tone 300:4000 --duration-ms 5000 --rx-audio "$T/rx.ulaw" --summary "$T/twc.json" >/dev/null \
  || fail "twilio_client failed"
stop_vp; stop_rt
[ "$RT_RC" = 0 ] || fail "contract violations: $(grep VIOLATION "$T/rt.err" | head -3)"
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"
python3 - "$T/twc.json" "$T/rtsum.json" <<'PY' || fail "barge-in values wrong"
import json, sys
c = json.loads(open(sys.argv[1]).read().splitlines()[-1])
s = json.loads(open(sys.argv[2]).read())
print("client:", c); print("model:", s["truncates"])
assert c["clears"] == 1, "exactly one clear expected"
assert len(s["truncates"]) == 1, "exactly one truncate expected"
tr = s["truncates"][0]
played_ms = c["played_at_clear"] / 8
assert tr["audio_end_ms"] <= played_ms, "truncated beyond what the caller heard"
assert tr["audio_end_ms"] <= tr["sent_ms"], "truncated beyond what was generated"
assert tr["audio_end_ms"] >= played_ms - 200 - 150, "truncate lags what was heard by more than one delta"
assert 1000 <= played_ms <= 3500, "played %s ms before the barge-in" % played_ms
assert c["rx_bytes"] < 64000, "the rest of the answer must not be played"
assert c["marks_echoed"] == c["marks_rx"], "every mark (also the cleared ones) echoed"
PY
python3 "$ROOT/tests/lib/check_realtime_schema.py" "$T/rec.jsonl" || fail "schema validation"
grep -q 'barge-in' "$T/vp.log" || fail "no barge-in log line"
echo "proxy_bargein: ok"
