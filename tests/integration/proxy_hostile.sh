#!/usr/bin/env bash
# Hostile stream input: malformed JSON, an oversized frame, a binary frame,
# media before start, bad base64, garbage on the port, an oversized or
# never-ending request head, an upgraded stream that never starts. Each: that
# stream is ended by voiceproxy with a clear log line and counted; a
# concurrent normal call is unaffected (its audio arrives byte-exact).
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

gen_ulaw "$T/caller.ulaw" 48000 6   # 6 s
start_rt
start_vp
# an upgraded stream that never sends `start` is ended after 10 s
python3 - "$VP_PORT" > "$T/idle.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /media-stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
s.settimeout(20); t0 = time.time(); data = b""; el = None
while el is None:
    try:
        d = s.recv(4096)
    except (ConnectionResetError, socket.timeout):
        d = b""
    if not d:
        break
    data += d
    head = data.find(b"\r\n\r\n")
    if head >= 0 and len(data) > head + 4:   # the first frame after the 101: the close
        el = time.time() - t0
        closing = data[head + 4] & 0x0f == 8
if el is None:
    el = time.time() - t0; closing = True
print("idle stream closed after %.1f s" % el)
sys.exit(0 if data.startswith(b"HTTP/1.1 101") and closing and 9 <= el <= 12 else 1)
PY
IDLE=$!
# a request head that never completes (slowloris) is closed after 5 s
python3 - "$VP_PORT" > "$T/slow.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n"); t0 = time.time(); s.settimeout(15)
try:
    d = s.recv(100)
except ConnectionResetError:
    d = b""
el = time.time() - t0
print("slow head closed after %.1f s" % el)
sys.exit(0 if d == b"" and 4 <= el <= 8 else 1)
PY
SLOW=$!
# the normal call runs through every attack (it is the fake's connection 2 or 1)
twc --audio "$T/caller.ulaw" --duration-ms 6000 --summary "$T/normal.json" >/dev/null &
NORMAL=$!
for _ in $(seq 50); do [ -s "$T/heard.1" ] || [ -s "$T/heard.2" ] && break; sleep 0.05; done

for mode in badjson oversize binary media-before-start badb64; do
  twc --mode "$mode" --max-ms 5000 > "$T/h-$mode.json" || fail "$mode: stream not ended by voiceproxy: $(cat "$T/h-$mode.json")"
done
# garbage and a slow head on the shared port: closed, counted, nothing else happens
python3 - "$VP_PORT" <<'PY' || fail "garbage on the port not closed"
import socket, sys, time
p = int(sys.argv[1])
def closed(s):
    s.settimeout(5)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
s = socket.create_connection(("127.0.0.1", p)); s.sendall(b"\x16\x03\x01garbage\r\n\r\n")
assert closed(s), "garbage must be closed"
s = socket.create_connection(("127.0.0.1", p)); s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 9000)
assert closed(s), "an oversized head must be closed"
PY
wait $NORMAL || fail "the concurrent normal call failed: $(cat "$T/normal.json")"
wait $IDLE || fail "idle stream: $(cat "$T/idle.out")"
wait $SLOW || fail "slow head: $(cat "$T/slow.out")"
grep -q 'request head too slow' "$T/vp.log" || fail "slow head not logged"
grep -q 'call ended: no_start' "$T/vp.log" || fail "no_start not logged"
sleep 0.2
health > "$T/health.json"
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"
[ "$RT_RC" = 0 ] || fail "contract violations"
H=$T/heard.1; [ "$(stat -c %s "$H")" -ge 48000 ] || H=$T/heard.2
head -c 48000 "$H" | cmp - "$T/caller.ulaw" || fail "the concurrent call's audio was disturbed"
for why in "bad event" "over STREAM_MAX_MESSAGE" "media before start" "bad frame from the peer"; do
  grep -q "$why" "$T/vp.log" || fail "no log line for: $why"
done
grep -q 'invalid base64\|base64' "$T/vp.log" || fail "no log line for bad base64"
python3 - "$T/health.json" <<'PY' || fail "hostile streams not counted: $(cat "$T/health.json")"
import json, sys
h = json.load(open(sys.argv[1])); print(h)
assert h["bad_streams"] >= 5 and h["dropped_connections"] >= 3 and h["live_calls"] == 0
PY
echo "proxy_hostile: ok"
