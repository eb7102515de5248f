#!/usr/bin/env bash
# BYE from the bridge's side: the application (stream server) closes the WS
# one second into the call; the bridge must send BYE to the caller (SIPp waits
# for it and answers 200), and the stream must have ended cleanly.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
start_stream_server --close-after 1
start_bridge
sipp_run rbye uac_remote_bye.xml || fail "SIPp did not get a BYE: $(tail -n 5 "$T/rbye.out")"
grep -q '^BYE sip:' "$T/rbye.msg" || fail "no BYE in the SIPp trace"
wait_for "$T/sb.log" 'media ended' 10 || fail "media did not end"
grep -q 'stream closed by the application' "$T/sb.log" || fail "no HANGUP log line"
stop_bridge
stop_stream_server
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
echo ok
