#!/usr/bin/env bash
# start.sh runs voiceproxy + sipbridge: log lines prefixed with the process
# name, sipbridge streams to this voiceproxy's PORT, one SIGINT stops both
# (exit 0); when sipbridge dies, start.sh stops voiceproxy and exits non-zero.
# start-sipbridge.sh runs the bridge alone with the same .env.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
[ -x "$BUILD/voiceproxy" ] || skip "skipped: $BUILD/voiceproxy not built"
VPORT=$(free_port); SIP_PORT=$(free_port)
rtp=$(rtp_range)
cat >"$T/env" <<ENV
PORT=$VPORT
BIND_ADDR=127.0.0.1
SIP_PORT=$SIP_PORT
RTP_PORT_MIN=${rtp%-*}
RTP_PORT_MAX=${rtp#*-}
SPOOL_DIR=$T/spool
OPENAI_REALTIME_URL=ws://127.0.0.1:9/v1/realtime
DASHBOARD_URL=http://127.0.0.1:9
LOG_LEVEL=info
ENV
start_pair() {
	# Job control on, so the background start.sh does not inherit SIGINT ignored
	# (a non-interactive shell ignores it in async commands; a terminal does not).
	set -m
	ENV_FILE=$T/env BIN_DIR=$BUILD "$ROOT/start.sh" --param restaurantId=scripted >"$T/start.log" 2>&1 &
	START=$!; PIDS+=("$START")
	set +m
	wait_for "$T/start.log" '^sipbridge *\| .*sipbridge ready' 20 || fail "sipbridge not ready: $(tail -n 5 "$T/start.log")"
	wait_for "$T/start.log" '^voiceproxy *\| ' 10 || fail "no voiceproxy lines"
}
start_pair
grep -q "streaming calls to ws://127.0.0.1:$VPORT/media-stream" "$T/start.log" || fail "WS_URL not derived from PORT"
sipp_run opt uac_options.xml || fail "bridge started by start.sh does not answer OPTIONS"
kill -INT "$START"
i=0; while kill -0 "$START" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
kill -0 "$START" 2>/dev/null && fail "start.sh still running 30 s after SIGINT"
wait "$START"; rc=$?
[ $rc = 0 ] || fail "start.sh exit $rc after SIGINT: $(tail -n 8 "$T/start.log")"
grep -q '^sipbridge *| .*sipbridge exiting (0)' "$T/start.log" || fail "sipbridge did not exit cleanly"
mv "$T/start.log" "$T/start1.log"

# sipbridge dies -> voiceproxy is stopped too, start.sh fails.
start_pair
SBPID=$(ps -o pid= --ppid "$START" | while read -r p; do [ "$(cat /proc/"$p"/comm 2>/dev/null)" = sipbridge ] && echo "$p"; done)
VPPID=$(ps -o pid= --ppid "$START" | while read -r p; do [ "$(cat /proc/"$p"/comm 2>/dev/null)" = voiceproxy ] && echo "$p"; done)
[ -n "$SBPID" ] && [ -n "$VPPID" ] || fail "cannot find the two children"
kill -KILL "$SBPID"
i=0; while kill -0 "$START" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
kill -0 "$START" 2>/dev/null && fail "start.sh still running after sipbridge died"
wait "$START"; rc=$?
[ $rc != 0 ] || fail "start.sh exit 0 although sipbridge died"
kill -0 "$VPPID" 2>/dev/null && fail "voiceproxy left running"
grep -q 'start.sh: sipbridge exited' "$T/start.log" || fail "no line saying which process died"

# start-sipbridge.sh alone, same .env.
ENV_FILE=$T/env BIN_DIR=$BUILD "$ROOT/start-sipbridge.sh" >"$T/alone.log" 2>&1 &
ALONE=$!; PIDS+=("$ALONE")
wait_for "$T/alone.log" 'sipbridge ready' 20 || fail "start-sipbridge.sh: not ready"
grep -q "listening on sip:127.0.0.1:$SIP_PORT" "$T/alone.log" || fail "start-sipbridge.sh ignored .env"
kill -TERM "$ALONE"; wait "$ALONE"; rc=$?
[ $rc = 0 ] || fail "start-sipbridge.sh exit $rc"
echo ok
