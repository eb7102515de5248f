#!/usr/bin/env bash
# re-INVITEs on a live call from SIPp: hold with a=sendonly (answer must be
# recvonly), hold the RFC 2543 way (c=0.0.0.0), unhold (sendrecv), codec
# change to PCMA (answer PCMA only), then a G.729-only re-INVITE refused with
# 488 while the call survives, and a normal BYE. The bridge must pass each
# change to media (log lines) and the stream must stay one clean stream.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
start_stream_server
start_bridge
sipp_run reinv uac_reinvite.xml || fail "SIPp re-INVITE scenario failed: $(tail -n 5 "$T/reinv.out")"
wait_for "$T/sb.log" 'media ended' 10 || fail "media did not end after BYE"
grep -q 're-INVITE: PCMU+telephone-event, on hold' "$T/sb.log" || fail "hold not passed to media"
grep -q 're-INVITE: PCMA, active' "$T/sb.log" || fail "codec change not passed to media"
[ "$(grep -c 're-INVITE: ' "$T/sb.log")" -ge 4 ] || fail "expected 4 accepted re-INVITEs"
grep -q 'unusable SDP' "$T/sb.log" || fail "G.729 re-INVITE not refused"
stop_bridge
stop_stream_server
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
grep -q 'total: streams=1 violations=0' "$T/ss.out" || fail "stream: $(cat "$T/ss.out")"
python3 "$PYHELP" events "$T/ev.jsonl" 1 || fail "stream events"
echo ok
