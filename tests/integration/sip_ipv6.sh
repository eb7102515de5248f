#!/usr/bin/env bash
# IPv6: the bridge bound to [::1], a SIPp caller on ::1 (sipp -i ::1) offers
# PCMA, plays g711a.pcap and RFC 4733 digits, hangs up. Asserts: the 200's
# SDP says c=IN IP6 ::1, the default source policy lets ::1 in, the inbound
# audio equals the pcap's, the digits arrive, and the bridge exits 0.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/128' || skip "skipped: no IPv6 loopback"
start_stream_server
start_bridge --bind ::1
grep -q 'sip: listening on sip:\[::1\]:' "$T/sb.log" || fail "not listening on [::1]"
SIPP_DEST='[::1]' SIPP_IP=::1 sipp_run v6 uac_pcma_dtmf.xml -s 0491234567 ||
	fail "SIPp scenario over IPv6 failed: $(tail -n 5 "$T/v6.out")"
wait_for "$T/sb.log" 'media ended' 10 || fail "media did not end after BYE"
grep -q 'c=IN IP6 ::1' "$T/v6.msg" || fail "answer SDP not on IP6 ::1"
grep -q 'INVITE from \[::1\]:' "$T/sb.log" || fail "caller not seen as [::1]"
stop_bridge
stop_stream_server
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
grep -q 'total: streams=1 violations=0' "$T/ss.out" || fail "stream server: $(cat "$T/ss.out")"
python3 "$PYHELP" events "$T/ev.jsonl" 1 to=0491234567 --dtmf '0123456789*#' --min-media 300 || fail "stream events"
python3 "$PYHELP" pcap-audio /usr/share/sip-tester/g711a.pcap 8 "$T/expect.ulaw" --ulaw >/dev/null
python3 "$PYHELP" contains "$T/in_1.ulaw" "$T/expect.ulaw" 1.0 || fail "inbound audio differs from g711a.pcap"
echo ok
