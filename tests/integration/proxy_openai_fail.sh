#!/usr/bin/env bash
# The Realtime API failing: (1) unreachable at connect, (2) closing mid-call,
# (3) an error event, (4) a slow start (not a failure: audio must still flow).
# Each failure: a log line with the reason, the call ended after the short
# grace (OPENAI_FAIL_GRACE_MS) by voiceproxy, counted in /health. Here the
# spoken prompt is off (FALLBACK_AUDIO=none); proxy_fallback.sh tests it.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

check_ended() { # summary-file label
  python3 - "$1" <<'PY' || fail "$2: stream not ended by voiceproxy in time"
import json, sys
c = json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(c)
assert c["opened"] and c["server_closed"], "voiceproxy must end the stream"
assert c["ms"] < 8000, "the caller was left waiting"
PY
}

# (1) unreachable: nothing listens on RT_PORT
RT_PORT=$(free_port)
start_vp OPENAI_CONNECT_TIMEOUT_MS=1000 FALLBACK_AUDIO=none
twc --tone 300:1000 --duration-ms 1000 --wait-close --max-ms 10000 --summary "$T/t1.json" >/dev/null \
  || fail "unreachable: twilio_client failed"
check_ended "$T/t1.json" unreachable
grep -q 'realtime: unreachable' "$T/vp.log" || fail "unreachable: no reason logged"
grep -q 'call ended: openai_unreachable' "$T/vp.log" || fail "unreachable: end reason"
health | grep -q '"openai_failures":1' || fail "unreachable: not counted"
stop_vp; [ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"

# (2) closed mid-call
start_rt --at 1000:close
start_vp FALLBACK_AUDIO=none
twc --tone 300:1000 --duration-ms 1000 --wait-close --max-ms 10000 --summary "$T/t2.json" >/dev/null \
  || fail "drop: twilio_client failed"
check_ended "$T/t2.json" drop
grep -q 'realtime: connection closed mid-call' "$T/vp.log" || fail "drop: no reason logged"
grep -q 'call ended: openai_dropped' "$T/vp.log" || fail "drop: end reason"
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"; [ "$RT_RC" = 0 ] || fail "violations"

# (3) error event
start_rt --at 800:error:server_error:"The server had an error"
start_vp FALLBACK_AUDIO=none
twc --tone 300:1000 --duration-ms 1000 --wait-close --max-ms 10000 --summary "$T/t3.json" >/dev/null \
  || fail "error: twilio_client failed"
check_ended "$T/t3.json" "error event"
grep -q 'realtime error event: type=server_error' "$T/vp.log" || fail "error: not logged"
grep -q 'call ended: openai_error' "$T/vp.log" || fail "error: end reason"
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"; [ "$RT_RC" = 0 ] || fail "violations"

# (4) slow start: session.created 1.5 s late; the call still carries audio both ways
gen_ulaw "$T/greet.ulaw" 8000 5
start_rt --slow-start 1500 --greet "$T/greet.ulaw"
start_vp GREETING=Hello
twc --tone 300:3000 --duration-ms 4000 --rx-audio "$T/rx4.ulaw" --summary "$T/t4.json" >/dev/null \
  || fail "slow start: twilio_client failed"
stop_vp; stop_rt
cmp "$T/greet.ulaw" "$T/rx4.ulaw" || fail "slow start: greeting not delivered"
[ "$(json_get "$T/rtsum.json" "j['audio_bytes']")" = 32000 ] || fail "slow start: caller audio lost"
echo "proxy_openai_fail: ok"
