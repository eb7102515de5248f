# Shared helpers for tests/demo.sh and tests/integration/e2e_*.sh (sourced).
# Loopback only, free random ports (retried on a race), one mktemp dir,
# every process started in its own process group and killed on exit, every
# wait bounded.
#   BUILD  binaries dir (tests/run.sh sets build/asan; the demo uses build)
#   ROOT   repo root
# After sourcing: $T (temp dir), e2e_* functions below, E2E_PY (python helper).
set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build/asan}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
E2E_PY=$ROOT/tests/lib/e2e_audio.py
E2E_SIPP=$ROOT/tests/demo/caller.xml
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}

T=$(mktemp -d /tmp/voixia-e2e.XXXXXX)
: >"$T/empty.env"
E2E_PGIDS=()   # every process we started leads its own process group
E2E_FAILED=0

e2e_cleanup() {
	local p i
	for p in "${E2E_PGIDS[@]:-}"; do [ -n "$p" ] && kill -TERM -- "-$p" 2>/dev/null; done
	for i in $(seq 1 30); do
		local alive=0
		for p in "${E2E_PGIDS[@]:-}"; do [ -n "$p" ] && kill -0 -- "-$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${E2E_PGIDS[@]:-}"; do [ -n "$p" ] && kill -KILL -- "-$p" 2>/dev/null; done
	if [ "${KEEP_TMP:-0}" = 1 ] || [ "$E2E_FAILED" = 1 ]; then
		echo "logs kept in $T" >&2
	else
		rm -rf "$T"
	fi
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

e2e_logs() {
	local f
	for f in "$T"/*.log "$T"/*.err; do
		[ -s "$f" ] || continue
		echo "---- $f (last 30 lines)" >&2; tail -n 30 "$f" >&2
	done
}
e2e_fail() { E2E_FAILED=1; echo "FAIL: $*" >&2; e2e_logs; exit 1; }
e2e_skip() { echo "$*" >&2; exit 77; }
e2e_need() { command -v "$1" >/dev/null 2>&1 || e2e_skip "skipped: $1 not installed"; }
e2e_need_bin() { [ -x "$BUILD/$1" ] || e2e_skip "skipped: $BUILD/$1 not built"; }

# The products run with an empty environment (plus PATH and the sanitizer
# options) and an empty .env: the user's OPENAI_API_KEY, SIP credentials,
# tokens or ./.env never reach a test or the demo.
E2E_CLEAN_ENV=(env -i "PATH=$PATH" "HOME=$T" "ENV_FILE=$T/empty.env" "ASAN_OPTIONS=${ASAN_OPTIONS:-}"
	"LSAN_OPTIONS=${LSAN_OPTIONS:-}" "UBSAN_OPTIONS=${UBSAN_OPTIONS:-}")

# e2e_spawn NAME CMD... : runs CMD in its own process group (setsid), stdout
# in $T/NAME.out, stderr in $T/NAME.log; sets E2E_PID (= its pgid). The
# e2e_start_* helpers also set PID_dash, PID_rt, PID_vp, PID_sb.
e2e_spawn() {
	local name=$1; shift
	setsid "$@" >"$T/$name.out" 2>"$T/$name.log" </dev/null &
	E2E_PID=$!
	E2E_PGIDS+=("$E2E_PID")
}

# e2e_stop PID [SIGNAL] [SECONDS]: signal one process group, wait for it
# (bounded, then SIGKILL). Sets E2E_RC to the exit status when it was ours.
e2e_stop() {
	local pid=$1 sig=${2:-TERM} to=${3:-10} i=0
	kill "-$sig" -- "-$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $i -lt $((to * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null; fi
	wait "$pid" 2>/dev/null; E2E_RC=$?
}

# e2e_wait_for FILE REGEX SECONDS
e2e_wait_for() {
	local f=$1 re=$2 to=${3:-10} i=0
	while [ $i -lt $((to * 10)) ]; do
		grep -qE "$re" "$f" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# e2e_wait_gone PID SECONDS: wait until a process ended by itself.
e2e_wait_gone() {
	local pid=$1 to=${2:-10} i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt $((to * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	! kill -0 "$pid" 2>/dev/null
}

# A port free for both UDP and TCP on 127.0.0.1.
e2e_free_port() {
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

# A random RTP range of 200 ports in 30000-59999.
e2e_rtp_range() {
	local base=$(( (RANDOM % 140) * 200 + 30000 ))
	echo "$base-$((base + 199))"
}

# e2e_start_dashboard [args...] -> DASH_PORT; requests in $T/dash.jsonl
e2e_start_dashboard() {
	e2e_spawn dash "$BUILD/tests/fakes/fake_dashboard" --bind 127.0.0.1 --log "$T/dash.jsonl" \
		--port-file "$T/dash.port" "$@"
	PID_dash=$E2E_PID
	e2e_wait_for "$T/dash.port" '^[0-9]+' 10 || e2e_fail "fake_dashboard did not start"
	DASH_PORT=$(head -n1 "$T/dash.port" | tr -dc 0-9)
}

# e2e_start_realtime [args...] -> RT_PORT; client events in $T/rt.jsonl,
# audio the model heard in $T/rt_audio.N, summary in $T/rt.summary
e2e_start_realtime() {
	e2e_spawn rt "$BUILD/tests/fakes/fake_realtime" --addr 127.0.0.1 --port-file "$T/rt.port" \
		--record "$T/rt.jsonl" --audio-out "$T/rt_audio" --summary "$T/rt.summary" "$@"
	PID_rt=$E2E_PID
	e2e_wait_for "$T/rt.port" '^[0-9]+' 10 || e2e_fail "fake_realtime did not start"
	RT_PORT=$(head -n1 "$T/rt.port" | tr -dc 0-9)
}

# e2e_start_proxy [args...] -> VP_PORT (needs DASH_PORT, RT_PORT); log $T/vp.log
e2e_start_proxy() {
	mkdir -p "$T/spool"
	e2e_spawn vp "${E2E_CLEAN_ENV[@]}" "$BUILD/voiceproxy" --port 0 --bind-addr 127.0.0.1 \
		--openai-realtime-url "ws://127.0.0.1:$RT_PORT/v1/realtime?model=gpt-realtime" \
		--dashboard-url "http://127.0.0.1:$DASH_PORT" --spool-dir "$T/spool" \
		--restaurant-id pizza-napoli --log-level debug "$@"
	PID_vp=$E2E_PID
	e2e_wait_for "$T/vp.log" 'listening on [0-9.]+:[0-9]+' 15 || e2e_fail "voiceproxy did not start"
	VP_PORT=$(grep -oE 'listening on [0-9.]+:[0-9]+' "$T/vp.log" | head -n1 | sed 's/.*://')
}

# e2e_start_bridge WS_URL [args...] -> SIP_PORT; log $T/sb.log. Retries on a port race.
e2e_start_bridge() {
	local ws=$1 try; shift
	for try in 1 2 3 4 5; do
		SIP_PORT=$(e2e_free_port)
		: >"$T/sb.log"
		e2e_spawn sb "${E2E_CLEAN_ENV[@]}" "$BUILD/sipbridge" --bind 127.0.0.1 --sip-port "$SIP_PORT" \
			--rtp-ports "$(e2e_rtp_range)" --ws-url "$ws" --log-level debug "$@"
		PID_sb=$E2E_PID
		if e2e_wait_for "$T/sb.log" 'sipbridge ready|cannot|exiting' 20 && grep -q 'sipbridge ready' "$T/sb.log"; then
			return 0
		fi
		e2e_stop "$PID_sb" KILL 2
	done
	e2e_fail "sipbridge did not start"
}

# e2e_start_rtp_peer NAME [args...] -> RTP_PEER_PORT; the peer sends to the
# address SIPp writes in $T/NAME.answer; received packets in $T/NAME.rec,
# payloads in $T/NAME.rx.ulaw, summary on $T/NAME.out
e2e_start_rtp_peer() {
	local name=$1; shift
	e2e_spawn "$name" "$BUILD/tests/fakes/rtp_peer" --bind 127.0.0.1 --port-file "$T/$name.port" \
		--to-file "$T/$name.answer" --record "$T/$name.rec" --record-payload "$T/$name.rx.ulaw" "$@"
	e2e_wait_for "$T/$name.port" '^[0-9]+' 10 || e2e_fail "rtp_peer did not start"
	RTP_PEER_PORT=$(head -n1 "$T/$name.port" | tr -dc 0-9)
}

# e2e_sipp NAME RTP_PEER_NAME HOLD_MS [sipp args...]: the caller scenario
# (tests/demo/caller.xml) against $SIP_PORT, in the foreground, bounded.
# Messages in $T/NAME.msg (with timestamps), errors in $T/NAME.err.
e2e_sipp() {
	local name=$1 peer=$2 hold=$3; shift 3
	local port try rc
	sed "s/\[hold_ms\]/$hold/" "$E2E_SIPP" >"$T/$name.xml"
	for try in 1 2 3; do
		port=$(e2e_free_port)
		timeout -k 5 $(( hold / 1000 + 30 )) sipp "127.0.0.1:$SIP_PORT" -sf "$T/$name.xml" -i 127.0.0.1 \
			-p "$port" -m 1 -nostdin -timeout $(( hold / 1000 + 25 )) -timeout_error -s 0491234567 \
			-key rtp_port "$RTP_PEER_PORT" -key answer_file "$T/$peer.answer" -mp "$(e2e_free_port)" \
			-trace_msg -message_file "$T/$name.msg" -trace_err -error_file "$T/$name.err" \
			"$@" >"$T/$name.sipp.out" 2>&1
		rc=$?
		grep -q 'bind\|Address already in use' "$T/$name.sipp.out" 2>/dev/null || return $rc
	done
	return $rc
}

# The scripted model of the e2e tests (ms after session.update): a 1500 Hz
# greeting, a create_order tool call, a long 700 Hz answer the caller
# interrupts (speech_started -> barge-in), a caller transcript, then end_call.
E2E_ORDER='{"items":[{"name":"Margherita","quantity":2}],"type":"pickup","customerName":"E2E Caller"}'
E2E_RT_SCRIPT=(--greet-tone 1500:1000 --at "2500:call:create_order:$E2E_ORDER" --at 3500:tone:700:3000
	--at 4500:speech_started --at "4700:transcript:Deux margherita à emporter" --at 6500:call:end_call:{})
E2E_SPEECH_AT=4500

# e2e_check_dashboard CALLSID_PREFIX FROM END_REASON: the order and the call
# log reached the fake dashboard with the right bodies.
e2e_check_dashboard() {
	python3 - "$T/dash.jsonl" "$@" <<'PY'
import json, sys
path, frm, reason = sys.argv[1:4]
reqs = [json.loads(l) for l in open(path) if l.strip()]
def fail(m):
    print("dashboard: " + m); sys.exit(1)
ai = [r for r in reqs if r["method"] == "GET" and r["path"] == "/api/ai"]
orders = [r for r in reqs if r["method"] == "POST" and r["path"] == "/api/orders" and not r.get("duplicate")]
calls = [r for r in reqs if r["method"] == "POST" and r["path"] == "/api/calls" and not r.get("duplicate")]
if len(ai) != 1: fail(f"{len(ai)} GET /api/ai, expected 1")
if ai[0]["query"].get("restaurantId") != "pizza-napoli": fail(f"/api/ai query {ai[0]['query']}")
if len(orders) != 1: fail(f"{len(orders)} orders, expected 1")
o = orders[0]
b = o["body"]
if o["status"] != 200: fail(f"order answered {o['status']}")
if b.get("items") != [{"name": "Margherita", "quantity": 2}]: fail(f"order items {b.get('items')}")
if b.get("customerName") != "E2E Caller": fail("order customerName")
if b.get("restaurantId") != "pizza-napoli": fail(f"order restaurantId {b.get('restaurantId')}")
sid = b.get("callSid", "")
if not (sid.startswith("CA") and len(sid) == 34): fail(f"order callSid {sid!r}")
if frm not in json.dumps(b): fail(f"order does not carry the caller number {frm}: {b}")
if not (o.get("idempotencyKey") or "").startswith(sid): fail(f"order Idempotency-Key {o.get('idempotencyKey')}")
if len(calls) != 1: fail(f"{len(calls)} call logs, expected 1")
c = calls[0]["body"]
if c.get("callSid") != sid: fail(f"call log callSid {c.get('callSid')} != order's {sid}")
if c.get("endReason") != reason: fail(f"call log endReason {c.get('endReason')}, expected {reason}")
tr = json.dumps(c.get("transcript"), ensure_ascii=False)
if "Deux margherita" not in tr: fail(f"caller transcript missing from the call log: {tr}")
names = [t.get("name") for t in c.get("toolCalls", [])]
if "create_order" not in names: fail(f"call log toolCalls {names}")
print(f"dashboard: /api/ai, order {b['items']} for {sid} (key {o['idempotencyKey']}), call log ({c['endReason']}, "
      f"{len(c.get('transcript') or [])} turns, tools {names})")
PY
}

# e2e_check_model: the fake Realtime server saw no contract violation, one
# truncate at most what was generated, sent within 150 ms of speech_started
# (a few ms when idle; the bound leaves room for loaded sanitizer runs).
# Prints the truncate's audio_end_ms as TRUNC_MS=N.
e2e_check_model() {
	python3 - "$T/rt.summary" "$T/rt.jsonl" "$E2E_SPEECH_AT" <<'PY'
import json, sys
summ = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
evs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
def fail(m):
    print("model: " + m); sys.exit(1)
if summ["violations"]: fail(f"{summ['violations']} contract violations (see rt.log)")
if summ["fc_outputs"] < 1: fail("no function_call_output (create_order)")
tr = summ["truncates"]
if len(tr) != 1: fail(f"{len(tr)} truncates, expected 1")
if not 0 < tr[0]["audio_end_ms"] <= tr[0]["sent_ms"]: fail(f"truncate {tr[0]}")
upd = next(e["t"] for e in evs if e.get("event", {}).get("type") == "session.update")
trunc = next(e["t"] for e in evs if e.get("event", {}).get("type") == "conversation.item.truncate")
lat = trunc - (upd + int(sys.argv[3]))
if lat > 150: fail(f"truncate {lat} ms after speech_started")
print(f"model: no violation, {summ['appends']} appends, truncate at {tr[0]['audio_end_ms']} ms of {tr[0]['sent_ms']} ms "
      f"generated, {lat} ms after speech_started")
print(f"TRUNC_MS={tr[0]['audio_end_ms']}")
PY
}
