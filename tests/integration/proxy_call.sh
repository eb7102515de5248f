#!/usr/bin/env bash
# A full call through voiceproxy: Twilio-side client <-> voiceproxy <-> fake
# Realtime. Caller audio reaches the model byte-exact, the agent's greeting
# reaches the caller byte-exact, every client event keeps the contract and
# validates against OpenAI's schema, SIGTERM exits 0 with no leaks.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

gen_ulaw "$T/caller.ulaw" 16000 1   # 2 s
gen_ulaw "$T/greet.ulaw" 12000 2    # 1.5 s
start_rt --key sk-test-key --greet "$T/greet.ulaw"
start_vp GREETING="Bonjour, Pizzeria Napoli" LOG_LEVEL=debug

twc --audio "$T/caller.ulaw" --duration-ms 3000 --rx-audio "$T/rx.ulaw" \
    --restaurant-id pizza-napoli --summary "$T/twc.json" >/dev/null || fail "twilio_client failed"
sleep 0.3
health > "$T/health.json"
stop_vp; stop_rt

[ "$VP_RC" = 0 ] || fail "voiceproxy exit code $VP_RC after SIGTERM"
[ "$RT_RC" = 0 ] || fail "fake_realtime saw contract violations: $(grep VIOLATION "$T/rt.err" | head -3)"
cmp "$T/greet.ulaw" "$T/rx.ulaw" || fail "agent audio at the caller differs from what the model sent"
head -c 16000 "$T/heard.1" | cmp - "$T/caller.ulaw" || fail "caller audio at the model differs"
python3 - "$T/heard.1" <<'PY' || fail "audio after the caller's file is not µ-law silence"
import sys; d=open(sys.argv[1],'rb').read()[16000:]; sys.exit(0 if len(d) >= 7000 and set(d) <= {0xff} else 1)
PY
python3 "$ROOT/tests/lib/check_realtime_schema.py" "$T/rec.jsonl" || fail "schema validation"
grep -q '"instructions":"Greet the caller by saying exactly: Bonjour, Pizzeria Napoli"' "$T/rec.jsonl" || fail "greeting response.create missing"
grep -q '"name":"end_call"' "$T/rec.jsonl" || fail "end_call tool not offered"
grep -q "The caller's phone number: +33100000000" "$T/rec.jsonl" || fail "caller number not in the instructions"
# the caller hanging up closed the model's connection too (a 1000 close from voiceproxy)
[ "$(json_get "$T/rtsum.json" "j['client_closes']")" = 1 ] || fail "the OpenAI connection was not closed at hang-up"
[ "$(json_get "$T/twc.json" "j['marks_rx'] == j['marks_echoed'] and j['marks_rx'] > 0")" = True ] || fail "marks not tracked"
grep -q '"live_calls":0' "$T/health.json" || fail "live call count did not return to 0: $(cat "$T/health.json")"
grep -q 'call ended: caller_hangup' "$T/vp.log" || fail "no end-of-call log line"
if grep -q "sk-test-key" "$T/vp.log"; then fail "the API key appears in the log"; fi
echo "proxy_call: ok"
