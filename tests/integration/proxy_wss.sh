#!/usr/bin/env bash
# voiceproxy's OpenAI leg over wss://, as in production: socat terminates
# TLS (a certificate for "localhost" made here) in front of the fake
# Realtime server. (1) A full call: audio byte-exact both ways, schema-valid
# events, the key never logged. (2) The same server with a CA store that
# does not trust it: the call fails with the certificate reason logged, the
# upgrade request (it carries the API key) never reaches the server, and
# the caller is not left waiting.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"
command -v socat >/dev/null || fail "socat missing (make deps)"

mkcert() { # NAME CN: $T/NAME.crt, $T/NAME.pem (cert + key)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
    -keyout "$T/$1.key" -out "$T/$1.crt" >/dev/null 2>&1 || fail "openssl req"
  cat "$T/$1.crt" "$T/$1.key" >"$T/$1.pem"
}
mkcert srv localhost
mkcert other localhost # same name, another key: not the server's

gen_ulaw "$T/caller.ulaw" 16000 1   # 2 s
gen_ulaw "$T/greet.ulaw" 12000 2    # 1.5 s
start_rt --key sk-test-key --greet "$T/greet.ulaw"
TLS_PORT=$(free_port)
socat "openssl-listen:$TLS_PORT,bind=127.0.0.1,reuseaddr,fork,cert=$T/srv.pem,verify=0" \
  "tcp:127.0.0.1:$RT_PORT" 2>"$T/socat.err" &
PIDS+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT") 2>/dev/null && break; sleep 0.05; done
WSS="wss://localhost:$TLS_PORT/v1/realtime?model=gpt-realtime"

# (1) a call over TLS
start_vp OPENAI_REALTIME_URL="$WSS" SSL_CERT_FILE="$T/srv.crt" GREETING="Bonjour" LOG_LEVEL=debug
twc --audio "$T/caller.ulaw" --duration-ms 3000 --rx-audio "$T/rx.ulaw" \
    --summary "$T/twc.json" >/dev/null || fail "tls: twilio_client failed"
sleep 0.3
stop_vp
[ "$VP_RC" = 0 ] || fail "tls: voiceproxy exit code $VP_RC after SIGTERM"
cmp "$T/greet.ulaw" "$T/rx.ulaw" || fail "tls: agent audio at the caller differs"
head -c 16000 "$T/heard.1" | cmp - "$T/caller.ulaw" || fail "tls: caller audio at the model differs"
python3 "$ROOT/tests/lib/check_realtime_schema.py" "$T/rec.jsonl" || fail "tls: schema validation"
grep -q 'call ended: caller_hangup' "$T/vp.log" || fail "tls: no end-of-call log line"
grep -q 'TLSv1.3 up' "$T/vp.log" || fail "tls: the connection did not go through TLS 1.3"
if grep -q "sk-test-key" "$T/vp.log"; then fail "tls: the API key appears in the log"; fi
cp "$T/vp.log" "$T/vp1.log"

# (2) the server's certificate is not trusted
start_vp OPENAI_REALTIME_URL="$WSS" SSL_CERT_FILE="$T/other.crt" FALLBACK_AUDIO=none
twc --tone 300:1000 --duration-ms 1000 --wait-close --max-ms 10000 --summary "$T/t2.json" >/dev/null \
  || fail "untrusted: twilio_client failed"
python3 - "$T/t2.json" <<'PY' || fail "untrusted: stream not ended by voiceproxy in time"
import json, sys
c = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert c["opened"] and c["server_closed"] and c["ms"] < 8000, c
PY
grep -q 'TLS: certificate verify failed' "$T/vp.log" || fail "untrusted: no certificate reason logged"
grep -q 'call ended: openai_unreachable' "$T/vp.log" || fail "untrusted: end reason"
if grep -q "sk-test-key" "$T/vp.log"; then fail "untrusted: the API key appears in the log"; fi
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "untrusted: voiceproxy exit $VP_RC"
[ "$RT_RC" = 0 ] || fail "fake_realtime saw contract violations"
# one session reached the fake (the trusted call); the refused one never did
[ "$(json_get "$T/rtsum.json" "j['connections']")" = 1 ] || fail "the untrusted connection reached the server: $(cat "$T/rtsum.json")"
echo "proxy_wss: ok"
