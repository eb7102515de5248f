#!/usr/bin/env bash
# End to end, Mode A: the Twilio side (twilio_client: 20 ms media, marks
# echoed as played, clear obeyed) -> voiceproxy -> fake_realtime (scripted
# model), tool call -> fake_dashboard. Asserts:
#  - caller -> model: the caller's 1 kHz tone is found (Goertzel) in the audio
#    the fake Realtime server received;
#  - model -> caller: the 1500 Hz greeting is found in the audio Twilio got;
#  - barge-in: voiceproxy sent clear while the 700 Hz answer was queued at
#    Twilio (played < received), no audio of that answer arrived after the
#    clear, the truncate came right after speech_started and is what Twilio
#    had played of the answer (never more; at most one mark interval less);
#  - the order and the call log reach the dashboard with the right bodies;
#  - end_call closes the stream from the server side;
#  - no contract violation at the fake; voiceproxy exits 0 (sanitizers clean).
. "$(dirname "$0")/../lib/e2e_lib.sh"
e2e_need python3
for b in voiceproxy tests/fakes/fake_realtime tests/fakes/fake_dashboard tests/fakes/twilio_client; do
	e2e_need_bin "$b"
done

e2e_start_dashboard
e2e_start_realtime "${E2E_RT_SCRIPT[@]}"
e2e_start_proxy

python3 "$E2E_PY" build "$T/caller.ulaw" sil:1000 tone:1000:1500 sil:8500 || e2e_fail "audio build"
timeout -k 5 30 "$BUILD/tests/fakes/twilio_client" --url "ws://127.0.0.1:$VP_PORT/media-stream" \
	--audio "$T/caller.ulaw" --wait-close --max-ms 15000 --restaurant-id pizza-napoli --from +33612345678 \
	--rx-audio "$T/rx.ulaw" --events "$T/tw.jsonl" >"$T/tw.out" 2>"$T/tw.log"
TW_RC=$?
cat "$T/tw.out"
e2e_wait_for "$T/dash.jsonl" '"path":"/api/calls"' 10 || e2e_fail "no call log at the dashboard"
e2e_stop "$PID_vp" TERM 20; VP_RC=$E2E_RC
e2e_stop "$PID_rt" INT 10
e2e_stop "$PID_dash" TERM 10
[ "$TW_RC" = 0 ] || e2e_fail "twilio_client reported a failure (exit $TW_RC)"

# the stream: ended by the server (end_call), one clear, marks echoed
read -r played_at_clear rx_at_clear < <(python3 - "$T/tw.out" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
def fail(m):
    print("twilio side: " + m, file=sys.stderr); sys.exit(1)
if not r["server_closed"]: fail("the server did not end the stream (end_call)")
if r["clears"] != 1: fail(f"{r['clears']} clear events, expected 1")
if r["marks_rx"] < 1 or r["marks_echoed"] != r["marks_rx"]: fail(f"marks {r['marks_rx']} received, {r['marks_echoed']} echoed")
if not 0 <= r["played_at_clear"] < r["rx_at_clear"]: fail(f"nothing was queued when the clear came: {r}")
print(r["played_at_clear"], r["rx_at_clear"])
PY
) || e2e_fail "twilio_client summary"

python3 "$E2E_PY" tone "$T/rt_audio.1" 1000 1200 || e2e_fail "the caller's 1 kHz tone did not reach the model"
python3 "$E2E_PY" tone "$T/rx.ulaw" 1500 800 || e2e_fail "the agent's 1500 Hz greeting did not reach Twilio"
python3 "$E2E_PY" notone "$T/rt_audio.1" 1500 || e2e_fail "the agent's audio came back to the model"
# nothing of the interrupted answer after the clear
python3 "$E2E_PY" notone "$T/rx.ulaw" 700 --from-ms $(( (rx_at_clear + 159) / 160 * 20 )) ||
	e2e_fail "audio of the interrupted answer arrived after the clear"
# what Twilio played of the 700 Hz answer = the truncate point
greet_bytes=$(python3 "$E2E_PY" tone "$T/rx.ulaw" 1500 0 | sed -E 's/.*: 1500 Hz in ([0-9]+) ms.*/\1/')
greet_bytes=$(( greet_bytes * 8 ))
out=$(e2e_check_model) || e2e_fail "$out"
echo "$out"
trunc_ms=$(echo "$out" | sed -n 's/^TRUNC_MS=//p')
heard_ms=$(( (played_at_clear - greet_bytes) / 8 ))
echo "Twilio played ${heard_ms} ms of the interrupted answer (${played_at_clear} bytes in all); truncated at ${trunc_ms} ms"
# voiceproxy knows what played from the mark echoes (one mark per audio
# delta, 200 ms here): never more than played (+1 frame), at most one mark behind
[ "$trunc_ms" -le $((heard_ms + 20)) ] && [ "$trunc_ms" -ge $((heard_ms - 250)) ] ||
	e2e_fail "truncate at $trunc_ms ms but Twilio played $heard_ms ms of the answer"

e2e_check_dashboard +33612345678 agent_end_call || e2e_fail "dashboard"
[ "$VP_RC" = 0 ] || e2e_fail "voiceproxy exit status $VP_RC"
echo "ok"
