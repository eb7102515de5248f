#!/usr/bin/env bash
# Who may open /media-stream: STREAM_TOKEN (sipbridge) and/or a Twilio
# signature over the wss:// URL. Refused streams get 401/403 from the
# acceptor before any OpenAI connection is opened (the fake sees none).
# MAX_CALLS full -> 503.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

start_rt
start_vp STREAM_TOKEN=s3cret-stream TWILIO_AUTH_TOKEN=tw-token-123 MAX_CALLS=1
refused() { # label args...: the stream must not open
  local label=$1; shift
  twc --duration-ms 200 "$@" --summary "$T/r.json" >/dev/null 2>&1
  [ "$(json_get "$T/r.json" "j['opened']")" = False ] || fail "$label: stream was accepted"
}
refused "no credentials"
refused "wrong bearer" --bearer wrong
refused "bad signature" --twilio-token not-the-token
grep -q 'refused (401): no credentials' "$T/vp.log" || fail "401 not logged"
[ "$(grep -c 'refused (403)' "$T/vp.log")" = 2 ] || fail "403s not logged"
[ ! -s "$T/rec.jsonl" ] || fail "OpenAI got events for a refused stream"
python3 - "$VP_PORT" <<'PY' || fail "raw 401 answer"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /media-stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
s.settimeout(5); r = s.recv(200); print(r.split(b"\r\n")[0]); assert r.startswith(b"HTTP/1.1 401")
PY

twc --duration-ms 600 --bearer s3cret-stream --summary "$T/ok1.json" >/dev/null || fail "bearer: refused"
twc --duration-ms 600 --twilio-token tw-token-123 --summary "$T/ok2.json" >/dev/null || fail "signature: refused"
# the signature over the URL with the default port is accepted too
twc --duration-ms 600 --twilio-token tw-token-123 --sig-host "127.0.0.1:$VP_PORT" --summary "$T/ok3.json" >/dev/null \
  || fail "signature (explicit host): refused"

# MAX_CALLS=1: a second concurrent stream gets 503
twc --duration-ms 3000 --bearer s3cret-stream --summary "$T/long.json" >/dev/null &
LONG=$!
sleep 1
refused "over MAX_CALLS" --bearer s3cret-stream
grep -q 'refused (503): MAX_CALLS reached' "$T/vp.log" || fail "503 not logged"
wait $LONG || fail "the admitted call failed"
health | grep -q '"refused_auth":4' || fail "refusals not counted: $(health)"
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"
[ "$(json_get "$T/rtsum.json" "j['connections']")" = 4 ] || fail "OpenAI connections: expected 4 (admitted calls only)"
for s in s3cret-stream tw-token-123 sk-test-key; do
  if grep -q -- "$s" "$T/vp.log"; then fail "secret $s in the log"; fi
done
echo "proxy_auth: ok"
