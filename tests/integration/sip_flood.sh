#!/usr/bin/env bash
# INVITE flood from one source (issue 8): with MAX_INVITE_RATE=5 (burst 10),
# 40 INVITEs sent at once get 503 beyond the burst, counted, with at most a
# log line per second; every INVITE gets a final answer; the bridge keeps
# answering OPTIONS, takes a normal call once the bucket refills, and exits 0.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
start_stream_server
# No stream behind this first bridge: the few INVITEs the limiter admits end
# with 503 from the media side, so every answer is a 503 and the limiter's own
# count is read from the bridge's exit line.
WS_PORT_REAL=$WS_PORT; WS_PORT=$(free_port)
start_bridge --max-invite-rate 5
python3 "$PYHELP" flood "$SIP_PORT" 40 >"$T/flood.out" || fail "flood client failed"
cat "$T/flood.out"
grep -q '^unanswered 0$' "$T/flood.out" || fail "some INVITEs got no final answer"
n503=$(awk '$1 == 503 {print $2}' "$T/flood.out")
[ "${n503:-0}" = 40 ] || fail "want 40 x 503 (rate or no stream), got: $(cat "$T/flood.out")"
nlog=$(grep -c 'INVITE flood from 127.0.0.1' "$T/sb.log")
[ "$nlog" -ge 1 ] && [ "$nlog" -le 3 ] || fail "flood log lines: $nlog"
sipp_run opt uac_options.xml || fail "no OPTIONS answer during/after the flood"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
limited=$(sed -n 's/.*rate_limited=\([0-9]*\).*/\1/p' "$T/sb.log")
[ "${limited:-0}" -ge 25 ] && [ "${limited:-0}" -le 32 ] || fail "rate_limited=$limited, want 25..32"
mv "$T/sb.log" "$T/sb1.log"

# The limit is per second: after the flood, a paced caller gets through.
WS_PORT=$WS_PORT_REAL
start_bridge --max-invite-rate 5
python3 "$PYHELP" flood "$SIP_PORT" 30 >/dev/null
sleep 1.2
sipp_run call uac_pcmu_hold3s.xml || fail "a normal call after the flood failed: $(tail -n 3 "$T/call.out")"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
echo ok
