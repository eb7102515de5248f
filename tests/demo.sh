#!/usr/bin/env bash
# make demo: one phone call handled end to end on this machine, with a
# SIMULATED agent (no OpenAI key, no Twilio, no SIP trunk needed).
#
# Mode B (default, `make demo` or tests/demo.sh --sip):
#   caller (SIPp signalling + rtp_peer audio, speech made by espeak-ng)
#     -> sipbridge (SIP, RTP) -> voiceproxy (/media-stream, Twilio protocol)
# Mode A (`make demo DEMO_MODE=twilio` or tests/demo.sh --twilio):
#   the Twilio webhook (POST /incoming-call -> TwiML), then the Twilio side
#   (tests/fakes/twilio_client, same espeak-ng speech) -> voiceproxy
# and in both:
#   voiceproxy -> fake_realtime --restaurant (scripted "restaurant agent":
#     greets, answers speech, calls create_order, then end_call)
#   voiceproxy -> fake_dashboard (records /api/ai, /api/orders, /api/calls)
#
# Everything on 127.0.0.1 with random free ports; every process is stopped at
# the end (checked). Output: a timeline, the transcript, the order, the call
# log, and WAV recordings of both directions under demo-out/ (DEMO_OUT=dir to
# change). BUILD=dir picks the binaries (default build/, the release build).
# KEEP_TMP=1 keeps the raw logs' temp directory.
# Exit 0 when the order and the call log reached the dashboard.
set -u
cd "$(dirname "$0")/.." || exit 2
export ROOT=$PWD
export BUILD=${BUILD:-$ROOT/build}
OUT=${DEMO_OUT:-$ROOT/demo-out}
MODE=${DEMO_MODE:-sip}
for a in "$@"; do
	case $a in
	--sip) MODE=sip ;;
	--twilio) MODE=twilio ;;
	*) echo "usage: tests/demo.sh [--sip | --twilio]" >&2; exit 2 ;;
	esac
done
case $MODE in sip | twilio) ;; *) echo "DEMO_MODE must be sip or twilio" >&2; exit 2 ;; esac
# shellcheck source=lib/e2e_lib.sh
. tests/lib/e2e_lib.sh
PY=$ROOT/tests/lib/e2e_audio.py

say() { printf '%s\n' "$*"; }
hr() { say "------------------------------------------------------------------------------"; }

bins="voiceproxy tests/fakes/fake_realtime tests/fakes/fake_dashboard"
cmds="espeak-ng sox python3 setsid pgrep"
if [ "$MODE" = sip ]; then
	bins="$bins sipbridge tests/fakes/rtp_peer"; cmds="$cmds sipp"
else
	bins="$bins tests/fakes/twilio_client"; cmds="$cmds curl"
fi
for b in $bins; do
	[ -x "$BUILD/$b" ] || e2e_fail "$BUILD/$b is missing: run 'make' first (make demo does)"
done
for c in $cmds; do
	command -v "$c" >/dev/null || e2e_fail "$c is not installed (make deps installs it)"
done

hr
if [ "$MODE" = sip ]; then
	say "VoixIA demo, Mode B (SIP): a restaurant phone call, end to end, on loopback."
else
	say "VoixIA demo, Mode A (Twilio): a restaurant phone call, end to end, on loopback."
fi
say "The AI agent is SIMULATED: tests/fakes/fake_realtime plays a scripted"
say "restaurant agent (greeting, answer tones, a create_order tool call,"
say "end_call). No OpenAI key is used and nothing leaves this machine."
if [ -n "${OPENAI_API_KEY:-}" ]; then
	say "OPENAI_API_KEY is set, but the demo still uses the fakes; for the real"
	say "agent run ./start.sh (or build/voiceproxy) with your .env."
fi
hr

