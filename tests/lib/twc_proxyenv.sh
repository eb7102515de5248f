# Shared set-up for tests/integration/proxy_*.sh (sourced, not run):
# a mktemp dir, the fake Realtime server, the fake dashboard, voiceproxy,
# cleanup on exit.
# Everything on loopback, ephemeral ports, bounded waits.
set -u
: "${BUILD:?BUILD (binaries dir) must be set}"
: "${ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$ROOT"
T=$(mktemp -d /tmp/vx-proxy-test.XXXXXX)
PIDS=()
RT_PID= VP_PID= RT_PORT= VP_PORT=

cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$T"/vp.log "$T"/rt.err; do
    [ -f "$f" ] && { echo "--- last lines of $f" >&2; tail -n 30 "$f" >&2; }
  done
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# gen_ulaw FILE BYTES SEED: deterministic pseudo-random µ-law bytes
gen_ulaw() {
  python3 -c "import random,sys; random.seed($3); open('$1','wb').write(bytes(random.randrange(256) for _ in range($2)))"
}

# start_rt [fake_realtime args...]: sets RT_PORT RT_PID
start_rt() {
  rm -f "$T/rtport"
  "$BUILD/tests/fakes/fake_realtime" --port-file "$T/rtport" --record "$T/rec.jsonl" \
    --audio-out "$T/heard" --summary "$T/rtsum.json" "$@" >"$T/rt.out" 2>"$T/rt.err" &
  RT_PID=$!; PIDS+=("$RT_PID")
  for _ in $(seq 100); do [ -s "$T/rtport" ] && break; sleep 0.05; done
  RT_PORT=$(cat "$T/rtport" 2>/dev/null) || fail "fake_realtime did not start"
}

# start_dash [fake_dashboard args...]: the fake dashboard (log $T/dash.jsonl,
# stderr appended to $T/dash.err); sets DASH_PORT DASH_PID
start_dash() {
  rm -f "$T/dash.port"
  "$BUILD/tests/fakes/fake_dashboard" --log "$T/dash.jsonl" --port-file "$T/dash.port" "$@" \
    >/dev/null 2>>"$T/dash.err" &
  DASH_PID=$!; PIDS+=("$DASH_PID")
  for _ in $(seq 100); do [ -s "$T/dash.port" ] && break; sleep 0.05; done
  DASH_PORT=$(cat "$T/dash.port" 2>/dev/null) || fail "fake_dashboard did not start"
}

# stop_rt: SIGTERM, wait; RT_RC = its exit code (1 = contract violations)
stop_rt() {
  kill -TERM "$RT_PID"; wait "$RT_PID"; RT_RC=$?
}

# start_vp [VAR=value...]: voiceproxy on an ephemeral port; sets VP_PORT VP_PID.
# VP_NOFILE=N (optional) runs it under `ulimit -n N`.
start_vp() {
  local dash_port; dash_port=$(free_port) # nobody listens there
  # Empty the log here: the child's own redirection truncates it only after
  # the fork, and the loop below could read the previous run's port.
  : >"$T/vp.log"
  ( [ -z "${VP_NOFILE:-}" ] || ulimit -n "$VP_NOFILE" || exit 1
    exec env OPENAI_API_KEY=sk-test-key \
      OPENAI_REALTIME_URL="ws://127.0.0.1:${RT_PORT:-1}/v1/realtime?model=gpt-realtime" \
      DASHBOARD_URL="http://127.0.0.1:$dash_port" DASHBOARD_AI_TIMEOUT_MS=1000 \
      SPOOL_DIR="$T/spool" BIND_ADDR=127.0.0.1 PORT=0 OPENAI_FAIL_GRACE_MS=300 \
      ENV_FILE=/nonexistent LOG_LEVEL=info "$@" \
      "$BUILD/voiceproxy" ) >"$T/vp.log" 2>&1 &
  VP_PID=$!; PIDS+=("$VP_PID")
  for _ in $(seq 200); do
    VP_PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$T/vp.log" 2>/dev/null | head -1 | cut -d: -f2)
    [ -n "$VP_PORT" ] && break
    kill -0 "$VP_PID" 2>/dev/null || fail "voiceproxy exited at start"
    sleep 0.05
  done
  [ -n "$VP_PORT" ] || fail "voiceproxy did not start"
  VP_URL="ws://127.0.0.1:$VP_PORT/media-stream"
}

# stop_vp: SIGTERM, wait (bounded); VP_RC = exit code (0 expected; ASan leaks make it non-zero)
stop_vp() {
  kill -TERM "$VP_PID"
  for _ in $(seq 150); do kill -0 "$VP_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$VP_PID"; VP_RC=$?
}

twc() { timeout -k 2 120 "$BUILD/tests/fakes/twilio_client" --url "$VP_URL" "$@"; }

# json_get FILE EXPR: python expression over `j` (the file's last JSON line)
json_get() {
  python3 -c "import json,sys; j=[json.loads(l) for l in open('$1') if l.strip()][-1]; print($2)"
}

# health: GET /health JSON
health() { curl -s --max-time 5 "http://127.0.0.1:$VP_PORT/health"; }
