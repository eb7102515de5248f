#!/usr/bin/env bash
# sipbridge's command line and configuration: --help/--version exit 0;
# malformed or incomplete settings print one line naming the variable and
# exit 2; .env < environment < flags; SIP_SERVER is an alias of SIP_DOMAIN;
# main-sipbridge is the same program; secrets never reach the log.
. "$(dirname "$0")/../sipp/lib.sh"
SB=$BUILD/sipbridge
"$SB" --help >"$T/help" 2>&1 || fail "--help exit $?"
for o in --sip-username --sip-password --sip-domain --sip-port --bind --public-ip --rtp-ports \
	--ws-url --param --max-calls --log-level --help --version; do
	grep -q -- "$o" "$T/help" || fail "--help does not mention $o"
done
"$BUILD/main-sipbridge" --version | grep -q '^sipbridge ' || fail "main-sipbridge --version"

bad() { # expected-substring args...
	local want=$1; shift
	"$SB" "$@" >"$T/out" 2>&1; local rc=$?
	[ $rc = 2 ] || fail "'$*' exit $rc, want 2: $(cat "$T/out")"
	[ "$(wc -l <"$T/out")" = 1 ] || fail "'$*' printed more than one line: $(cat "$T/out")"
	grep -q -- "$want" "$T/out" || fail "'$*' message '$(cat "$T/out")' lacks '$want'"
}
bad SIP_PORT --sip-port 70000
bad SIP_PORT --sip-port abc
bad rtp-ports --rtp-ports 12000
bad RTP_PORT_MIN --rtp-ports 20000-10000
bad WS_URL --ws-url http://x/
bad MAX_CALLS --max-calls 0
bad LOG_LEVEL --log-level loud
bad SIP_PASSWORD --sip-username u --sip-domain d
bad SIP_DOMAIN --sip-username u --sip-password p
bad ALLOWED_SOURCES --allowed-sources 10.0.0.0/33 --sip-port "$(free_port)"
bad PARAMS --param novalue
bad 'at most 21' $(for i in $(seq 1 22); do printf -- '--param k%d=v ' "$i"; done)
bad no-such-flag --no-such-flag

# Precedence: .env < environment < flags, checked on what the bridge logs.
p1=$(free_port); p2=$(free_port); p3=$(free_port)
printf 'SIP_PORT=%s\nLOG_LEVEL=debug\nSIP_SERVER=registrar.invalid\n' "$p1" >"$T/env"
run_probe() { # starts, waits for ready, stops; log in $T/probe.log
	rm -f "$T/probe.log"
	"$@" >"$T/probe.log" 2>&1 &
	local pid=$!; PIDS+=("$pid")
	wait_for "$T/probe.log" 'sipbridge ready|exiting' 15 || fail "no start: $(tail -n 3 "$T/probe.log")"
	kill -TERM "$pid"; wait "$pid"
}
ENV_FILE=$T/env run_probe "$SB" --bind 127.0.0.1 --rtp-ports "$(rtp_range)"
grep -q "listening on sip:127.0.0.1:$p1" "$T/probe.log" || fail ".env SIP_PORT not used"
ENV_FILE=$T/env SIP_PORT=$p2 run_probe "$SB" --bind 127.0.0.1 --rtp-ports "$(rtp_range)"
grep -q "listening on sip:127.0.0.1:$p2" "$T/probe.log" || fail "environment does not override .env"
ENV_FILE=$T/env SIP_PORT=$p2 run_probe "$SB" --bind 127.0.0.1 --sip-port "$p3" --rtp-ports "$(rtp_range)"
grep -q "listening on sip:127.0.0.1:$p3" "$T/probe.log" || fail "flag does not override environment"

# SIP_SERVER alias + secrets: a registrar that does not exist (TEST-NET) so
# REGISTER fails, with the password and STREAM_TOKEN given; neither may appear.
: >"$T/empty.env"; ENV_FILE=$T/empty.env SIP_SERVER=192.0.2.1:9 STREAM_TOKEN=tok-Zq9-secret run_probe "$SB" --bind 127.0.0.1 \
	--sip-port "$(free_port)" --rtp-ports "$(rtp_range)" --sip-username 4711 --sip-password pw-Xy7-secret --log-level debug
grep -q 'REGISTER for sip:4711@192.0.2.1:9' "$T/probe.log" || fail "SIP_SERVER alias not used: $(grep register "$T/probe.log")"
grep -q 'pw-Xy7-secret\|tok-Zq9-secret' "$T/probe.log" && fail "a secret reached the log"
echo ok