# ---- assets: speech with espeak-ng, 8 kHz mu-law with sox -------------------
speak() { # VOICE TEXT OUT.ulaw
	espeak-ng -v "$1" -s 150 -w "$T/speak.wav" "$2" || e2e_fail "espeak-ng failed"
	sox "$T/speak.wav" -r 8000 -c 1 -t ul "$3" || e2e_fail "sox failed"
}
ORDER_TEXT="Bonjour, je voudrais une pizza margherita à emporter, s'il vous plaît."
THANKS_TEXT="Ce sera tout, merci."
GREET_TEXT="Bonjour, Pizzeria Napoli, que puis-je pour vous ?"
speak fr+m3 "$ORDER_TEXT" "$T/order.ulaw"
speak fr+m3 "$THANKS_TEXT" "$T/thanks.ulaw"
speak fr+f2 "$GREET_TEXT" "$T/greet.ulaw"
greet_ms=$(( $(stat -c %s "$T/greet.ulaw") / 8 ))
# The caller waits for the greeting, orders, waits for the agent's answer and
# the order confirmation, says thanks, then stays on the line until the agent
# hangs up (the caller hangs up itself 4 s after that at the latest).
"$PY" build "$T/caller.ulaw" "sil:$((greet_ms + 1200))" "$T/order.ulaw" sil:4500 "$T/thanks.ulaw" sil:4000 ||
	e2e_fail "cannot build the caller's audio"
call_ms=$(( $(stat -c %s "$T/caller.ulaw") / 8 ))

# ---- the system: fakes, voiceproxy (and sipbridge) ---------------------------
e2e_start_dashboard
e2e_start_realtime --restaurant --greet "$T/greet.ulaw"
e2e_start_proxy
if [ "$MODE" = sip ]; then
	e2e_start_bridge "ws://127.0.0.1:$VP_PORT/media-stream" --param restaurantId=pizza-napoli
	say "started: fake_dashboard :$DASH_PORT, fake_realtime :$RT_PORT, voiceproxy :$VP_PORT,"
	say "         sipbridge sip:127.0.0.1:$SIP_PORT (RTP on 127.0.0.1)"
else
	say "started: fake_dashboard :$DASH_PORT, fake_realtime :$RT_PORT, voiceproxy :$VP_PORT"
fi
say "the caller says: \"$ORDER_TEXT\" ... \"$THANKS_TEXT\""

# ---- the call -----------------------------------------------------------------
SB_RC=0
if [ "$MODE" = sip ]; then
	e2e_start_rtp_peer caller --file "$T/caller.ulaw"
	PID_CALLER=$E2E_PID
	say "calling sip:0491234567@127.0.0.1:$SIP_PORT from +33612345678 (SIPp; audio by rtp_peer on :$RTP_PEER_PORT)"
	e2e_sipp call caller $((call_ms + 4000))
	CALL_RC=$?
	e2e_wait_gone "$PID_CALLER" 30 || e2e_stop "$PID_CALLER" KILL 1
	[ $CALL_RC = 0 ] || e2e_fail "the SIPp call failed (exit $CALL_RC): $(tail -n 3 "$T/call.err" 2>/dev/null)"
else
	# what Twilio does first: fetch the TwiML from the webhook
	say "Twilio's webhook: POST http://127.0.0.1:$VP_PORT/incoming-call?restaurantId=pizza-napoli"
	{
		date -u +%Y-%m-%dT%H:%M:%S.%3NZ
		curl -s --max-time 5 -X POST "http://127.0.0.1:$VP_PORT/incoming-call?restaurantId=pizza-napoli" \
			--data-urlencode CallSid=CA0123456789abcdef0123456789abcdef --data-urlencode From=+33612345678 \
			--data-urlencode To=+33491234567
	} >"$T/webhook.txt" || e2e_fail "the webhook did not answer"
	say "  TwiML: $(tail -n +2 "$T/webhook.txt")"
	say "the Twilio side (twilio_client) opens ws://127.0.0.1:$VP_PORT/media-stream"
	timeout -k 5 $((call_ms / 1000 + 30)) "$BUILD/tests/fakes/twilio_client" \
		--url "ws://127.0.0.1:$VP_PORT/media-stream" --audio "$T/caller.ulaw" --wait-close \
		--max-ms $((call_ms + 4000)) --restaurant-id pizza-napoli --from +33612345678 \
		--rx-audio "$T/tw.rx.ulaw" --events "$T/tw.jsonl" >"$T/tw.out" 2>"$T/tw.log"
	CALL_RC=$?
	[ $CALL_RC = 0 ] || e2e_fail "twilio_client failed (exit $CALL_RC): $(cat "$T/tw.out")"
fi
# the call log is posted when the call ends
e2e_wait_for "$T/dash.jsonl" '"path":"/api/calls"' 10 || say "(no call log reached the dashboard within 10 s)"

