#!/usr/bin/env bash
# The stream side failing when a call arrives:
#  - WS_URL refuses connections: the INVITE gets 180 then 503, one log line;
#  - WS_URL accepts TCP but never answers the upgrade: the caller hears 180,
#    a CANCEL gets 200 + 487; a caller that waits gets 503 after ANSWER_TIMEOUT.
# The bridge must keep serving and exit 0.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
WS_PORT=$(free_port) # nothing listens there
start_bridge
sipp_run down uac_expect_503.xml || fail "WS down: no 503: $(tail -n 3 "$T/down.out")"
grep -q 'unavailable' "$T/sb.log" || fail "no log line for the unreachable stream"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
mv "$T/sb.log" "$T/sb1.log"

# A black hole: accepts, reads, never answers.
WS_PORT=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); conns = []
end = time.time() + 60
s.settimeout(0.5)
while time.time() < end:
    try: c, _ = s.accept(); conns.append(c)
    except socket.timeout: pass
' "$WS_PORT" &
PIDS+=($!)
sleep 0.3
start_bridge --answer-timeout 2
sipp_run cancel uac_cancel.xml || fail "CANCEL scenario failed: $(tail -n 5 "$T/cancel.out")"
grep -q 'CANCEL from the caller' "$T/sb.log" || fail "no CANCEL log line"
SIPP_TIMEOUT=20 sipp_run slow uac_expect_503.xml || fail "no 503 after ANSWER_TIMEOUT: $(tail -n 3 "$T/slow.out")"
grep -q 'stream not ready after 2 s -> 503' "$T/sb.log" || fail "no answer-timeout log line"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
echo ok
