#!/usr/bin/env bash
# Trunk registration against a real registrar: Debian's kamailio with
# tests/kamailio/registrar.cfg (digest auth, expiry forced to 10 s).
#  1. Right credentials: 401 challenge answered, "registered" logged, and a
#     refresh REGISTER before the 10 s expiry; then a SIPp call to the AOR
#     through kamailio reaches the bridge through the registered Contact
#     (which must carry PUBLIC_IP); SIGTERM unregisters.
#  2. Wrong password: one clear error line per failure, retries with growing
#     backoff (2 s then 4 s), no crash, and the password never in any log.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
need kamailio
start_kamailio
start_stream_server
start_bridge --sip-username 33491234567 --sip-password s3cr3t-kam --sip-domain "127.0.0.1:$KPORT" \
	--public-ip 127.0.0.1 --register-expires 60 --param restaurantId=trunk-test
wait_for "$T/sb.log" 'register: registered sip:33491234567@127.0.0.1' 10 || fail "not registered"
grep -q 'CHALLENGE' "$T/kam.log" || fail "kamailio did not challenge"
grep -q "REGISTERED sip:33491234567@127.0.0.1:$KPORT contact <sip:33491234567@127.0.0.1:$SIP_PORT" "$T/kam.log" ||
	fail "kamailio did not store our Contact: $(grep REGISTERED "$T/kam.log")"
# Refresh before the 10 s expiry (nua does it on its own).
i=0; while [ "$(grep -c 'REGISTERED sip:33491234567' "$T/kam.log")" -lt 2 ] && [ $i -lt 120 ]; do sleep 0.1; i=$((i+1)); done
[ $i -lt 120 ] || fail "no refresh REGISTER within 12 s"
# A call to the AOR through the registrar reaches the bridge.
SIP_PORT_BRIDGE=$SIP_PORT; SIP_PORT=$KPORT
sipp_run viakam uac_pcmu_hold3s.xml -s 33491234567 || fail "call through kamailio failed: $(tail -n 5 "$T/viakam.out")"
SIP_PORT=$SIP_PORT_BRIDGE
grep -q 'RELAY INVITE to sip:33491234567@127.0.0.1' "$T/kam.log" || fail "kamailio did not relay the INVITE"
grep -q 'stream open -> 200 OK' "$T/sb.log" || fail "bridge did not answer the relayed call"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
grep -q 'register: unregistered' "$T/sb.log" || fail "no unregistration at shutdown"
mv "$T/sb.log" "$T/sb1.log"

# Wrong password.
start_bridge --sip-username 33491234567 --sip-password wrong-Pa55 --sip-domain "127.0.0.1:$KPORT"
wait_for "$T/sb.log" 'retry in 4 s' 15 || fail "no second failure with backoff"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC (wrong password)"
grep -q 'register: sip:33491234567@127.0.0.1:[0-9]* at sip:127.0.0.1:[0-9]*: 401 Unauthorized - credentials rejected, check SIP_USERNAME/SIP_PASSWORD; retry in 2 s' "$T/sb.log" ||
	fail "no clear 401 line: $(grep 'register:' "$T/sb.log")"
grep -q 'wrong-Pa55\|s3cr3t-kam' "$T/sb.log" "$T/sb1.log" && fail "a password reached the logs"
echo ok
