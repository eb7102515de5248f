#!/usr/bin/env bash
# VoixIA load benchmark (make bench; docs/performance.md).
#
#   tests/bench/run.sh [--mode proxy|chain|both] [--calls N] [--seconds S]
#                      [--rate R] [--soak] [--build DIR] [--profile callgrind|perf]
#                      [--no-targets] [--keep] [--nice PRIO] [--gen-lws]
#                      [--gen-marks-now] [--rt-tls]
#
#   proxy : N Twilio streams (tests/bench/loadgen) -> voiceproxy -> echo fake
#           Realtime (inside loadgen) -> back. Default N=1000.
#   chain : SIPp (signalling, tests/bench/bench_call.xml) + loadgen's RTP peers
#           -> sipbridge -> voiceproxy -> echo fake -> back to RTP. Default N=500.
#   both  : proxy then chain (default). Default S=20 s per run: ends in < 2 min.
#   --soak: one chain run of 600 s (mode/calls/seconds still apply); RSS and
#           CPU per call sampled every 30 s and checked for growth.
#   --nice PRIO: renice everything the bench starts (default -10 when run as
#           root, --nice 0 = off) so other work on a shared machine does not
#           take the cores measured (own session + autogroup nice).
#   --gen-lws: the generator's WebSockets go through common/ws (libwebsockets)
#           instead of its own raw RFC 6455 code (which costs it ~half the CPU).
#   --gen-marks-now: the generator echoes Twilio marks as soon as they come
#           (its old way) instead of at the stream's next 20 ms send slot
#           (Twilio's way: once the audio before them has played).
#   --rt-tls: voiceproxy reaches the fake Realtime over wss:// (TLS 1.3,
#           a self-signed certificate for localhost trusted through
#           SSL_CERT_FILE), as it reaches OpenAI: the generator's fake
#           terminates TLS itself (OpenSSL, --rt-tls-cert/--rt-tls-key), so
#           latency and CPU include voiceproxy's real wss:// cost and no
#           relay (the generator's own TLS work shares the cores; raw
#           WebSockets only: not with --gen-lws).
#   --profile callgrind|perf: profile voiceproxy and sipbridge during the run
#           (callgrind slows them ~50x: use few calls, e.g. --calls 20).
# Prints one table per run; exit 1 when a target (DESIGN/issue 7) is missed,
# 2 on a set-up failure. Loopback only; everything started is killed on exit.
# How it measures (tests/bench/loadgen.c): each frame carries its send time;
# arrivals are the kernel's receive stamps (SO_TIMESTAMPNS on UDP and on the
# generator's TCP sockets), so the generator's own loop delay is not counted.
# The "as seen by the generator's loop" rows stamp arrival at the loop's
# wake-up instead (what was measured before), for comparison.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=build
ORIG_ARGS=("$@")
MODE=both CALLS= SECONDS_=20 RATE=200 SOAK=0 PROFILE= TARGETS=1 KEEP=0 GEN_LWS= RT_TLS=0
NICE=
[ "$(id -u)" = 0 ] && NICE=-10 # root: run the bench ahead of other work (--nice 0: don't)
while [ $# -gt 0 ]; do
	case $1 in
	--mode) MODE=$2; shift ;;
	--calls) CALLS=$2; shift ;;
	--seconds) SECONDS_=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--soak) SOAK=1 ;;
	--build) BUILD=$2; shift ;;
	--profile) PROFILE=$2; shift ;;
	--no-targets) TARGETS=0 ;;
	--keep) KEEP=1 ;;
	--nice) NICE=$2; shift ;;
	--gen-lws) GEN_LWS="$GEN_LWS --lws" ;;
	--gen-marks-now) GEN_LWS="$GEN_LWS --marks-now" ;;
	--rt-tls) RT_TLS=1 ;;
	-h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
case $MODE in proxy|chain|both) ;; *) echo "run.sh: --mode proxy|chain|both" >&2; exit 2 ;; esac
case "$RT_TLS$GEN_LWS" in 1*--lws*) echo "run.sh: --rt-tls needs the raw WebSockets (not --gen-lws)" >&2; exit 2 ;; esac
# With the kernel's autogroup scheduling (sched_autogroup_enabled), nice
# only orders tasks inside one session: the bench runs in its own session
# and gives that session's autogroup the nice value.
[ "$NICE" = 0 ] && NICE=
if [ -n "$NICE" ] && [ -z "${VXBENCH_SESSION:-}" ] && command -v setsid >/dev/null; then
	VXBENCH_SESSION=1 exec setsid -w "$0" "${ORIG_ARGS[@]}"
