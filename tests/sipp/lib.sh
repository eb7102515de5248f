# Shared helpers for tests/integration/sip_*.sh (sourced, never run alone).
# Every test: loopback only, free random ports, a mktemp dir, everything it
# starts killed on exit, every wait bounded.
#   BUILD  binaries dir (build/asan), ROOT repo root (set by tests/run.sh)
set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build/asan}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SIPP_DIR=$ROOT/tests/sipp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}

T=$(mktemp -d /tmp/sipbridge-test.XXXXXX)
PIDS=()
cleanup() {
	local p
	# A forked child killed before its exec inherits this trap: only the test itself cleans up.
	[ "$BASHPID" = "$$" ] || return 0
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
	if [ "${KEEP_TMP:-0}" = 1 ] || [ "${TEST_FAILED:-0}" = 1 ]; then echo "logs kept in $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

fail() { TEST_FAILED=1; echo "FAIL: $*" >&2; show_logs; exit 1; }
skip() { echo "$*" >&2; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "skipped: $1 not installed"; }
show_logs() {
	local f
	for f in "$T"/sb.log "$T"/ss.err "$T"/*.sipp.log; do
		[ -f "$f" ] || continue
		echo "---- $f (last 40 lines)" >&2; tail -n 40 "$f" >&2
	done
}

# A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both).
free_port() {
	python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 60000)
    try:
        for t in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, t); s.bind(("127.0.0.1", p)); s.close()
        print(p); break
    except OSError:
        continue
PY
}

# A random even RTP range of $1 ports (default 200) in 30000-59999.
rtp_range() {
	local n=${1:-200} base
	base=$(( (RANDOM % 140) * 200 + 30000 ))
	echo "$base-$((base + n - 1))"
}

# wait_for FILE REGEX SECONDS
wait_for() {
	local f=$1 re=$2 to=${3:-10} i=0
	while [ $i -lt $((to * 10)) ]; do
		grep -qE "$re" "$f" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# start_stream_server [args...] -> WS_PORT, SS_PID; events in $T/ev.jsonl,
# inbound audio in $T/in_N.ulaw, summary in $T/ss.out.
start_stream_server() {
	rm -f "$T/ws.port"
	"$BUILD/tests/fakes/stream_server" --port-file "$T/ws.port" --events "$T/ev.jsonl" \
		--inbound "$T/in_%d.ulaw" --timeout 240 "$@" >"$T/ss.out" 2>"$T/ss.err" &
	SS_PID=$!; PIDS+=("$SS_PID")
	wait_for "$T/ws.port" '^[0-9]+' 10 || fail "stream_server did not start"
	WS_PORT=$(cat "$T/ws.port")
}

# stop_stream_server: SIGINT, wait, leaves the summary in $T/ss.out.
stop_stream_server() {
	kill -INT "$SS_PID" 2>/dev/null
	local i=0; while kill -0 "$SS_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}

# start_bridge [args...] -> SIP_PORT, SB_PID. Retries on a port race.
# SB_NOFILE=N runs it under `ulimit -n N` (descriptor exhaustion tests).
start_bridge() {
	local try pre=()
	[ -n "${SB_NOFILE:-}" ] && pre=(bash -c 'ulimit -n "$0" && exec "$@"' "$SB_NOFILE")
	for try in 1 2 3 4 5; do
		SIP_PORT=$(free_port)
		rm -f "$T/sb.log"
		"${pre[@]}" "$BUILD/sipbridge" --bind 127.0.0.1 --sip-port "$SIP_PORT" --rtp-ports "$(rtp_range)" \
			--ws-url "ws://127.0.0.1:${WS_PORT:-9}/media-stream" --log-level debug "$@" >"$T/sb.log" 2>&1 &
		SB_PID=$!; PIDS+=("$SB_PID")
		if wait_for "$T/sb.log" 'sipbridge ready|cannot listen|exiting' 20 && grep -q 'sipbridge ready' "$T/sb.log"; then
			return 0
		fi
		kill "$SB_PID" 2>/dev/null; wait "$SB_PID" 2>/dev/null
	done
	fail "sipbridge did not start"
}

# stop_bridge: SIGTERM, bounded wait; sets SB_RC. Leaks or sanitizer reports fail.
stop_bridge() {
	kill -TERM "$SB_PID" 2>/dev/null
	local i=0
	while kill -0 "$SB_PID" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 "$SB_PID" 2>/dev/null; then kill -9 "$SB_PID"; fail "sipbridge did not exit within 20 s of SIGTERM"; fi
	wait "$SB_PID"; SB_RC=$?
}

# sipp_run NAME SCENARIO [args...]: runs SIPp in the foreground (bounded),
# its own port picked free; message trace in $T/NAME.msg, errors in $T/NAME.sipp.log.
# SIPP_IP (default 127.0.0.1) is the caller's address (Linux routes all of
# 127/8 to lo, so 127.0.0.2 and up act as other hosts); SIPP_DEST (default
# 127.0.0.1) the address called.
sipp_run() {
	local name=$1 sf=$2; shift 2
	local port mport
	port=$(free_port); mport=$(free_port)
	timeout -k 5 "${SIPP_TIMEOUT:-60}" sipp "${SIPP_DEST:-127.0.0.1}:$SIP_PORT" -sf "$SIPP_DIR/$sf" -i "${SIPP_IP:-127.0.0.1}" -p "$port" \
		-mp "$mport" -m 1 -nostdin -timeout "${SIPP_TIMEOUT:-60}" -timeout_error \
		-trace_msg -message_file "$T/$name.msg" -trace_err -error_file "$T/$name.sipp.log" \
		-trace_screen -screen_file "$T/$name.screen" "$@" >"$T/$name.out" 2>&1
}

# start_kamailio [ADDR]: Debian's kamailio as registrar/proxy
# (tests/kamailio/registrar.cfg) on ADDR (default 127.0.0.1) -> KPORT, KPID.
start_kamailio() {
	local try addr=${1:-127.0.0.1}
	KDIR=$T/kam; mkdir -p "$KDIR"
	for try in 1 2 3 4 5; do
		KPORT=$(free_port)
		kamailio -f "$ROOT/tests/kamailio/registrar.cfg" -DD -E -l "udp:$addr:$KPORT" \
			-Y "$KDIR" -w "$KDIR" -m 32 -M 4 >"$T/kam.log" 2>&1 &
		KPID=$!; PIDS+=("$KPID")
		wait_for "$T/kam.log" 'Listening on|ERROR' 10
		sleep 0.5
		kill -0 "$KPID" 2>/dev/null && grep -q "$addr\]:$KPORT" "$T/kam.log" && return 0
		kill "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null
	done
	fail "kamailio did not start: $(tail -n 5 "$T/kam.log")"
}

# Python helpers (pcap RTP extraction, event checks).
PYHELP=$SIPP_DIR/sipcheck.py
