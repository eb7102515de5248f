#!/usr/bin/env bash
# End to end, Mode B: a SIP caller (SIPp signalling, rtp_peer audio) ->
# sipbridge -> voiceproxy -> fake_realtime (scripted model), tool call ->
# fake_dashboard. Asserts:
#  - caller -> model: a 1 kHz tone the caller sends is found (Goertzel) in
#    the audio the fake Realtime server received;
#  - model -> caller: the 1500 Hz greeting is found in the caller's RTP;
#  - barge-in: the 700 Hz answer was playing when sipbridge applied the
#    clear, and at most one frame of it reached the caller after that (then
#    silence); the truncate came right after speech_started, is at most what
#    was generated and what the caller heard, at most one mark behind it;
#  - the order and the call log reach the dashboard with the right bodies;
#  - end_call -> WS close -> SIP BYE to the caller;
#  - no contract violation at the fake, both binaries exit 0 on SIGTERM
#    (sanitizers clean).
. "$(dirname "$0")/../lib/e2e_lib.sh"
e2e_need sipp
e2e_need python3
for b in voiceproxy sipbridge tests/fakes/fake_realtime tests/fakes/fake_dashboard tests/fakes/rtp_peer; do
	e2e_need_bin "$b"
done

e2e_start_dashboard
e2e_start_realtime "${E2E_RT_SCRIPT[@]}"
e2e_start_proxy
e2e_start_bridge "ws://127.0.0.1:$VP_PORT/media-stream" --param restaurantId=pizza-napoli

# caller: 1 s silence, 1.5 s of 1 kHz, silence; the agent hangs up at ~6.5 s
python3 "$E2E_PY" build "$T/caller.ulaw" sil:1000 tone:1000:1500 sil:8500 || e2e_fail "audio build"
e2e_start_rtp_peer caller --file "$T/caller.ulaw"
PID_CALLER=$E2E_PID
e2e_sipp call caller 12000 || e2e_fail "SIPp call failed: $(tail -n 5 "$T/call.err" "$T/call.sipp.out" 2>/dev/null)"
e2e_wait_gone "$PID_CALLER" 15 || e2e_fail "rtp_peer did not finish"
e2e_wait_for "$T/dash.jsonl" '"path":"/api/calls"' 10 || e2e_fail "no call log at the dashboard"

e2e_stop "$PID_sb" TERM 20; SB_RC=$E2E_RC
e2e_stop "$PID_vp" TERM 20; VP_RC=$E2E_RC
e2e_stop "$PID_rt" INT 10
e2e_stop "$PID_dash" TERM 10
cat "$T/caller.out"

# SIP: the agent's end_call became a BYE towards the caller
grep -A3 'UDP message received' "$T/call.msg" | grep -q '^BYE sip:' || e2e_fail "the caller got no BYE (end_call)"

# audio both ways
python3 "$E2E_PY" tone "$T/rt_audio.1" 1000 1200 || e2e_fail "the caller's 1 kHz tone did not reach the model"
python3 "$E2E_PY" tone "$T/caller.rx.ulaw" 1500 800 || e2e_fail "the agent's 1500 Hz greeting did not reach the caller"
python3 "$E2E_PY" notone "$T/rt_audio.1" 1500 || e2e_fail "the agent's audio came back to the model"

# barge-in, as the caller heard it
clear_line=$(grep -m1 -E '\] clear: ' "$T/sb.log") || e2e_fail "sipbridge logged no clear"
python3 "$E2E_PY" bargein "$T/caller.rec" "$T/caller.rx.ulaw" "$clear_line" 700 || e2e_fail "barge-in on the caller's side"
heard_ms=$(python3 "$E2E_PY" tone "$T/caller.rx.ulaw" 700 0 | sed -E 's/.*: 700 Hz in ([0-9]+) ms.*/\1/')
out=$(e2e_check_model) || e2e_fail "$out"
echo "$out"
trunc_ms=$(echo "$out" | sed -n 's/^TRUNC_MS=//p')
echo "caller heard ${heard_ms} ms of the interrupted answer; truncated at ${trunc_ms} ms"
# never more than heard (+2 frames: one in flight, one of jitter); at most
# one mark interval (200 ms here) behind
[ "$trunc_ms" -le $((heard_ms + 40)) ] && [ "$trunc_ms" -ge $((heard_ms - 250)) ] ||
	e2e_fail "truncate at $trunc_ms ms but the caller heard $heard_ms ms"

e2e_check_dashboard +33612345678 agent_end_call || e2e_fail "dashboard"
[ "$SB_RC" = 0 ] || e2e_fail "sipbridge exit status $SB_RC"
[ "$VP_RC" = 0 ] || e2e_fail "voiceproxy exit status $VP_RC"
echo "ok"