# ---- stop everything, cleanly (each prints its own summary) -----------------
if [ "$MODE" = sip ]; then e2e_stop "$PID_sb" TERM 15; SB_RC=$E2E_RC; fi
e2e_stop "$PID_vp" TERM 15; VP_RC=$E2E_RC
e2e_stop "$PID_rt" INT 10; RT_RC=$E2E_RC
e2e_stop "$PID_dash" TERM 10

# ---- recordings ----------------------------------------------------------------
mkdir -p "$OUT"
rm -f "$OUT"/*.wav
if [ "$MODE" = sip ]; then
	# agent track: what the caller received (RTP payloads, 20 ms each, from the 200 OK)
	[ -s "$T/caller.rx.ulaw" ] && cp "$T/caller.rx.ulaw" "$T/agent.ulaw"
else
	# agent track: what the Twilio side played (queued audio at 8000 bytes/s, clears obeyed)
	[ -s "$T/tw.rx.ulaw" ] && "$PY" twplay "$T/tw.rx.ulaw" "$T/tw.jsonl" "$T/agent.ulaw"
fi
agent_ms=$(( $(stat -c %s "$T/agent.ulaw" 2>/dev/null || echo 0) / 8 ))
WAVS=()
if [ "$agent_ms" -gt 0 ]; then
	# caller track: what the caller sent, cut to the call's length
	head -c $((agent_ms * 8)) "$T/caller.ulaw" >"$T/caller.sent.ulaw"
	sox -t ul -r 8000 -c 1 "$T/caller.sent.ulaw" "$OUT/caller.wav"
	sox -t ul -r 8000 -c 1 "$T/agent.ulaw" "$OUT/agent.wav"
	sox -M "$OUT/caller.wav" "$OUT/agent.wav" "$OUT/call-stereo.wav"
	sox -m "$OUT/caller.wav" "$OUT/agent.wav" "$OUT/call-mix.wav"
	WAVS=("$OUT/call-stereo.wav (left: caller, right: agent)" "$OUT/call-mix.wav (both mixed)"
		"$OUT/caller.wav" "$OUT/agent.wav")
else
	say "(the caller received no agent audio: no recording)"
fi
[ -s "$T/rt_audio.1" ] && sox -t ul -r 8000 -c 1 "$T/rt_audio.1" "$OUT/model-heard.wav" &&
	WAVS+=("$OUT/model-heard.wav (what the simulated model received)")
rm -rf "$OUT/logs"; mkdir -p "$OUT/logs"
cp "$T"/*.log "$T"/*.jsonl "$T"/rt.summary "$OUT/logs/" 2>/dev/null
[ -f "$T/call.msg" ] && cp "$T/call.msg" "$OUT/logs/sip-trace.txt"

# ---- the summary ------------------------------------------------------------
hr
python3 "$ROOT/tests/lib/e2e_report.py" "$T" "${WAVS[@]}" | tee "$OUT/summary.txt"
REPORT_RC=${PIPESTATUS[0]}
say "  $OUT/logs/ (every process's log, the fakes' records$([ "$MODE" = sip ] && echo ", the SIP trace"))"
say "  $OUT/summary.txt (this summary)"
hr

say "audio (20 ms blocks that are not silence):"
[ -s "$T/rt_audio.1" ] && say "  the simulated model heard:  $("$PY" loud "$T/rt_audio.1")"
[ "$agent_ms" -gt 0 ] && say "  the caller heard:           $("$PY" loud "$T/agent.ulaw")"

# ---- nothing left behind -----------------------------------------------------
left=""
for p in "${E2E_PGIDS[@]}"; do
	pgrep -g "$p" >/dev/null 2>&1 && left="$left $p"
done
if [ -n "$left" ]; then
	say "processes still running in groups:$left (they will be killed now)"
	E2E_FAILED=1
fi
[ "$SB_RC" = 0 ] || say "note: sipbridge exited with $SB_RC"
[ "$VP_RC" = 0 ] || say "note: voiceproxy exited with $VP_RC"
[ "$RT_RC" = 0 ] || say "note: fake_realtime reported protocol violations (exit $RT_RC): $(cat "$T/rt.summary" 2>/dev/null)"
if [ "$REPORT_RC" = 0 ] && [ -z "$left" ]; then
	say "demo OK: the order and the call log reached the (fake) dashboard; no process left behind."
	say "The agent was simulated. The real thing: ./start.sh with OPENAI_API_KEY (see README.md)."
	exit 0
fi
E2E_FAILED=1
say "demo FAILED (see above; raw logs kept in $T)"
exit 1
