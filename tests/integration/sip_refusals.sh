#!/usr/bin/env bash
# What the bridge refuses, each from a real SIPp peer:
#  OPTIONS -> 200; a G.729-only offer -> 488; MAX_CALLS=2 with two live calls
#  -> 486 for the third while the two finish normally; ALLOWED_SOURCES not
#  matching 127.0.0.1 -> 403; RTP ports exhausted (a range of one port) ->
#  503 while the live call goes on. Each refusal gets a log line.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
start_stream_server
start_bridge --max-calls 2
sipp_run opt uac_options.xml || fail "OPTIONS not answered 200"
sipp_run nocodec uac_488.xml || fail "G.729 offer not refused with 488: $(tail -n 3 "$T/nocodec.out")"
grep -q 'no common codec' "$T/sb.log" || fail "no log line for 488"

# Two 3-second calls in the background, then a third: 486.
port=$(free_port)
timeout 30 sipp "127.0.0.1:$SIP_PORT" -sf "$SIPP_DIR/uac_pcmu_hold3s.xml" -i 127.0.0.1 -p "$port" \
	-mp "$(free_port)" -m 2 -l 2 -r 10 -nostdin -timeout 30 -timeout_error \
	-trace_err -error_file "$T/two.sipp.log" >"$T/two.out" 2>&1 &
TWO=$!; PIDS+=("$TWO")
i=0; while [ "$(grep -c 'stream open -> 200 OK' "$T/sb.log")" -lt 2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ $i -lt 100 ] || fail "the two calls were not answered"
sipp_run busy uac_expect_486.xml || fail "third call not refused with 486: $(tail -n 3 "$T/busy.out")"
grep -q 'MAX_CALLS=2 reached -> 486' "$T/sb.log" || fail "no log line for 486"
wait "$TWO" || fail "the two admitted calls did not complete: $(tail -n 5 "$T/two.out")"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
grep -q 'busy=1 no_codec=1' "$T/sb.log" || fail "drop counters: $(grep 'sip: stopped' "$T/sb.log")"
mv "$T/sb.log" "$T/sb1.log"

start_bridge --allowed-sources '10.0.0.0/8, 192.0.2.1'
sipp_run acl uac_expect_403.xml || fail "INVITE from 127.0.0.1 not refused with 403"
grep -q 'not in ALLOWED_SOURCES -> 403' "$T/sb.log" || fail "no log line for 403"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
mv "$T/sb.log" "$T/sb2.log"

# One RTP port only: a second simultaneous call cannot get one.
base=$(( (RANDOM % 1000) * 2 + 40000 ))
start_bridge --rtp-ports "$base-$((base + 1))"
timeout 30 sipp "127.0.0.1:$SIP_PORT" -sf "$SIPP_DIR/uac_pcmu_hold3s.xml" -i 127.0.0.1 -p "$(free_port)" \
	-mp "$(free_port)" -m 1 -nostdin -timeout 30 -timeout_error >"$T/one.out" 2>&1 &
ONE=$!; PIDS+=("$ONE")
wait_for "$T/sb.log" 'stream open -> 200 OK' 10 || fail "first call not answered"
sipp_run noport uac_expect_503.xml || fail "no 503 when RTP ports are exhausted"
grep -q 'no RTP port free' "$T/sb.log" || fail "no log line for RTP port exhaustion"
wait "$ONE" || fail "the live call was disturbed: $(tail -n 3 "$T/one.out")"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
stop_stream_server
grep -q 'total: streams=3 violations=0' "$T/ss.out" || fail "stream: $(cat "$T/ss.out")"
echo ok
