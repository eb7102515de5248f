#!/usr/bin/env bash
# Runs the SIP bridge alone (Mode B without this repo's voiceproxy, or with a
# voiceproxy started elsewhere). Settings: .env (ENV_FILE, default ./.env next
# to this script) < environment < the flags given here, e.g.
#   ./start-sipbridge.sh --sip-username 33491234567 --sip-password s3cr3t \
#       --sip-domain sip.trunk.com --param restaurantId=pizza-napoli
# Builds the release binary first when it is missing or older than the sources.
# BIN_DIR selects another build (e.g. BIN_DIR=build/asan).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")" && pwd)
BIN_DIR=${BIN_DIR:-build}
case $BIN_DIR in /*) ;; *) BIN_DIR=$ROOT/$BIN_DIR ;; esac
if [ -z "${ENV_FILE:-}" ] && [ -f "$ROOT/.env" ]; then export ENV_FILE=$ROOT/.env; fi
if [ "$BIN_DIR" = "$ROOT/build" ]; then
	make -s -C "$ROOT" build/sipbridge build/main-sipbridge >&2
fi
[ -x "$BIN_DIR/sipbridge" ] || { echo "start-sipbridge.sh: $BIN_DIR/sipbridge missing (run make)" >&2; exit 1; }
exec "$BIN_DIR/sipbridge" "$@"
