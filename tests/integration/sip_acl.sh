#!/usr/bin/env bash
# Who may send INVITEs (issue 8), with real SIPp callers on other loopback
# addresses (Linux routes 127/8 to lo: 127.0.0.2 and .3 act as other hosts):
#  1. gateway mode, no SIP_GATEWAY: the policy is logged once; 127.0.0.2 gets
#     403 (a burst of 30 gives at most 2 log lines, all counted); 127.0.0.1
#     gets through.
#  2. SIP_GATEWAY=127.0.0.3: a call from .3 is answered, .2 still gets 403.
#  3. registered to kamailio on 127.0.0.4: a call relayed by the registrar
#     is answered, a direct INVITE from .3 gets 403.
#  4. ALLOWED_SOURCES=any: a warning at start, .2 is answered.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
ip -o addr show lo 2>/dev/null | grep -q '127.0.0.1/8' || skip "skipped: lo does not carry 127.0.0.0/8"
start_stream_server

answered() { grep -c 'stream open -> 200 OK' "$T/sb.log"; }

# 1. Gateway mode default: loopback only.
start_bridge
[ "$(grep -c 'INVITEs accepted from loopback (gateway mode default' "$T/sb.log")" = 1 ] ||
	fail "effective policy not logged once: $(grep 'INVITEs' "$T/sb.log")"
SIPP_IP=127.0.0.2 sipp_run other uac_expect_403.xml || fail "INVITE from 127.0.0.2 not refused with 403"
grep -q 'INVITE from 127.0.0.2:[0-9]* not in ALLOWED_SOURCES -> 403' "$T/sb.log" || fail "no log line for the 403"
SIPP_IP=127.0.0.2 sipp_run burst uac_expect_403.xml -m 30 -r 200 -l 30 || fail "burst from 127.0.0.2 not all refused with 403"
n=$(grep -c 'INVITE from 127.0.0.2:.* -> 403' "$T/sb.log")
[ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "403 log lines for 31 refusals: $n (want one per second per source)"
sipp_run local uac_pcmu_hold3s.xml || fail "call from 127.0.0.1 refused: $(tail -n 3 "$T/local.out")"
[ "$(answered)" = 1 ] || fail "loopback call not answered"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
grep -q 'forbidden=31 ' "$T/sb.log" || fail "403s not counted: $(grep 'sip: stopped' "$T/sb.log")"
mv "$T/sb.log" "$T/sb1.log"

# 2. SIP_GATEWAY admits the gateway (the HT841's address in real life).
SIP_GATEWAY=127.0.0.3 start_bridge
grep -q 'INVITEs accepted from loopback + SIP_GATEWAY 127.0.0.3' "$T/sb.log" || fail "gateway policy not logged"
SIPP_IP=127.0.0.3 sipp_run gw uac_pcmu_hold3s.xml || fail "call from the gateway 127.0.0.3 refused: $(tail -n 3 "$T/gw.out")"
SIPP_IP=127.0.0.2 sipp_run other2 uac_expect_403.xml || fail "127.0.0.2 not refused with SIP_GATEWAY=127.0.0.3"
grep -q 'INVITE from 127.0.0.3:.*rtp' "$T/sb.log" || fail "gateway call not logged as admitted"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
mv "$T/sb.log" "$T/sb2.log"

# 3. Registered mode: the registrar's addresses (kamailio on 127.0.0.4).
if command -v kamailio >/dev/null 2>&1; then
	start_kamailio 127.0.0.4
	start_bridge --sip-username 33491234567 --sip-password s3cr3t-kam --sip-domain "127.0.0.4:$KPORT" \
		--public-ip 127.0.0.1 --register-expires 60
	grep -q 'INVITEs accepted from registrar 127.0.0.4 (127.0.0.4) + loopback' "$T/sb.log" ||
		fail "registered policy not logged: $(grep INVITEs "$T/sb.log")"
	wait_for "$T/sb.log" 'register: registered' 10 || fail "not registered with kamailio on 127.0.0.4"
	SIP_PORT_BRIDGE=$SIP_PORT; SIP_PORT=$KPORT
	SIPP_DEST=127.0.0.4 SIPP_IP=127.0.0.2 sipp_run viakam uac_pcmu_hold3s.xml -s 33491234567 ||
		fail "call relayed by the registrar refused: $(tail -n 3 "$T/viakam.out")"
	SIP_PORT=$SIP_PORT_BRIDGE
	grep -q 'INVITE from 127.0.0.4:.*rtp' "$T/sb.log" || fail "relayed call not admitted from 127.0.0.4"
	SIPP_IP=127.0.0.3 sipp_run direct uac_expect_403.xml || fail "direct INVITE from 127.0.0.3 not refused in registered mode"
	stop_bridge
	[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
	mv "$T/sb.log" "$T/sb3.log"
	kill "$KPID" 2>/dev/null
else
	echo "kamailio not installed: registered mode covered by unit/test_sip_policy only" >&2
fi

# 4. ALLOWED_SOURCES=any opens it, loudly.
start_bridge --allowed-sources any
grep -q 'WARN .*INVITEs accepted from anyone' "$T/sb.log" || fail "no warning for ALLOWED_SOURCES=any"
SIPP_IP=127.0.0.2 sipp_run any uac_pcmu_hold3s.xml || fail "ALLOWED_SOURCES=any refused 127.0.0.2: $(tail -n 3 "$T/any.out")"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
stop_stream_server
echo ok
