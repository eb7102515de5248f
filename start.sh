#!/usr/bin/env bash
# Runs voiceproxy and sipbridge together (Mode B on one machine): each log
# line is prefixed with its process name, one Ctrl-C (SIGINT) or SIGTERM
# stops both cleanly (each drains its calls), and when either process dies
# the other is stopped and this script exits with the dead one's status.
#   ./start.sh [sipbridge flags...]        e.g. --param restaurantId=pizza-napoli
#   VOICEPROXY_ARGS="--port 5050" ./start.sh
# Settings come from .env (ENV_FILE, default ./.env) < environment < flags.
# Unless WS_URL is set, sipbridge streams to this voiceproxy's PORT.
# BIN_DIR selects another build (default build/, built when needed).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")" && pwd)
BIN_DIR=${BIN_DIR:-build}
case $BIN_DIR in /*) ;; *) BIN_DIR=$ROOT/$BIN_DIR ;; esac
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
if [ -z "${ENV_FILE:-}" ] && [ -f "$ROOT/.env" ]; then export ENV_FILE=$ROOT/.env; fi
if [ "$BIN_DIR" = "$ROOT/build" ]; then
	make -s -C "$ROOT" build/voiceproxy build/sipbridge build/main-sipbridge >&2 || exit 1
fi
for b in voiceproxy sipbridge; do
	[ -x "$BIN_DIR/$b" ] || { echo "start.sh: $BIN_DIR/$b missing (run make)" >&2; exit 1; }
done
# The voiceproxy port as configured (environment, else the .env file).
port=${PORT:-}
if [ -z "$port" ] && [ -n "${ENV_FILE:-}" ] && [ -f "$ENV_FILE" ]; then
	port=$(sed -n -E 's/^(export[[:space:]]+)?PORT=["'\'']?([0-9]+).*/\2/p' "$ENV_FILE" | tail -n 1)
fi
if [ -z "${WS_URL:-}" ] && ! { [ -n "${ENV_FILE:-}" ] && grep -qE '^(export[[:space:]]+)?WS_URL=' "$ENV_FILE" 2>/dev/null; }; then
	export WS_URL="ws://127.0.0.1:${port:-5050}/media-stream"
fi

prefix() { # name: prefixes every line, unbuffered
	local line
	while IFS= read -r line || [ -n "$line" ]; do printf '%-10s| %s\n' "$1" "$line"; done
}

# shellcheck disable=SC2086
"$BIN_DIR/voiceproxy" ${VOICEPROXY_ARGS:-} > >(prefix voiceproxy) 2>&1 &
VP=$!
"$BIN_DIR/sipbridge" "$@" > >(prefix sipbridge) 2>&1 &
SB=$!

stopping=0
stop_all() {
	[ $stopping = 1 ] && return
	stopping=1
	kill -TERM "$SB" "$VP" 2>/dev/null
	local i=0
	while { kill -0 "$SB" 2>/dev/null || kill -0 "$VP" 2>/dev/null; } && [ $i -lt $((STOP_TIMEOUT * 10)) ]; do
		sleep 0.1; i=$((i + 1))
	done
	if kill -0 "$SB" 2>/dev/null || kill -0 "$VP" 2>/dev/null; then
		echo "start.sh: still running after ${STOP_TIMEOUT} s, killing" >&2
		kill -KILL "$SB" "$VP" 2>/dev/null
	fi
}
on_signal() {
	echo "start.sh: stopping voiceproxy and sipbridge" >&2
	stop_all
	wait "$SB" 2>/dev/null; sb=$?
	wait "$VP" 2>/dev/null; vp=$?
	[ $sb = 0 ] && [ $vp = 0 ] && exit 0
	exit 1
}
trap on_signal INT TERM

# Whichever ends first decides; the other one is stopped.
wait -n "$VP" "$SB"
rc=$?
[ $stopping = 1 ] && exit 0
if kill -0 "$SB" 2>/dev/null; then who=voiceproxy; else who=sipbridge; fi
echo "start.sh: $who exited with status $rc; stopping the other" >&2
stop_all
wait 2>/dev/null
[ $rc = 0 ] && rc=1 # an unexpected exit is a failure even when clean
exit $rc
