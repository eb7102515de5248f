#!/usr/bin/env bash
# Behind NAT: with PUBLIC_IP set, the bridge still listens on BIND_ADDR but
# writes PUBLIC_IP in its Contact and in the SDP (o= and c=) of its answer.
# Also: a call over TCP; a SIP-I INVITE whose SDP sits in a multipart/mixed body (with ISUP)
# is answered; an INVITE with a malformed SDP body gets 488 and a log line;
# a burst of garbage datagrams to the SIP port neither crashes nor stalls it.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
start_stream_server
start_bridge --public-ip 203.0.113.77
grep -q "listening on sip:203.0.113.77:$SIP_PORT;maddr=127.0.0.1" "$T/sb.log" || fail "listen URL"
sipp_run call uac_pcmu_hold3s.xml || fail "call failed: $(tail -n 5 "$T/call.out")"
awk '/^SIP\/2.0 200 OK/{p=1} p' "$T/call.msg" >"$T/200.txt"
grep -q "^Contact: <sip:203.0.113.77:$SIP_PORT" "$T/200.txt" || fail "Contact lacks PUBLIC_IP: $(grep -m1 '^Contact' "$T/200.txt")"
grep -q '^c=IN IP4 203.0.113.77' "$T/200.txt" || fail "SDP c= lacks PUBLIC_IP"
grep -q '^o=voixia [0-9]* [0-9]* IN IP4 203.0.113.77' "$T/200.txt" || fail "SDP o= lacks PUBLIC_IP"

# SIP over TCP (trunks and some gateways use it): a whole call.
sipp_run tcp uac_pcmu_hold3s.xml -t t1 || fail "call over TCP failed: $(tail -n 5 "$T/tcp.out")"
grep -q '^SIP/2.0 200 OK' "$T/tcp.msg" || fail "no 200 over TCP"
sipp_run mp uac_multipart.xml || fail "multipart INVITE not answered: $(tail -n 5 "$T/mp.out")"

# Hostile input: garbage datagrams, then a malformed SDP offer.
python3 - "$SIP_PORT" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    s.sendto(os.urandom(1 + i * 5 % 1400), ("127.0.0.1", int(sys.argv[1])))
s.sendto(b"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: garbage\r\n\r\n", ("127.0.0.1", int(sys.argv[1])))
PY
sipp_run badsdp uac_bad_sdp.xml || fail "malformed SDP not refused with 488: $(tail -n 3 "$T/badsdp.out")"
grep -q 'malformed SDP offer' "$T/sb.log" || fail "no log line for the malformed SDP"
sipp_run opt uac_options.xml || fail "bridge not answering after hostile input"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
echo ok
