#!/usr/bin/env bash
# A SIPp caller offers PCMA + telephone-event, plays /usr/share/sip-tester/
# g711a.pcap then every RFC 4733 digit (0-9 * #), and hangs up. Asserts: the
# 200 answers PCMA/101 on 127.0.0.1, the recorded stream is connected,
# start (ids, mu-law 8000/1, --param values + from/to), media, dtmf "0123456789*#",
# stop; the inbound audio equals the pcap's A-law converted to mu-law; the
# stream server saw no protocol violation; the bridge exits 0 on SIGTERM.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
start_stream_server
start_bridge --param restaurantId=pizza-napoli --param tenantId=acme
sipp_run pcma uac_pcma_dtmf.xml -s 0491234567 || fail "SIPp scenario failed: $(tail -n 5 "$T/pcma.out")"
wait_for "$T/sb.log" 'media ended' 10 || fail "media did not end after BYE"
stop_bridge
stop_stream_server
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
cat "$T/ss.out"
grep -q 'violations=0' "$T/ss.out" && grep -q 'total: streams=1 violations=0' "$T/ss.out" ||
	fail "stream server reported violations: $(cat "$T/ss.out")"
callid=$(sed -n 's/^Call-ID: *//p' "$T/pcma.msg" | head -n 1 | tr -d '\r')
[ -n "$callid" ] || fail "no Call-ID in the SIPp trace"
python3 "$PYHELP" events "$T/ev.jsonl" 1 restaurantId=pizza-napoli tenantId=acme \
	from=+33612345678 to=0491234567 "sipCallId=$callid" --dtmf '0123456789*#' --min-media 300 || fail "stream events"
python3 "$PYHELP" pcap-audio /usr/share/sip-tester/g711a.pcap 8 "$T/expect.ulaw" --ulaw >/dev/null
python3 "$PYHELP" contains "$T/in_1.ulaw" "$T/expect.ulaw" 1.0 || fail "inbound audio differs from g711a.pcap"
grep -q 'a=rtpmap:8 PCMA/8000' "$T/pcma.msg" || fail "answer not PCMA"
echo "ok"
