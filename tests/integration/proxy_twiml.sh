#!/usr/bin/env bash
# The HTTP side of the one port: /health, the /incoming-call TwiML (content,
# XML escaping, PUBLIC_HOST vs Host, restaurantId), and the webhook's
# X-Twilio-Signature check (valid accepted, tampered/missing -> 403).
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

RT_PORT=$(free_port)
start_vp RESTAURANT_ID='default-resto'
H="http://127.0.0.1:$VP_PORT"
curl -s --max-time 5 "$H/health" | python3 -c '
import json,sys; h=json.load(sys.stdin); assert h["status"]=="ok" and h["live_calls"]==0 and h["version"]' \
  || fail "/health"
curl -s --max-time 5 "$H/" | grep -q '"service":"voiceproxy"' || fail "/"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$H/nope")" = 404 ] || fail "404"

# POST form, hostile characters escaped, Host header used
curl -s --max-time 5 -H 'Host: abc.example:8443' \
  --data-urlencode 'From=+33 6 "12" <34>&x' --data-urlencode "To=+18005551212" \
  --data-urlencode "CallSid=CA'1" "$H/incoming-call" > "$T/post.xml"
python3 - "$T/post.xml" <<'PY' || fail "POST TwiML: $(cat "$T/post.xml")"
import sys, xml.etree.ElementTree as ET
raw = open(sys.argv[1]).read(); print(raw)
r = ET.fromstring(raw)
st = r.find("./Connect/Stream")
assert r.tag == "Response" and st is not None
assert st.get("url") == "wss://abc.example:8443/media-stream"
p = {x.get("name"): x.get("value") for x in st.findall("Parameter")}
assert p == {"From": '+33 6 "12" <34>&x', "To": "+18005551212", "CallSid": "CA'1",
             "restaurantId": "default-resto"}, p
assert "&quot;" in raw and "&lt;34&gt;" in raw and "&amp;x" in raw and "&apos;" in raw
PY
# GET with query parameters and ?restaurantId= overriding RESTAURANT_ID
curl -s --max-time 5 "$H/incoming-call?From=%2B331&To=%2B332&CallSid=CA9&restaurantId=pizza%20napoli" > "$T/get.xml"
python3 - "$T/get.xml" <<'PY' || fail "GET TwiML: $(cat "$T/get.xml")"
import sys, xml.etree.ElementTree as ET
st = ET.parse(sys.argv[1]).getroot().find("./Connect/Stream")
p = {x.get("name"): x.get("value") for x in st.findall("Parameter")}
assert p == {"From": "+331", "To": "+332", "CallSid": "CA9", "restaurantId": "pizza napoli"}, p
PY
stop_vp; [ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"

# Signatures: PUBLIC_HOST + TWILIO_AUTH_TOKEN
start_vp TWILIO_AUTH_TOKEN=12345 PUBLIC_HOST=mycompany.com
H="http://127.0.0.1:$VP_PORT"
python3 - "$H" <<'PY' || fail "webhook signature check"
import base64, hashlib, hmac, sys, urllib.request, urllib.parse
def sig(token, url, params):
    s = url + "".join(k + v for k, v in sorted(params.items()))
    return base64.b64encode(hmac.new(token.encode(), s.encode(), hashlib.sha1).digest()).decode()
# this implementation reproduces Twilio's published vector
vec = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
       "From": "+14158675309", "To": "+18005551212"}
assert sig("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", vec) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
base = sys.argv[1]
def post(path, params, signature):
    req = urllib.request.Request(base + path, data=urllib.parse.urlencode(params).encode())
    if signature is not None:
        req.add_header("X-Twilio-Signature", signature)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
path = "/incoming-call?restaurantId=r1"
good = sig("12345", "https://mycompany.com" + path, vec)
st, body = post(path, vec, good); assert st == 200 and "wss://mycompany.com/media-stream" in body, (st, body)
good443 = sig("12345", "https://mycompany.com:443" + path, vec)
st, _ = post(path, vec, good443); assert st == 200, ("default port variant", st)
st, _ = post(path, dict(vec, Digits="9999"), good); assert st == 403, ("tampered body", st)
st, _ = post("/incoming-call?restaurantId=r2", vec, good); assert st == 403, ("tampered url", st)
st, _ = post(path, vec, None); assert st == 403, ("missing", st)
st, _ = post(path, vec, good[:-2] + "A="); assert st == 403, ("bad", st)
print("signatures ok")
PY
grep -q 'webhook refused (403)' "$T/vp.log" || fail "403 not logged"
if grep -E -q '(^|[^0-9A-Za-z])12345([^0-9]|$)' "$T/vp.log"; then fail "auth token in the log"; fi
stop_vp; [ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"
echo "proxy_twiml: ok"
