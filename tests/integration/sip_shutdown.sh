#!/usr/bin/env bash
# SIGTERM with a live call: the bridge stops taking calls, sends BYE to the
# caller, ends the stream with stop, and exits 0.
# Then a drain held open by a caller answering the BYE 3 s late: an INVITE
# arriving meanwhile gets 503 (logged and counted), and the drain still ends
# with exit 0.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
start_stream_server
start_bridge --shutdown-grace-ms 5000
port=$(free_port)
timeout 30 sipp "127.0.0.1:$SIP_PORT" -sf "$SIPP_DIR/uac_remote_bye.xml" -i 127.0.0.1 -p "$port" \
	-mp "$(free_port)" -m 1 -nostdin -timeout 30 -timeout_error -trace_msg -message_file "$T/live.msg" \
	>"$T/live.out" 2>&1 &
LIVE=$!; PIDS+=("$LIVE")
wait_for "$T/sb.log" 'stream open -> 200 OK' 10 || fail "call not answered"
sleep 0.5
kill -TERM "$SB_PID"
wait "$LIVE" || fail "caller did not get a BYE at shutdown: $(tail -n 3 "$T/live.out")"
i=0; while kill -0 "$SB_PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done
kill -0 "$SB_PID" 2>/dev/null && fail "bridge still running 15 s after SIGTERM"
wait "$SB_PID"; rc=$?
[ $rc = 0 ] || fail "sipbridge exit status $rc"
grep -q 'stopping: new calls get 503' "$T/sb.log" || fail "no stop log line"
grep -q 'BYE sent (bridge shutting down)' "$T/sb.log" || fail "no BYE at shutdown"
mv "$T/sb.log" "$T/sb1.log"

start_bridge --shutdown-grace-ms 8000
timeout 30 sipp "127.0.0.1:$SIP_PORT" -sf "$SIPP_DIR/uac_slow_bye.xml" -i 127.0.0.1 -p "$(free_port)" \
	-mp "$(free_port)" -m 1 -nostdin -timeout 30 -timeout_error >"$T/slow.out" 2>&1 &
SLOW=$!; PIDS+=("$SLOW")
wait_for "$T/sb.log" 'stream open -> 200 OK' 10 || fail "second call not answered"
kill -TERM "$SB_PID"
wait_for "$T/sb.log" 'BYE sent \(bridge shutting down\)' 5 || fail "no BYE at the second shutdown"
sipp_run late uac_expect_503.xml || fail "INVITE during the drain not refused with 503: $(tail -n 3 "$T/late.out")"
grep -q 'refused: shutting down -> 503' "$T/sb.log" || fail "no log line for the 503 during the drain"
kill -0 "$SB_PID" 2>/dev/null || fail "the drain ended before the late INVITE: the test proves nothing"
wait "$SLOW" || fail "the slow caller failed: $(tail -n 3 "$T/slow.out")"
i=0; while kill -0 "$SB_PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done
kill -0 "$SB_PID" 2>/dev/null && fail "bridge still running 15 s after SIGTERM"
wait "$SB_PID"; rc=$?
[ $rc = 0 ] || fail "sipbridge exit status $rc (second run)"
grep -q 'refused_stopping=1)' "$T/sb.log" || fail "503 during the drain not counted: $(grep 'sip: stopped' "$T/sb.log")"
stop_stream_server
grep -q 'stream 1: .*stop=yes violations=0' "$T/ss.out" || fail "stream: $(cat "$T/ss.out")"
grep -q 'stream 2: .*stop=yes violations=0' "$T/ss.out" || fail "stream 2: $(cat "$T/ss.out")"
echo ok