fi
if [ -n "$NICE" ]; then
	echo "$NICE" >"/proc/$$/autogroup" 2>/dev/null || true
	renice -n "$NICE" -p $$ >/dev/null 2>&1 || true
fi
if [ "$SOAK" = 1 ]; then
	[ "$MODE" = both ] && MODE=chain
	[ "$SECONDS_" = 20 ] && SECONDS_=600
	: "${CALLS:=200}"
fi
for b in voiceproxy sipbridge tests/bench/loadgen tests/fakes/fake_dashboard; do
	[ -x "$BUILD/$b" ] || { echo "run.sh: $BUILD/$b missing (make -j2)" >&2; exit 2; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
T=$(mktemp -d /tmp/vxbench.XXXXXX)
PIDS=()
cleanup() {
	local p
	[ "$BASHPID" = "$$" ] || return 0
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done
	if [ "$KEEP" = 1 ]; then echo "bench files kept in $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "run.sh: $*" >&2; for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done; exit 2; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# A run of $1 consecutive UDP ports free on 127.0.0.1, in 20000-60000.
free_udp_range() {
	python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(100):
    base = random.randrange(20000, 60000 - n - 2, 2)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}
wait_file() { local i; for i in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

# proc_sample PID -> "cpu_ticks rss_kb hwm_kb runqueue_wait_ms" (wait summed over threads)
proc_sample() {
	local st rss hwm wait=0 t
	st=$(cut -d')' -f2- "/proc/$1/stat" 2>/dev/null) || { echo "0 0 0 0"; return; }
	rss=$(awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null)
	hwm=$(awk '/^VmHWM/{print $2}' "/proc/$1/status" 2>/dev/null)
	wait=$(cat /proc/$1/task/*/schedstat 2>/dev/null | awk '{w += $2} END {printf "%d", w / 1e6}')
	set -- $st
	echo "$(( ${12} + ${13} )) ${rss:-0} ${hwm:-0} ${wait:-0}"
}
# sampler FILE INTERVAL NAME=PID...: one line per sample: t name cpu rss hwm
sampler() {
	local f=$1 iv=$2; shift 2
	local t0; t0=$(date +%s.%N)
	while :; do
		local now; now=$(date +%s.%N)
		for np in "$@"; do
			echo "$(awk -v a="$now" -v b="$t0" 'BEGIN{printf "%.2f", a-b}') ${np%%=*} $(proc_sample "${np#*=}")"
		done >>"$f"
		sleep "$iv"
	done
}

start_common() { # -> DASH_PORT RT_PORT VP_PORT VP_PID
	local tag=$1 n=$2
	rm -f "$T/$tag.dport"
	"$BUILD/tests/fakes/fake_dashboard" --log "$T/$tag.dash.jsonl" --port-file "$T/$tag.dport" \
		>"$T/$tag.dash.log" 2>&1 &
	PIDS+=($!)
	wait_file "$T/$tag.dport" || die "fake_dashboard did not start"
	DASH_PORT=$(head -1 "$T/$tag.dport")
	RT_PORT=$(free_port)
	VP_PORT=$(free_port)
	local pre=()
	case $PROFILE in
	callgrind) pre=(valgrind --tool=callgrind --callgrind-out-file="$T/callgrind.voiceproxy.%p") ;;
	esac
	local rt_url="ws://127.0.0.1:$RT_PORT/v1/realtime?model=gpt-realtime" tls_env=()
	LG_TLS=()
	if [ "$RT_TLS" = 1 ]; then
		# the generator's fake terminates TLS itself (lg_ws_tls)
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj /CN=localhost -addext subjectAltName=DNS:localhost \
			-keyout "$T/$tag.rt.key" -out "$T/$tag.rt.crt" >/dev/null 2>&1 || die "openssl req failed"
		LG_TLS=(--rt-tls-cert "$T/$tag.rt.crt" --rt-tls-key "$T/$tag.rt.key")
		rt_url="wss://localhost:$RT_PORT/v1/realtime?model=gpt-realtime"
		tls_env=(SSL_CERT_FILE="$T/$tag.rt.crt")
	fi
	env OPENAI_API_KEY=sk-bench OPENAI_REALTIME_URL="$rt_url" "${tls_env[@]}" \
		DASHBOARD_URL="http://127.0.0.1:$DASH_PORT" SPOOL_DIR="$T/$tag.spool" BIND_ADDR=127.0.0.1 \
		PORT="$VP_PORT" ENV_FILE=/nonexistent STREAM_TOKEN=bench-token MAX_CALLS=$((n + 50)) \
		LOG_LEVEL=warn "${pre[@]}" "$BUILD/voiceproxy" >"$T/$tag.vp.log" 2>&1 &
	VP_PID=$!; PIDS+=("$VP_PID")
	local i
	for i in $(seq 200); do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$VP_PORT/health" && break
		kill -0 "$VP_PID" 2>/dev/null || die "voiceproxy exited at start"
		sleep 0.1
	done
}

# One run: MODE N -> prints the table; appends to $T/results.
run_one() {
	local mode=$1 n=$2 tag=$1 lg_pid sb_pid= sipp_pid= sp_pid rc=0
	local s=$SECONDS_ t_ramp
	echo "== $mode: $n concurrent calls, $s s of audio each ($(date -u +%H:%M:%S) UTC, load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
	start_common "$tag" "$n"
	sleep 1
	local names=("voiceproxy=$VP_PID")
	local base_vp base_sb=
	base_vp=$(proc_sample "$VP_PID")
	if [ "$mode" = proxy ]; then
		t_ramp=$(( (n + RATE - 1) / RATE ))
		"$BUILD/tests/bench/loadgen" $GEN_LWS "${LG_TLS[@]}" --watch-pid "$VP_PID" --mode proxy --calls "$n" --seconds "$s" --rate "$RATE" \
			--rt-port "$RT_PORT" --url "ws://127.0.0.1:$VP_PORT/media-stream" --bearer bench-token \
			>"$T/$tag.lg.out" 2>"$T/$tag.lg.log" &
		lg_pid=$!; PIDS+=("$lg_pid")
	else
		local sip_port rtp_sb rtp_lg
		sip_port=$(free_port)
		rtp_sb=$(free_udp_range $((n * 2 + 20))) || die "no RTP range"
		local pre=()
		[ "$PROFILE" = callgrind ] && pre=(valgrind --tool=callgrind --callgrind-out-file="$T/callgrind.sipbridge.%p")
		ENV_FILE=/nonexistent "${pre[@]}" "$BUILD/sipbridge" --max-invite-rate 0 --bind 127.0.0.1 --sip-port "$sip_port" \
			--rtp-ports "$rtp_sb-$((rtp_sb + n * 2 + 19))" --ws-url "ws://127.0.0.1:$VP_PORT/media-stream" \
			--stream-token bench-token --max-calls $((n + 50)) --log-level warn --answer-timeout 30 \
			--param restaurantId=bench >"$T/$tag.sb.log" 2>&1 &
		sb_pid=$!; PIDS+=("$sb_pid")
		names+=("sipbridge=$sb_pid")
		local i
		for i in $(seq 200); do
			[ "$PROFILE" = callgrind ] || grep -q 'sipbridge ready' "$T/$tag.sb.log" 2>/dev/null && break
			kill -0 "$sb_pid" 2>/dev/null || die "sipbridge exited at start"
			sleep 0.1
		done
		sleep 1
		base_sb=$(proc_sample "$sb_pid")
		rtp_lg=$(free_udp_range "$n") || die "no RTP range for the generator"
		{ echo SEQUENTIAL; for i in $(seq 0 $((n - 1))); do echo "$((rtp_lg + i));"; done; } >"$T/$tag.inf"
		local crate=$(( RATE < 100 ? RATE : 100 ))
		t_ramp=$(( (n + crate - 1) / crate ))
		"$BUILD/tests/bench/loadgen" $GEN_LWS "${LG_TLS[@]}" --mode chain --calls "$n" --seconds "$s" --rt-port "$RT_PORT" \
			--rtp-base "$rtp_lg" --max-seconds $((t_ramp + s + 40)) >"$T/$tag.lg.out" 2>"$T/$tag.lg.log" &
		lg_pid=$!; PIDS+=("$lg_pid")
		wait_file "$T/$tag.lg.out" || die "loadgen did not start"
		# the call lasts the audio + 2.5 s of drain; the generator stops
		# sending S s after the first RTP packet from sipbridge
		timeout -k 5 $((t_ramp + s + 60)) sipp "127.0.0.1:$sip_port" -sf tests/bench/bench_call.xml \
			-inf "$T/$tag.inf" -i 127.0.0.1 -p "$(free_port)" -m "$n" -l "$n" -r "$crate" \
			-d $(( (s * 1000) + 2500 )) -nostdin -trace_err -error_file "$T/$tag.sipp.log" \
			-trace_stat -stf "$T/$tag.sipp.csv" -max_socket $((n + 100)) >"$T/$tag.sipp.out" 2>&1 &
		sipp_pid=$!; PIDS+=("$sipp_pid")
	fi
	if [ -n "$NICE" ]; then
		for p in "${PIDS[@]}"; do renice -n "$NICE" -p "$p" >/dev/null 2>&1; done
		# sipbridge and voiceproxy threads too
		for p in "${PIDS[@]}"; do for t in /proc/$p/task/*; do renice -n "$NICE" -p "${t##*/}" >/dev/null 2>&1; done; done
	fi
	if [ "$PROFILE" = perf ]; then
		for np in "${names[@]}"; do
			perf record -F 499 --call-graph dwarf,16384 -p "${np#*=}" -o "$T/perf.${np%%=*}.data" \
				-- sleep $(( s > 12 ? 10 : s - 2 )) >/dev/null 2>&1 &
		done
	fi
	local udp0 udp1
	udp0=$(awk '/^Udp:/ && $2 ~ /^[0-9]/ {print $6}' /proc/net/snmp)
	# steal: time the hypervisor ran something else on our vCPUs
	local steal0 st_t0 steal1 st_t1
	steal0=$(awk '/^cpu / {print $9}' /proc/stat); st_t0=$(date +%s.%N)
	local iv=1
	[ "$SOAK" = 1 ] && iv=30
	names+=("loadgen=$lg_pid")
	sampler "$T/$tag.samples" "$iv" "${names[@]}" &
	sp_pid=$!; PIDS+=("$sp_pid")
	wait "$lg_pid" || rc=$?
	echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg) (other processes compete for the 2 cores when this is above ~2)"
	[ -n "$sipp_pid" ] && { wait "$sipp_pid" || true; }
	udp1=$(awk '/^Udp:/ && $2 ~ /^[0-9]/ {print $6}' /proc/net/snmp)
	steal1=$(awk '/^cpu / {print $9}' /proc/stat); st_t1=$(date +%s.%N)
	local end_vp end_sb=
	end_vp=$(proc_sample "$VP_PID")
	[ -n "$sb_pid" ] && end_sb=$(proc_sample "$sb_pid")
	kill "$sp_pid" 2>/dev/null; wait "$sp_pid" 2>/dev/null
	[ -n "$sb_pid" ] && { kill -TERM "$sb_pid"; for i in $(seq 100); do kill -0 "$sb_pid" 2>/dev/null || break; sleep 0.1; done; }
	kill -TERM "$VP_PID"; for i in $(seq 100); do kill -0 "$VP_PID" 2>/dev/null || break; sleep 0.1; done
	[ "$rc" = 0 ] || echo "run.sh: loadgen exit $rc (see $T/$tag.lg.log)" >&2
	python3 tests/bench/report.py --mode "$mode" --calls "$n" --seconds "$s" --ramp "$t_ramp" --soak "$SOAK" \
		--targets "$TARGETS" --lg "$T/$tag.lg.out" --samples "$T/$tag.samples" --tick "$(getconf CLK_TCK)" \
		--base "voiceproxy=$base_vp" ${base_sb:+--base "sipbridge=$base_sb"} \
		--end "voiceproxy=$end_vp" ${end_sb:+--end "sipbridge=$end_sb"} \
		--udp "$((udp1 - udp0))" --steal "$((steal1 - steal0)) $(awk -v a="$st_t1" -v b="$st_t0" 'BEGIN{printf "%.2f", a-b}')" ${sipp_pid:+--sipp "$T/$tag.sipp.csv"} --out "$T/results.jsonl" || FAILED=1
}

FAILED=0
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
case $MODE in
proxy) run_one proxy "${CALLS:-1000}" ;;
chain) run_one chain "${CALLS:-500}" ;;
both) run_one proxy "${CALLS:-1000}"; run_one chain "${CALLS:-500}" ;;
esac
if [ "$PROFILE" = perf ]; then
	for f in "$T"/perf.*.data; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f"): cycles by shared object, then top symbols (self)"
		perf report -i "$f" --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8
		perf report -i "$f" --no-children --sort dso,sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
	done
	KEEP=1
fi
if [ -n "$PROFILE" ] && [ "$PROFILE" = callgrind ]; then
	for f in "$T"/callgrind.*; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f") (top 25 by inclusive Ir)"
		callgrind_annotate --inclusive=yes "$f" 2>/dev/null | sed -n '1,45p' | tail -n 30
	done
	KEEP=1
fi
[ "$FAILED" = 0 ] || { echo "bench: some targets missed"; exit 1; }
echo "bench: all targets met"
