#!/usr/bin/env bash
# Garbage at every port (issue 8), against the real binaries:
#  - sipbridge: out-of-dialog REFERs from peers that vanish (a remote crash
#    this test found), ~450 hostile SIP/UDP datagrams (random bytes, truncated and
#    oversized messages, NUL bytes, absurd Content-Length, broken Via/CSeq,
#    INVITEs with SDP from the fuzz corpus mutated), garbage over SIP/TCP,
#    and random datagrams sprayed over the whole RTP range while a call is
#    live;
#  - voiceproxy (one port, HTTP + WS): random bytes, HTTP/2 preface, oversize
#    and endless heads, smuggling-style Content-Length/Transfer-Encoding,
#    bad methods, and an authenticated WS stream sending raw hostile frames
#    (reserved bits, unknown opcodes, unmasked, 2^63 length, fragmented
#    control frames, invalid UTF-8, a ping flood).
# After it all: both processes alive, no sanitizer report, OPTIONS -> 200,
# GET /health -> 200, a signed-less /incoming-call -> TwiML, a live SIP call
# through both processes completes, and SIGTERM exits 0.
source "$(dirname "$0")/../lib/e2e_lib.sh"
# Own temp dir name (e2e_lib's cleanup removes whatever $T names at exit).
rm -rf "$T"; T=$(mktemp -d /tmp/voixia-sec.XXXXXX); : >"$T/empty.env"
e2e_need_bin voiceproxy
e2e_need_bin sipbridge
e2e_need_bin tests/fakes/fake_realtime
e2e_need sipp
SIPP_XML=$ROOT/tests/sipp/uac_pcmu_hold3s.xml
[ -f "$SIPP_XML" ] || e2e_skip "skipped: $SIPP_XML missing"
TOKEN=garbage-test-stream-token

e2e_spawn rt "$BUILD/tests/fakes/fake_realtime" --port-file "$T/rt.port"
e2e_wait_for "$T/rt.port" '[0-9]' 10 || e2e_fail "fake_realtime did not start"
RT_PORT=$(grep -oE '[0-9]+' "$T/rt.port" | head -n1)
VP_PORT=$(e2e_free_port)
ENV_FILE=$T/empty.env OPENAI_API_KEY=sk-test STREAM_TOKEN=$TOKEN e2e_spawn vp "$BUILD/voiceproxy" \
	--bind-addr 127.0.0.1 --port "$VP_PORT" --openai-realtime-url "ws://127.0.0.1:$RT_PORT/v1/realtime" \
	--dashboard-url "http://127.0.0.1:$(e2e_free_port)" --dashboard-ai-timeout-ms 500 --spool-dir "$T/spool" \
	--stream-max-message 65536
VP_PID=$E2E_PID
e2e_wait_for "$T/vp.log" "listening on 127.0.0.1:$VP_PORT|exiting" 15 || e2e_fail "voiceproxy did not start"
SB_PORT=$(e2e_free_port)
RTP=$(e2e_rtp_range)
ENV_FILE=$T/empty.env STREAM_TOKEN=$TOKEN e2e_spawn sb "$BUILD/sipbridge" --bind 127.0.0.1 \
	--sip-port "$SB_PORT" --rtp-ports "$RTP" --ws-url "ws://127.0.0.1:$VP_PORT/media-stream"
SB_PID=$E2E_PID
e2e_wait_for "$T/sb.log" 'sipbridge ready|exiting' 20 || e2e_fail "sipbridge did not start"

alive() {
	kill -0 "$VP_PID" 2>/dev/null || e2e_fail "voiceproxy died ($1)"
	kill -0 "$SB_PID" 2>/dev/null || e2e_fail "sipbridge died ($1)"
	! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$T/vp.log" "$T/sb.log" ||
		e2e_fail "sanitizer report ($1)"
}

cat >"$T/sipgarbage.py" <<'PY'
import os, random, socket, sys, time
port, rtp_lo, rtp_hi, corpus = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rnd = random.Random(4711)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
lp = u.getsockname()[1]
def sip(method="INVITE", body=b"", extra="", cl=None, via=None, cseq=None):
    tag = rnd.randint(1, 1 << 30)
    h = (f"{method} sip:{rnd.randint(100, 999)}@127.0.0.1:{port} SIP/2.0\r\n"
         f"Via: {via or f'SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK{tag};rport'}\r\n"
         f"Max-Forwards: 70\r\nTo: <sip:x@127.0.0.1>\r\nFrom: <sip:g@127.0.0.1>;tag={tag}\r\n"
         f"Call-ID: garbage{tag}\r\nCSeq: {cseq or '1 ' + method}\r\nContact: <sip:g@127.0.0.1:{lp}>\r\n{extra}"
         f"Content-Type: application/sdp\r\nContent-Length: {len(body) if cl is None else cl}\r\n\r\n")
    return h.encode() + body
