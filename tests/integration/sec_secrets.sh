#!/usr/bin/env bash
# Secrets never in logs (issue 8). Both binaries run at LOG_LEVEL=debug with
# distinctive secret values given every way a user can (environment, .env,
# CLI flags), through:
#  - a SIP call: sipbridge REGISTERs with digest auth (SIP_PASSWORD) to a
#    fake registrar, answers a SIPp call and streams it to voiceproxy with
#    STREAM_TOKEN; voiceproxy opens the fake Realtime API with
#    OPENAI_API_KEY (the fake checks it) and the dashboard with
#    DASHBOARD_TOKEN;
#  - refusals: wrong stream token, wrong and right Twilio signatures on the
#    stream and on /incoming-call (TWILIO_AUTH_TOKEN);
#  - the OpenAI 401 path (the fake expects another key);
#  - configuration errors and --help with the secrets on the command line.
# Every byte both processes wrote (stdout, stderr) and the spool journal
# must hold none of the secrets; the peers did receive them (so the test
# is not vacuous), and the SIP password never crossed the wire in clear.
source "$(dirname "$0")/../lib/e2e_lib.sh"
# Own temp dir name (e2e_lib's cleanup removes whatever $T names at exit).
rm -rf "$T"; T=$(mktemp -d /tmp/voixia-sec.XXXXXX); : >"$T/empty.env"
e2e_need_bin voiceproxy
e2e_need_bin sipbridge
e2e_need_bin tests/fakes/fake_realtime
e2e_need_bin tests/fakes/twilio_client
e2e_need sipp
SIPP_XML=$ROOT/tests/sipp/uac_pcmu_hold3s.xml
[ -f "$SIPP_XML" ] || e2e_skip "skipped: $SIPP_XML missing"

S_OPENAI=sk-proj-S3CRETopenai7f3e9a1c
S_TWILIO=S3CRETtwilio4b2d8e6f0a
S_STREAM=S3CRETstream9a1c7f3e2b
S_SIPPW=S3CRETsippw2e6f4b2d8c
S_DASH=S3CRETdash8e6f0a4b2d
SECRETS=("$S_OPENAI" "$S_TWILIO" "$S_STREAM" "$S_SIPPW" "$S_DASH")

# ---- fakes: Realtime (checks the key), registrar (digest), dashboard ---------
e2e_spawn rt "$BUILD/tests/fakes/fake_realtime" --port-file "$T/rt.port" --key "$S_OPENAI" \
	--summary "$T/rt.summary" --at 300:transcript:bonjour
e2e_wait_for "$T/rt.port" '[0-9]' 10 || e2e_fail "fake_realtime did not start"
RT_PORT=$(grep -oE '[0-9]+' "$T/rt.port" | head -n1)
e2e_spawn rtbad "$BUILD/tests/fakes/fake_realtime" --port-file "$T/rtbad.port" --key "another-key"
e2e_wait_for "$T/rtbad.port" '[0-9]' 10 || e2e_fail "fake_realtime (401) did not start"
RTBAD_PORT=$(grep -oE '[0-9]+' "$T/rtbad.port" | head -n1)

