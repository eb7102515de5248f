#!/usr/bin/env bash
# Delayed offer: INVITE without SDP. The bridge offers PCMU, PCMA and
# telephone-event in its 200; SIPp answers PCMA in the ACK and plays
# g711a.pcap: the media must switch to PCMA/the SIPp address and the stream
# must carry that audio as mu-law.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
start_stream_server
start_bridge
sipp_run dly uac_delayed_offer.xml || fail "SIPp delayed-offer scenario failed: $(tail -n 5 "$T/dly.out")"
wait_for "$T/sb.log" 'media ended' 10 || fail "media did not end after BYE"
grep -q 'SDP answer in ACK: PCMA' "$T/sb.log" || fail "ACK answer not applied"
stop_bridge
stop_stream_server
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
grep -q 'total: streams=1 violations=0' "$T/ss.out" || fail "stream: $(cat "$T/ss.out")"
python3 "$PYHELP" events "$T/ev.jsonl" 1 --min-media 50 || fail "stream events"
python3 "$PYHELP" pcap-audio /usr/share/sip-tester/g711a.pcap 8 "$T/expect.ulaw" --ulaw >/dev/null
# 2 s of the 7 s pcap is played: at least 1.5 s (12000 bytes) must match exactly.
head -c 12000 "$T/expect.ulaw" >"$T/expect_head.ulaw"
python3 "$PYHELP" contains "$T/in_1.ulaw" "$T/expect_head.ulaw" 1.0 || fail "inbound audio differs"
echo ok