sdps = [open(os.path.join(corpus, f), "rb").read() for f in sorted(os.listdir(corpus))] if os.path.isdir(corpus) else [b"v=0\r\n"]
def mutate(b):
    b = bytearray(b)
    for _ in range(rnd.randint(1, 8)):
        op = rnd.randint(0, 3)
        i = rnd.randrange(len(b) + 1)
        if op == 0 and b: b[min(i, len(b) - 1)] = rnd.randrange(256)
        elif op == 1: b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 40)))
        elif op == 2: del b[i:i + rnd.randint(1, 40)]
        else: b[i:i] = rnd.choice([b"\r\n", b"\0", b"m=audio 0 RTP/AVP 0\r\n", b"c=IN IP4 999.1.1.1\r\n",
                                   b"a=rtpmap:0 PCMU/99999999999\r\n", b"m=audio 70000 RTP/AVP " + b"0 " * 200 + b"\r\n"])
    return bytes(b)
msgs = []
msgs += [bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 1400))) for _ in range(150)]
msgs += [sip()[:rnd.randint(1, 300)] for _ in range(60)]                       # truncated
msgs += [sip(body=mutate(rnd.choice(sdps))) for _ in range(200)]               # hostile SDP
msgs += [sip(body=rnd.choice(sdps), cl=c) for c in (-1, 0, 99999999, 2**63, "abc", "")]
msgs += [sip(via=v) for v in ("garbage", "SIP/2.0/UDP", "SIP/2.0/UDP 127.0.0.1:0;branch=", "SIP/2.0/XYZ [::1", "x" * 4000)]
msgs += [sip(cseq=c) for c in ("abc INVITE", "99999999999999999999 INVITE", "1 BYE", "1", "")]
msgs += [sip(m) for m in ("BYE", "CANCEL", "ACK", "PRACK", "UPDATE", "INFO", "REFER", "NOTIFY", "SUBSCRIBE", "MESSAGE", "PUBLISH", "FOO")]
msgs += [sip(extra="X-Long: " + "a" * 60000 + "\r\n")]                         # near 64 KB datagram
msgs += [sip(extra="X-H: 1\r\n" * 2000)]
msgs += [b"\0" * 1000, b"SIP/2.0 200 OK\r\n\r\n", b"\r\n\r\n" * 100, b"INVITE\r\n\r\n"]
for i, m in enumerate(msgs):
    try:
        u.sendto(m[:65507], ("127.0.0.1", port))
    except OSError:
        pass
    if i % 50 == 0:
        time.sleep(0.02)   # let the stack breathe: this is a robustness test, not a flood test
# SIP over TCP: garbage, an endless header, a huge declared body
for payload in (bytes(rnd.randrange(256) for _ in range(5000)), b"INVITE sip:a@b SIP/2.0\r\nX: " + b"y" * 100000,
                sip(cl=10**9)):
    try:
        t = socket.create_connection(("127.0.0.1", port), timeout=3)
        t.sendall(payload); time.sleep(0.1); t.close()
    except OSError:
        pass
# RTP range spray: random datagrams and RTP-looking headers
for p in range(rtp_lo, rtp_hi + 1):
    for _ in range(3):
        d = bytes([0x80, rnd.randrange(256)]) + bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 300)))
        try:
            u.sendto(d if rnd.random() < 0.7 else d[:rnd.randint(0, 11)], ("127.0.0.1", p))
        except OSError:
            pass
print(len(msgs), "datagrams")
PY

cat >"$T/httpgarbage.py" <<'PY'
import base64, os, random, socket, struct, sys, time
port, token = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(1234)
def send(payload, wait=0.3):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(payload)
        s.settimeout(wait)
        try:
            while s.recv(65536):
                pass
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
    except OSError:
        pass
heads = [
    bytes(rnd.randrange(256) for _ in range(3000)),
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-A: b\r\n" * 3000 + b"\r\n",
    b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"z" * 70000,
    b"POST /incoming-call HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 500\r\n\r\nabcde",
    b"POST /incoming-call HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzzzz\r\nabc\r\n",
    b"POST /incoming-call HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc\r\n",
    b"POST /incoming-call HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nx",
    b"POST /incoming-call HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\nx",
    b"POST /incoming-call HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 30\r\n\r\nCallSid=%zz&From=%&&&&&===%00",
    b"POST /incoming-call HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n" + b"a=b&" * 50000,
    b"BREW /health HTTP/1.1\r\n\r\n", b"GET /health HTTP/9.9\r\n\r\n", b"GET /health\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: \0\0\0\r\n\r\n", b"\r\n\r\n\r\n", b"GET /media-stream HTTP/1.1\r\n\r\n",
    b"GET /media-stream HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
    b"GET /media-stream HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer " + b"x" * 7000 + b"\r\n\r\n",
    b"GET /../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", b"GET /%00 HTTP/1.1\r\n\r\n",
]
for h in heads:
    send(h)