REG_PORT=$(e2e_free_port)
# Registrar: 401 with a digest challenge, then 200 once the digest computed
# from the password checks out. Records every REGISTER as received.
cat >"$T/reg.py" <<'PY'
import hashlib, re, socket, sys
port, pw, wire = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "ab", buffering=0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", port))
md5 = lambda x: hashlib.md5(x.encode()).hexdigest()
while True:
    data, peer = s.recvfrom(65535)
    wire.write(data + b"\n----\n")
    msg = data.decode(errors="replace")
    if not msg.startswith("REGISTER"):
        continue
    head = msg.split("\r\n\r\n")[0].split("\r\n")
    keep = [l for l in head[1:] if l.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq", "contact")]
    auth = next((l for l in head if l.lower().startswith("authorization:")), None)
    ok = False
    if auth:
        f = dict(re.findall(r'(\w+)="?([^",]*)"?', auth))
        ha1 = md5(f"{f.get('username')}:{f.get('realm')}:{pw}")
        ha2 = md5(f"REGISTER:{f.get('uri')}")
        want = md5(f"{ha1}:{f.get('nonce')}:{f.get('nc')}:{f.get('cnonce')}:{f.get('qop')}:{ha2}") \
            if f.get("qop") else md5(f"{ha1}:{f.get('nonce')}:{ha2}")
        ok = f.get("response") == want
        print("digest", "ok" if ok else "BAD", flush=True)
    if ok:
        resp = ["SIP/2.0 200 OK"] + keep + ["Expires: 600", "Content-Length: 0"]
    else:
        resp = ["SIP/2.0 401 Unauthorized"] + [l if not l.lower().startswith("to:") else l + ";tag=reg1" for l in keep] + \
            ['WWW-Authenticate: Digest realm="voixia.test", nonce="n0nce4711", algorithm=MD5, qop="auth"',
             "Content-Length: 0"]
    s.sendto(("\r\n".join(resp) + "\r\n\r\n").encode(), peer)
PY
e2e_spawn reg python3 "$T/reg.py" "$REG_PORT" "$S_SIPPW" "$T/reg.wire"

# ---- voiceproxy: key in the environment, Twilio token on the CLI, stream
# token and dashboard token in the .env file ----------------------------------
printf 'STREAM_TOKEN=%s\nDASHBOARD_TOKEN="%s"\n' "$S_STREAM" "$S_DASH" >"$T/vp.env"
VP_PORT=$(e2e_free_port)
ENV_FILE=$T/vp.env OPENAI_API_KEY=$S_OPENAI LOG_LEVEL=debug \
	e2e_spawn vp "$BUILD/voiceproxy" --bind-addr 127.0.0.1 --port "$VP_PORT" \
	--openai-realtime-url "ws://127.0.0.1:$RT_PORT/v1/realtime?model=gpt-realtime" \
	--dashboard-url "http://127.0.0.1:$(e2e_free_port)" --dashboard-ai-timeout-ms 500 \
	--spool-dir "$T/spool" --twilio-auth-token "$S_TWILIO" --openai-fail-grace-ms 300
VP_PID=$E2E_PID
e2e_wait_for "$T/vp.log" "listening on 127.0.0.1:$VP_PORT|exiting" 15 || e2e_fail "voiceproxy did not start"
kill -0 "$VP_PID" 2>/dev/null || e2e_fail "voiceproxy exited at start"

# ---- sipbridge: password on the CLI, stream token in the environment ---------
SB_PORT=$(e2e_free_port)
ENV_FILE=$T/empty.env STREAM_TOKEN=$S_STREAM LOG_LEVEL=debug \
	e2e_spawn sb "$BUILD/sipbridge" --bind 127.0.0.1 --sip-port "$SB_PORT" --rtp-ports "$(e2e_rtp_range)" \
	--ws-url "ws://127.0.0.1:$VP_PORT/media-stream" --sip-username 33491234567 \
	--sip-password "$S_SIPPW" --sip-domain "127.0.0.1:$REG_PORT" --param restaurantId=pizza-napoli
SB_PID=$E2E_PID
e2e_wait_for "$T/sb.log" 'sipbridge ready|exiting' 20 || e2e_fail "sipbridge did not start"
e2e_wait_for "$T/reg.out" 'digest ok' 15 || e2e_fail "sipbridge never registered with the right digest"

# ---- a SIP call through both processes ---------------------------------------
timeout 40 sipp "127.0.0.1:$SB_PORT" -sf "$SIPP_XML" -s 0612345678 -i 127.0.0.1 -p "$(e2e_free_port)" \
	-mp "$(e2e_free_port)" -m 1 -nostdin -timeout 30 -timeout_error >"$T/sipp.stdout" 2>&1 ||
	e2e_fail "SIPp call failed: $(tail -n 5 "$T/sipp.stdout")"
e2e_wait_for "$T/vp.log" 'stream accepted' 5 || e2e_fail "voiceproxy did not admit the bridge's stream (STREAM_TOKEN)"

# ---- refusals and signatures at the proxy --------------------------------------
TWC=("$BUILD/tests/fakes/twilio_client" --url "ws://127.0.0.1:$VP_PORT/media-stream" --duration-ms 600 --max-ms 8000)
timeout 20 "${TWC[@]}" --bearer "wrong-$S_STREAM-x" >"$T/twc-badbearer.out" 2>&1
timeout 20 "${TWC[@]}" --twilio-token "wrong-$S_TWILIO" --sig-host "127.0.0.1:$VP_PORT" >"$T/twc-badsig.out" 2>&1
timeout 20 "${TWC[@]}" --twilio-token "$S_TWILIO" --sig-host "127.0.0.1:$VP_PORT" >"$T/twc-goodsig.out" 2>&1 ||
	e2e_fail "a correctly signed Twilio stream was refused: $(tail -n 2 "$T/twc-goodsig.out")"
python3 - "$VP_PORT" "$S_TWILIO" >"$T/webhook.out" 2>&1 <<'PY' || e2e_fail "webhook: $(cat "$T/webhook.out")"
import base64, hashlib, hmac, http.client, sys, urllib.parse
port, tok = int(sys.argv[1]), sys.argv[2]
url = f"https://127.0.0.1:{port}/incoming-call"  # TLS ends at the reverse proxy in front
params = {"CallSid": "CA" + "1" * 32, "From": "+33612345678", "To": "+33100000000"}
body = urllib.parse.urlencode(params)
def post(sig):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("POST", "/incoming-call", body, {"Content-Type": "application/x-www-form-urlencoded",
              "X-Twilio-Signature": sig, "Host": f"127.0.0.1:{port}"})
    r = c.getresponse(); r.read(); return r.status
good = base64.b64encode(hmac.new(tok.encode(), (url + "".join(k + v for k, v in sorted(params.items()))).encode(),
                                 hashlib.sha1).digest()).decode()
bad = post("AAAA" + good[4:])
ok = post(good)
print("bad", bad, "good", ok)
sys.exit(0 if bad in (401, 403) and ok == 200 else 1)
PY

# ---- OpenAI 401 path: a second proxy whose key the fake refuses ----------------
VP2_PORT=$(e2e_free_port)
ENV_FILE=$T/empty.env OPENAI_API_KEY=$S_OPENAI STREAM_TOKEN=$S_STREAM DASHBOARD_TOKEN=$S_DASH LOG_LEVEL=debug \
	e2e_spawn vp2 "$BUILD/voiceproxy" --bind-addr 127.0.0.1 --port "$VP2_PORT" \
	--openai-realtime-url "ws://127.0.0.1:$RTBAD_PORT/v1/realtime?model=gpt-realtime" \
	--dashboard-url "http://127.0.0.1:$(e2e_free_port)" --dashboard-ai-timeout-ms 500 \
	--spool-dir "$T/spool2" --openai-fail-grace-ms 300
VP2_PID=$E2E_PID
e2e_wait_for "$T/vp2.log" "listening on 127.0.0.1:$VP2_PORT|exiting" 15 || e2e_fail "voiceproxy (401) did not start"
timeout 20 "$BUILD/tests/fakes/twilio_client" --url "ws://127.0.0.1:$VP2_PORT/media-stream" \
	--bearer "$S_STREAM" --duration-ms 1500 --max-ms 10000 >"$T/twc-401.out" 2>&1
grep -qiE '401|unauthori|refused|fail' "$T/vp2.log" || e2e_fail "voiceproxy logged nothing about the OpenAI 401"

# ---- configuration errors and --help with secrets on the command line -----------
ENV_FILE=$T/empty.env timeout 10 "$BUILD/voiceproxy" --openai-api-key "$S_OPENAI" --stream-token "$S_STREAM" \
	--twilio-auth-token "$S_TWILIO" --dashboard-token "$S_DASH" --port not-a-port >"$T/cfgerr-vp.out" 2>&1
[ $? -eq 2 ] || e2e_fail "voiceproxy with a bad PORT did not exit 2: $(cat "$T/cfgerr-vp.out")"
ENV_FILE=$T/empty.env OPENAI_API_KEY=$S_OPENAI timeout 10 "$BUILD/voiceproxy" --stream-token "$S_STREAM" \
	--max-calls lots >"$T/cfgerr-vp2.out" 2>&1
[ $? -eq 2 ] || e2e_fail "voiceproxy with a bad MAX_CALLS did not exit 2: $(cat "$T/cfgerr-vp2.out")"
ENV_FILE=$T/empty.env timeout 10 "$BUILD/sipbridge" --sip-password "$S_SIPPW" --stream-token "$S_STREAM" \
	--sip-username u --sip-domain example.com --rtp-ports 20000-10000 >"$T/cfgerr-sb.out" 2>&1
[ $? -eq 2 ] || e2e_fail "sipbridge with an empty RTP range did not exit 2: $(cat "$T/cfgerr-sb.out")"
ENV_FILE=$T/empty.env timeout 10 "$BUILD/sipbridge" --sip-password "$S_SIPPW" --help >"$T/help-sb.out" 2>&1
OPENAI_API_KEY=$S_OPENAI ENV_FILE=$T/empty.env timeout 10 "$BUILD/voiceproxy" --help >"$T/help-vp.out" 2>&1

# ---- stop, then look everywhere ----------------------------------------------------
for p in $SB_PID $VP_PID $VP2_PID; do e2e_stop "$p" TERM 15; done
OUTPUTS=("$T"/vp.log "$T"/vp.out "$T"/vp2.log "$T"/vp2.out "$T"/sb.log "$T"/sb.out "$T"/cfgerr-*.out "$T"/help-*.out)
[ -d "$T/spool" ] && OUTPUTS+=($(find "$T/spool" "$T/spool2" -type f 2>/dev/null))
leaks=0
for s in "${SECRETS[@]}"; do
	if grep -l -F -- "$s" "${OUTPUTS[@]}" >"$T/leak" 2>/dev/null; then
		leaks=1
		echo "secret ${s:0:12}... appears in: $(tr '\n' ' ' <"$T/leak")" >&2
		grep -n -F -- "$s" "${OUTPUTS[@]}" | head -n 3 | cut -c1-300 >&2
	fi
done
# The SIP password must not cross the wire in clear either (digest only).
! grep -q -F -- "$S_SIPPW" "$T/reg.wire" || { leaks=1; echo "SIP_PASSWORD sent in clear to the registrar" >&2; }
[ $leaks -eq 0 ] || e2e_fail "secrets leaked (above)"
# Not vacuous: the outputs are there and at debug level.
[ "$(cat "${OUTPUTS[@]}" | wc -l)" -gt 50 ] || e2e_fail "too little output to judge"
grep -q DEBUG "$T/vp.log" && grep -q DEBUG "$T/sb.log" || e2e_fail "LOG_LEVEL=debug not in effect"
echo "sec_secrets: 5 secrets, $(cat "${OUTPUTS[@]}" | wc -l) lines of output checked, none leaked"
