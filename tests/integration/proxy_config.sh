#!/usr/bin/env bash
# voiceproxy's configuration contract: one clear line naming the variable
# and exit code 2 for missing/bad settings; --help/--version exit 0; .env <
# environment < command line; secrets never printed.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"
VP=$BUILD/voiceproxy

expect2() { # "expected message" env/args...
  local want=$1; shift
  env -i ENV_FILE=/nonexistent "$@" >"$T/o" 2>&1; local rc=$?
  [ $rc = 2 ] || fail "exit $rc (want 2) for: $* : $(cat "$T/o")"
  grep -q -- "$want" "$T/o" || fail "message for $*: want '$want', got: $(cat "$T/o")"
  [ "$(wc -l < "$T/o")" -le 2 ] || fail "more than one line of error for $*"
}
expect2 "config: OPENAI_API_KEY is required" "$VP"
expect2 "OPENAI_REALTIME_URL" OPENAI_API_KEY=k OPENAI_REALTIME_URL=ws://10.0.0.1/x "$VP"
expect2 "OPENAI_REALTIME_URL" OPENAI_API_KEY=k OPENAI_REALTIME_URL=http://x/ "$VP"
expect2 "PORT" OPENAI_API_KEY=k PORT=abc "$VP"
expect2 "MAX_CALLS" OPENAI_API_KEY=k MAX_CALLS=0 "$VP"
expect2 "LOG_LEVEL" OPENAI_API_KEY=k LOG_LEVEL=loud "$VP"
expect2 "config: DASHBOARD_RETRY_MIN_MS/DASHBOARD_RETRY_MAX_MS: empty range" OPENAI_API_KEY=k \
  DASHBOARD_RETRY_MIN_MS=5000 DASHBOARD_RETRY_MAX_MS=1000 "$VP"
expect2 "DASHBOARD_RETRY_MAX_MS" OPENAI_API_KEY=k DASHBOARD_RETRY_MAX_MS=soon "$VP"
env -i "$VP" --help > "$T/help" 2>&1 || fail "--help exit"
for v in PORT BIND_ADDR PUBLIC_HOST OPENAI_API_KEY OPENAI_REALTIME_URL VOICE RESTAURANT_ID DASHBOARD_URL \
         TWILIO_AUTH_TOKEN STREAM_TOKEN SPOOL_DIR MAX_CALLS LOG_LEVEL DEFAULT_INSTRUCTIONS GREETING \
         FALLBACK_AUDIO DASHBOARD_RETRY_MIN_MS DASHBOARD_RETRY_MAX_MS SHUTDOWN_GRACE_MS --bind; do
  grep -q -- "$v" "$T/help" || fail "--help does not list $v"
done
env -i "$VP" --version | grep -q '^voiceproxy ' || fail "--version"

# .env < environment < CLI: the port in the start line shows which one won
p1=$(free_port); p2=$(free_port); p3=$(free_port)
printf 'OPENAI_API_KEY="sk-from-dotenv"\nexport PORT=%s\nBIND_ADDR=127.0.0.1\nSPOOL_DIR=%s\nOPENAI_REALTIME_URL=ws://127.0.0.1:1/x\n' \
  "$p1" "$T/spool" > "$T/.env"
run_port() { # env/args... -> the port voiceproxy listened on
  : > "$T/vp.log" # truncate before the fork: the loop must not read the last run's line
  env -i ENV_FILE="$T/.env" "$@" > "$T/vp.log" 2>&1 & local pid=$!
  for _ in $(seq 100); do grep -q 'listening on' "$T/vp.log" && break; sleep 0.05; done
  kill -TERM $pid; wait $pid
  grep -o 'listening on 127.0.0.1:[0-9]*' "$T/vp.log" | cut -d: -f2
}
[ "$(run_port "$VP")" = "$p1" ] || fail ".env not read"
[ "$(run_port PORT="$p2" "$VP")" = "$p2" ] || fail "environment does not override .env"
[ "$(run_port PORT="$p2" "$VP" --port "$p3")" = "$p3" ] || fail "CLI does not override the environment"
if grep -q 'sk-from-dotenv' "$T/vp.log"; then fail "API key in the log"; fi
# --bind (sipbridge's name) and its older spelling --bind-addr
[ "$(run_port BIND_ADDR=0.0.0.0 "$VP" --bind 127.0.0.1 --port "$p3")" = "$p3" ] || fail "--bind"
[ "$(run_port BIND_ADDR=0.0.0.0 "$VP" --bind-addr=127.0.0.1 --port "$p3")" = "$p3" ] || fail "--bind-addr"

# DASHBOARD_RETRY_MIN_MS / _MAX_MS reach the journal's backoff: nobody
# listens at DASHBOARD_URL, the call log of a failed call is retried at
# 200 ms (+-20 %), doubling up to the 400 ms cap.
RT_PORT=$(free_port)
start_vp DASHBOARD_RETRY_MIN_MS=200 DASHBOARD_RETRY_MAX_MS=400 FALLBACK_AUDIO=none
twc --tone 300:500 --duration-ms 500 --wait-close --max-ms 10000 >/dev/null || fail "twilio_client"
for _ in $(seq 50); do grep -q 'POST /api/calls failed (.*attempt 5)' "$T/vp.log" && break; sleep 0.1; done
stop_vp
python3 - "$T/vp.log" <<'PY' || fail "retry delays do not follow DASHBOARD_RETRY_MIN_MS/MAX_MS"
import re, sys
d = {int(a): float(s) for a, s in re.findall(r"POST /api/calls failed \(.*attempt (\d+)\).*retrying in ([0-9.]+) s", open(sys.argv[1]).read())}
print(d)
assert 1 in d and 0.1 <= d[1] <= 0.3, d
assert 5 in d and 0.3 <= d[5] <= 0.5, d
PY
echo "proxy_config: ok"