for _ in range(100):   # mutated valid heads
    b = bytearray(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    for _ in range(rnd.randint(1, 6)):
        b[rnd.randrange(len(b))] = rnd.randrange(256)
    send(bytes(b), 0.05)
# A slow head, abandoned; many connections opened and dropped at once.
s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"GET /hea"); time.sleep(0.5); s.close()
socks = []
for _ in range(100):
    try:
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    except OSError:
        break
for x in socks:
    x.close()

# Authenticated WebSocket, then hostile raw frames (one connection each).
def ws():
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /media-stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode())
    r = b""
    while b"\r\n\r\n" not in r:
        c = s.recv(4096)
        if not c:
            raise SystemExit("WS upgrade closed: %r" % r)
        r += c
    if b" 101 " not in r.split(b"\r\n")[0]:
        raise SystemExit("WS upgrade refused: %r" % r[:100])
    return s
def frame(op, payload, fin=True, mask=True, rsv=0, length=None):
    n = len(payload) if length is None else length
    h = bytes([(0x80 if fin else 0) | rsv | op])
    m = 0x80 if mask else 0
    if n < 126: h += bytes([m | n])
    elif n < 65536: h += bytes([m | 126]) + struct.pack(">H", n)
    else: h += bytes([m | 127]) + struct.pack(">Q", n)
    if mask:
        k = os.urandom(4)
        return h + k + bytes(b ^ k[i % 4] for i, b in enumerate(payload))
    return h + payload
start = (b'{"event":"start","sequenceNumber":"1","streamSid":"MZ1","start":{"accountSid":"AC1","streamSid":"MZ1",'
         b'"callSid":"CA1","tracks":["inbound"],"customParameters":{},"mediaFormat":{"encoding":"audio/x-mulaw",'
         b'"sampleRate":8000,"channels":1}}}')
attacks = [
    frame(1, b"{}", rsv=0x40), frame(3, b"x"), frame(11, b"x"), frame(1, b"hi", mask=False),
    frame(1, b"", length=2**63 - 1), frame(1, b"", length=2**40), frame(9, b"x" * 200),
    frame(9, b"p", fin=False), frame(0, b"continuation without a start"),
    frame(1, b"\xff\xfe\xfd invalid utf-8"), frame(8, b"\x03\xe7bad close code"), frame(8, b"x"),
    frame(1, b"{" * 60000), frame(1, b"[" * 5000 + b"]" * 5000),
    frame(1, start) + frame(1, b'{"event":"media","sequenceNumber":"2","streamSid":"MZ1","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"' + b"A" * 60000 + b'"}}'),
    frame(1, start) + b"".join(frame(9, b"ping") for _ in range(2000)),
    frame(1, start) + frame(1, b'{"event":"mark","sequenceNumber":"3","streamSid":"MZ1","mark":{"name":"' + b"\\u0000" * 100 + b'"}}'),
    frame(2, bytes(rnd.randrange(256) for _ in range(1000))),
    bytes(rnd.randrange(256) for _ in range(5000)),
]
for a in attacks:
    s = ws()
    try:
        s.sendall(a)
        s.settimeout(2)
        while s.recv(65536):
            pass
    except (socket.timeout, OSError):
        pass
    s.close()
print(len(heads) + 100, "heads,", len(attacks), "ws attacks")
PY

# ---- out-of-dialog REFERs from peers that vanish at once ------------------------
# Found by this test: sofia-sip's nua accepts an out-of-dialog REFER by
# itself (202 + an implicit subscription whose NOTIFY goes to the sender);
# when that NOTIFY fails (ICMP port unreachable) while the bridge has
# destroyed the handle in its nua_i_refer callback, nua frees the handle a
# second time: SEGV in a nua timer (ASan) / "nh_remove: Assertion
# `*nh->nh_prev == nh' failed" (release). Ten rounds of five REFERs, each
# round from a socket closed at once, crash an affected bridge every time.
cat >"$T/refer.py" <<'PY'
import random, socket, sys, time
port = int(sys.argv[1])
for r in range(10):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); lp = u.getsockname()[1]
    for i in range(5):
        tag = random.randint(1, 1 << 30)
        m = (f"REFER sip:{100 + i}@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK{tag};rport\r\n"
             f"Max-Forwards: 70\r\nTo: <sip:x@127.0.0.1>\r\nFrom: <sip:g@127.0.0.1>;tag={tag}\r\nCall-ID: refer{tag}\r\n"
             f"CSeq: 1 REFER\r\nContact: <sip:g@127.0.0.1:{lp}>\r\nRefer-To: <sip:900@127.0.0.1>\r\nContent-Length: 0\r\n\r\n")
        u.sendto(m.encode(), ("127.0.0.1", port))
    u.close()
    time.sleep(0.3)
