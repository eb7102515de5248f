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
env -i "$VP" --help > "$T/help" 2>&1 || fail "--help exit"
for v in PORT BIND_ADDR PUBLIC_HOST OPENAI_API_KEY OPENAI_REALTIME_URL VOICE RESTAURANT_ID DASHBOARD_URL \
         TWILIO_AUTH_TOKEN STREAM_TOKEN SPOOL_DIR MAX_CALLS LOG_LEVEL DEFAULT_INSTRUCTIONS GREETING; do
  grep -q "$v" "$T/help" || fail "--help does not list $v"
done
env -i "$VP" --version | grep -q '^voiceproxy ' || fail "--version"

# .env < environment < CLI: the port in the start line shows which one won
p1=$(free_port); p2=$(free_port); p3=$(free_port)
printf 'OPENAI_API_KEY="sk-from-dotenv"\nexport PORT=%s\nBIND_ADDR=127.0.0.1\nSPOOL_DIR=%s\nOPENAI_REALTIME_URL=ws://127.0.0.1:1/x\n' \
  "$p1" "$T/spool" > "$T/.env"
run_port() { # env/args... -> the port voiceproxy listened on
  env -i ENV_FILE="$T/.env" "$@" > "$T/vp.log" 2>&1 & local pid=$!
  for _ in $(seq 100); do grep -q 'listening on' "$T/vp.log" && break; sleep 0.05; done
  kill -TERM $pid; wait $pid
  grep -o 'listening on 127.0.0.1:[0-9]*' "$T/vp.log" | cut -d: -f2
}
[ "$(run_port "$VP")" = "$p1" ] || fail ".env not read"
[ "$(run_port PORT="$p2" "$VP")" = "$p2" ] || fail "environment does not override .env"
[ "$(run_port PORT="$p2" "$VP" --port "$p3")" = "$p3" ] || fail "CLI does not override the environment"
if grep -q 'sk-from-dotenv' "$T/vp.log"; then fail "API key in the log"; fi
echo "proxy_config: ok"
