#!/usr/bin/env bash
# End to end: sipbridge is protocol-only. The same SIP caller as the Mode B
# test, but sipbridge streams to tests/fakes/stream_server (a Twilio Media
# Streams application that is not voiceproxy). The stream server checks the
# Twilio contract on every message (ids, sequence numbers, chunks,
# timestamps, marks, stop) and plays: a 1500 Hz tone + mark "greeted", then
# at 2 s a 3 s 700 Hz tone + mark "answered", a clear at 3 s, and closes the
# stream at 4.5 s. Asserts:
#  - no contract violation; events in order: connected, start (customParameters
#    with --param and from/to), media, dtmf "42", mark echoes;
#  - "greeted" echoed once its audio played (>= 1 s), "answered" echoed at the
#    clear (never played), in the order sent;
#  - the caller's 1 kHz tone arrives at the server, the 1500 Hz tone at the
#    caller; at most one frame of 700 Hz reaches the caller after the clear;
#  - closing the stream hangs up the call (BYE), sipbridge exits 0.
. "$(dirname "$0")/../lib/e2e_lib.sh"
e2e_need sipp
e2e_need python3
for b in sipbridge tests/fakes/stream_server tests/fakes/rtp_peer; do
	e2e_need_bin "$b"
done

e2e_spawn ss "$BUILD/tests/fakes/stream_server" --bind 127.0.0.1 --port-file "$T/ss.port" \
	--events "$T/ev.jsonl" --sent "$T/sent.jsonl" --inbound "$T/in.ulaw" --timeout 40 \
	--tone 1500:1000 --mark greeted --at 2000:tone=700:3000 --at 2000:mark=answered --at 3000:clear \
	--close-after 4.5 --exit-after 1
PID_SS=$E2E_PID
e2e_wait_for "$T/ss.port" '^[0-9]+' 10 || e2e_fail "stream_server did not start"
WS_PORT=$(head -n1 "$T/ss.port" | tr -dc 0-9)
e2e_start_bridge "ws://127.0.0.1:$WS_PORT/media-stream" --param restaurantId=pizza-napoli --param tenantId=acme

python3 "$E2E_PY" build "$T/caller.ulaw" sil:500 tone:1000:1500 sil:500 || e2e_fail "audio build"
e2e_start_rtp_peer caller --file "$T/caller.ulaw" --dtmf 42 --duration 8
PID_CALLER=$E2E_PID
e2e_sipp call caller 10000 || e2e_fail "SIPp call failed: $(tail -n 5 "$T/call.err" "$T/call.sipp.out" 2>/dev/null)"
grep -A3 'UDP message received' "$T/call.msg" | grep -q '^BYE sip:' || e2e_fail "closing the stream did not hang up the call"
e2e_wait_gone "$PID_SS" 15 || e2e_fail "stream_server did not exit after the stream closed"
wait "$PID_SS"; SS_RC=$?
e2e_wait_gone "$PID_CALLER" 15 || e2e_fail "rtp_peer did not finish"
e2e_stop "$PID_sb" TERM 20; SB_RC=$E2E_RC
cat "$T/ss.out"
[ "$SS_RC" = 0 ] && grep -q 'total: streams=1 violations=0' "$T/ss.out" ||
	e2e_fail "the stream server found contract violations (exit $SS_RC)"

python3 - "$T/ev.jsonl" "$T/sent.jsonl" <<'PY' || e2e_fail "stream events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sent = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
def fail(m):
    print("events: " + m); sys.exit(1)
names = [e["event"] for e in ev]
if names[:2] != ["connected", "start"]: fail(f"order {names[:3]} ...")
# the server closed the stream: like Twilio, no stop is owed then; if one came, it is last
if "stop" in names and names.index("stop") != len(names) - 1: fail("events after stop")
st = ev[1]["start"]
cp = st.get("customParameters", {})
for k, v in (("restaurantId", "pizza-napoli"), ("tenantId", "acme"), ("from", "+33612345678"), ("to", "0491234567")):
    if cp.get(k) != v: fail(f"customParameters.{k} = {cp.get(k)!r}")
if st["mediaFormat"] != {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}: fail("mediaFormat")
media = [e for e in ev if e["event"] == "media"]
if len(media) < 100: fail(f"{len(media)} media events")
digits = "".join(e["dtmf"]["digit"] for e in ev if e["event"] == "dtmf")
if digits != "42": fail(f"dtmf {digits!r}")
echo = [(e["mark"]["name"], e["_t"]) for e in ev if e["event"] == "mark"]
if [n for n, _ in echo] != ["greeted", "answered"]: fail(f"mark echoes {echo}")
sent_at = {e["mark"]["name"]: e["_t"] for e in sent if e.get("event") == "mark"}
clear_at = next(e["_t"] for e in sent if e.get("event") == "clear")
g = echo[0][1] - sent_at["greeted"]
# never before its 1000 ms have played; late only by the call set-up (playout
# starts with the call's media, which may lag the stream's start under load)
if not 980 <= g <= 3000: fail(f"'greeted' echoed {g:.0f} ms after it was sent (its audio lasts 1000 ms)")
a = echo[1][1] - clear_at
if not 0 <= a <= 60: fail(f"'answered' echoed {a:.0f} ms after the clear")
print(f"events: {len(ev)} ({len(media)} media), customParameters {cp}, dtmf {digits}, "
      f"'greeted' echoed after {g:.0f} ms, 'answered' {a:.0f} ms after the clear")
PY

python3 "$E2E_PY" tone "$T/in.ulaw" 1000 1400 || e2e_fail "the caller's tone did not reach the stream server"
python3 "$E2E_PY" tone "$T/caller.rx.ulaw" 1500 900 || e2e_fail "the server's tone did not reach the caller"
clear_line=$(grep -m1 -E '\] clear: ' "$T/sb.log") || e2e_fail "sipbridge logged no clear"
python3 "$E2E_PY" bargein "$T/caller.rec" "$T/caller.rx.ulaw" "$clear_line" 700 || e2e_fail "clear on the caller's side"
[ "$SB_RC" = 0 ] || e2e_fail "sipbridge exit status $SB_RC"
echo "ok"