PY
timeout 30 python3 "$T/refer.py" "$SB_PORT" || e2e_fail "REFER sender failed"
sleep 2
kill -0 "$SB_PID" 2>/dev/null || e2e_fail "sipbridge crashed on out-of-dialog REFERs from a vanished peer (sofia nua auto-accepts REFER; fix: SIPTAG_ALLOW_STR(\"INVITE, ACK, BYE, CANCEL, OPTIONS\") instead of NUTAG_ALLOW in bridge/sip_ua.c so REFER gets 405)"
alive "after out-of-dialog REFERs"

# ---- SIP and RTP garbage, with a call live during the RTP spray ----------------
timeout 60 sipp "127.0.0.1:$SB_PORT" -sf "$SIPP_XML" -s 0612345678 -i 127.0.0.1 -p "$(e2e_free_port)" \
	-mp "$(e2e_free_port)" -m 1 -nostdin -timeout 40 -timeout_error >"$T/sipp-live.out" 2>&1 &
SIPP_LIVE=$!
e2e_wait_for "$T/sb.log" 'stream open -> 200' 10 || e2e_fail "the live call did not start"
timeout 120 python3 "$T/sipgarbage.py" "$SB_PORT" "${RTP%-*}" "${RTP#*-}" "$ROOT/tests/fuzz/corpus/sdp" \
	>"$T/sipgarbage.out" 2>&1 || e2e_fail "SIP garbage sender failed: $(tail -n 3 "$T/sipgarbage.out")"
wait $SIPP_LIVE || e2e_fail "the call live during the RTP/SIP garbage failed: $(tail -n 5 "$T/sipp-live.out")"
sleep 1
alive "after SIP/RTP garbage"

# ---- HTTP and WS garbage at the proxy's one port ------------------------------
timeout 150 python3 "$T/httpgarbage.py" "$VP_PORT" "$TOKEN" >"$T/httpgarbage.out" 2>&1 ||
	e2e_fail "HTTP/WS garbage sender failed: $(tail -n 3 "$T/httpgarbage.out")"
sleep 1
alive "after HTTP/WS garbage"

# ---- good requests still work ---------------------------------------------------
code=$(curl -s -o "$T/health.json" -w '%{http_code}' --max-time 5 "http://127.0.0.1:$VP_PORT/health")
[ "$code" = 200 ] || e2e_fail "GET /health after the garbage: HTTP $code"
code=$(curl -s -o "$T/twiml.xml" -w '%{http_code}' --max-time 5 -d 'CallSid=CA1&From=%2B33612345678' \
	"http://127.0.0.1:$VP_PORT/incoming-call")
[ "$code" = 200 ] && grep -q '<Stream' "$T/twiml.xml" || e2e_fail "POST /incoming-call after the garbage: HTTP $code"
timeout 60 sipp "127.0.0.1:$SB_PORT" -sf "$SIPP_XML" -s 0612345678 -i 127.0.0.1 -p "$(e2e_free_port)" \
	-mp "$(e2e_free_port)" -m 1 -nostdin -timeout 40 -timeout_error >"$T/sipp-after.out" 2>&1 ||
	e2e_fail "a call after the garbage failed: $(tail -n 5 "$T/sipp-after.out")"
alive "after the good requests"

e2e_stop "$SB_PID" TERM 20; sb_rc=$E2E_RC
e2e_stop "$VP_PID" TERM 20; vp_rc=$E2E_RC
[ "$sb_rc" -eq 0 ] || e2e_fail "sipbridge exit status $sb_rc after SIGTERM (want 0; ASan reports exit non-zero)"
[ "$vp_rc" -eq 0 ] || e2e_fail "voiceproxy exit status $vp_rc after SIGTERM (want 0; ASan reports exit non-zero)"
echo "sec_garbage: $(cat "$T/sipgarbage.out"); $(cat "$T/httpgarbage.out"); both processes survived and still serve"
