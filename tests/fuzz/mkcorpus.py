#!/usr/bin/python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ (run once by a
human when seeds change; the files are kept in the repo so the fuzzers start
from valid shapes instead of random bytes). Sources: DESIGN.md examples, the
OpenAI Realtime schema shapes (tests/data/openai-realtime-schemas.json), SDP
offers as sent by SIPp, baresip, linphone and trunk/gateway UAs, and RTP /
RFC 4733 packets extracted from /usr/share/sip-tester/*.pcap.
Python stdlib only (Debian's /usr/bin/python3)."""
import hashlib, json, os, struct, sys

ROOT = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(ROOT, "corpus")


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def j(o):
    return json.dumps(o, separators=(",", ":"))

# ---- Twilio Media Streams (first byte: bit0 = direction, 0 stream, 1 app) ---
SID = "MZ" + "0123456789abcdef" * 2
CA = "CA" + "fedcba9876543210" * 2
AC = "AC" + "00112233445566778899aabbccddeeff"
stream_events = [
    {"event": "connected", "protocol": "Call", "version": "1.0.0"},
    {"event": "start", "sequenceNumber": "1", "streamSid": SID,
     "start": {"accountSid": AC, "streamSid": SID, "callSid": CA, "tracks": ["inbound"],
               "customParameters": {"restaurantId": "pizza-napoli", "from": "+33612345678"},
               "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}},
    {"event": "media", "sequenceNumber": "2", "streamSid": SID,
     "media": {"track": "inbound", "chunk": "1", "timestamp": "20", "payload": "//////////8="}},
    {"event": "dtmf", "sequenceNumber": "9", "streamSid": SID, "dtmf": {"track": "inbound_track", "digit": "5"}},
    {"event": "mark", "sequenceNumber": "10", "streamSid": SID, "mark": {"name": "greeting-end"}},
    {"event": "stop", "sequenceNumber": "11", "streamSid": SID, "stop": {"accountSid": AC, "callSid": CA}},
]
app_events = [
    {"event": "media", "streamSid": SID, "media": {"payload": "fn5+fn5+"}},
    {"event": "mark", "streamSid": SID, "mark": {"name": "r1"}},
    {"event": "clear", "streamSid": SID},
]
for e in stream_events:
    put("twilio", b"\x00" + j(e).encode())
for e in app_events:
    put("twilio", b"\x01" + j(e).encode())
# fuzz_tw_diff (helper C's differential target) reads the same format.
for e in stream_events:
    put("tw_diff", b"\x00" + j(e).encode())
for e in app_events:
    put("tw_diff", b"\x01" + j(e).encode())
    put("tw_diff", b"\x0b" + j(e).encode())  # 16-byte audio cap

# ---- base64 ----------------------------------------------------------------
for s in ["", "Zg==", "Zm8=", "Zm9v", "//////////8=", "fn5+fn5+", "AAECAwQFBgc=", "Zm9v\n", "Zg=x"]:
    put("b64", s)

# ---- .env ------------------------------------------------------------------
put("env", "# VoixIA\nPORT=5050\nexport LOG_LEVEL=debug\nOPENAI_API_KEY='sk-test'\n"
    "DASHBOARD_URL=\"http://localhost:3000\"\n\nMAX_CALLS=500\n")
put("env", "SIP_PORT=5060\nRTP_PORT_MIN=10000\nRTP_PORT_MAX=20000\nSIP_SERVER=sip.ovh.net:5060\n"
    "STREAM_TOKEN=\"a b#c\" # comment\nBIND_ADDR=127.0.0.1\r\n")
put("env", "VOICE=alloy\nUNKNOWN=1\n  export   RESTAURANT_ID = pizza\nBAD LINE\n=x\nPORT=\n")

# ---- OpenAI Realtime server events -------------------------------------------
rt = [
    {"type": "session.created", "event_id": "ev_1", "session": {"type": "realtime", "id": "sess_1",
     "model": "gpt-realtime", "audio": {"input": {"format": {"type": "audio/pcmu"}},
                                         "output": {"format": {"type": "audio/pcmu"}, "voice": "alloy"}}}},
    {"type": "session.updated", "event_id": "ev_2", "session": {"type": "realtime"}},
    {"type": "input_audio_buffer.speech_started", "event_id": "ev_3", "audio_start_ms": 1200, "item_id": "item_1"},
    {"type": "input_audio_buffer.speech_stopped", "event_id": "ev_4", "audio_end_ms": 2500, "item_id": "item_1"},
    {"type": "response.output_audio.delta", "event_id": "ev_5", "response_id": "resp_1", "item_id": "item_2",
     "output_index": 0, "content_index": 0, "delta": "//////////8="},
    {"type": "response.audio.delta", "event_id": "ev_6", "response_id": "resp_1", "item_id": "item_2",
     "output_index": 0, "content_index": 0, "delta": "fn5+"},
    {"type": "response.output_audio_transcript.done", "event_id": "ev_7", "response_id": "resp_1",
     "item_id": "item_2", "output_index": 0, "content_index": 0, "transcript": "Bonjour, pizzeria Napoli !"},
    {"type": "conversation.item.input_audio_transcription.completed", "event_id": "ev_8", "item_id": "item_1",
     "content_index": 0, "transcript": "Je voudrais réserver", "usage": {"type": "duration", "seconds": 2.1}},
    {"type": "response.function_call_arguments.done", "event_id": "ev_9", "response_id": "resp_2",
     "item_id": "item_3", "output_index": 0, "call_id": "call_abc", "name": "create_reservation",
     "arguments": "{\"name\":\"Dupont\",\"people\":4,\"date\":\"2026-11-22T20:00\"}"},
    {"type": "response.done", "event_id": "ev_10", "response": {"id": "resp_2", "object": "realtime.response",
     "status": "completed", "output": [], "usage": {"total_tokens": 120, "input_tokens": 80, "output_tokens": 40,
     "input_token_details": {"audio_tokens": 60, "text_tokens": 20, "cached_tokens": 0},
     "output_token_details": {"audio_tokens": 30, "text_tokens": 10}}}},
    {"type": "error", "event_id": "ev_11", "error": {"type": "invalid_request_error", "code": "invalid_value",
     "message": "Invalid value", "param": "session.audio", "event_id": None}},
    {"type": "rate_limits.updated", "event_id": "ev_12", "rate_limits": [{"name": "tokens", "limit": 1000,
     "remaining": 900, "reset_seconds": 1.5}]},
]
for e in rt:
    put("rt", j(e))

# ---- form bodies / query strings ---------------------------------------------
for s in ["CallSid=CA123&AccountSid=AC456&From=%2B33612345678&To=%2B33100000000&CallStatus=ringing",
          "a=b+c&d=%41%42&e=&=f&g&%zz=1&h=%2", "restaurantId=pizza-napoli&from=%2B33%20612",
          "x=%00%ff&y=" + "%41" * 20]:
    put("form", s)

# ---- Twilio signature: token \0 url \0 body \0 signature (fuzz_tsig.c) ---
import base64, hmac, urllib.parse
def twsig(token, url, body):
    pairs = sorted(urllib.parse.parse_qsl(body, keep_blank_values=True))
    data = url + "".join(k + v for k, v in pairs)
    return base64.b64encode(hmac.new(token.encode(), data.encode(), "sha1").digest()).decode()
for token, url, body in [
        ("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
         "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212"),
        ("fz-token", "wss://voice.example.com/media-stream", ""),
        ("fz-token", "https://voice.example.com:443/incoming-call?restaurantId=x", "b=2&a=1&a=0")]:
    put("tsig", "\0".join([token, url, body, twsig(token, url, body)]))
put("tsig", "tok\0http://[::1]:80/x\0\0AAAAAAAAAAAAAAAAAAAAAAAAAAA=")

# ---- SDP offers ----------------------------------------------------------------
def crlf(s):
    return s.strip("\n").replace("\n", "\r\n") + "\r\n"
sdps = [
    # SIPp uac default
    """v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
""",
    # baresip
    """v=0
o=- 3295302185 2387302934 IN IP4 192.168.1.20
s=-
c=IN IP4 192.168.1.20
t=0 0
a=tool:baresip 3.0.0
m=audio 30404 RTP/AVP 0 8 101
b=AS:64
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=ssrc:1193823219 cname:3f4e0b9a-1c4f-4b0e
a=rtcp-mux
a=ptime:20
""",
    # linphone
    """v=0
o=alice 3046 1214 IN IP4 10.0.0.5
s=Talk
c=IN IP4 10.0.0.5
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
a=record:off
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
c=IN IP4 10.0.0.5
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
""",
    # trunk (OVH-like), PCMA preferred, IPv4, ptime
    """v=0
o=root 1821116493 1821116493 IN IP4 91.121.128.10
s=Asterisk PBX
c=IN IP4 91.121.128.10
t=0 0
m=audio 16384 RTP/AVP 8 0 18 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:150
a=sendrecv
""",
    # Grandstream HT841 FXO gateway
    """v=0
o=- 8000 8000 IN IP4 192.168.1.50
s=SIP Call
c=IN IP4 192.168.1.50
t=0 0
m=audio 5004 RTP/AVP 0 8 2 18 9 101
a=sendrecv
a=rtpmap:0 PCMU/8000
a=ptime:20
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
""",
    # re-INVITE hold, IPv6, video line first
    """v=0
o=- 1 2 IN IP6 ::1
s=-
t=0 0
m=video 9000 RTP/AVP 96
a=rtpmap:96 H264/90000
m=audio 6002 RTP/AVP 0 101
c=IN IP6 ::1
a=rtpmap:101 telephone-event/8000
a=sendonly
""",
    # SRTP only / hold 0.0.0.0 / zero port
    """v=0
o=- 1 2 IN IP4 0.0.0.0
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio 0 RTP/SAVP 0
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz
a=inactive
""",
]
for s in sdps:
    put("sdp", crlf(s))

# ---- RTP / RFC 4733 from the SIPp pcaps ------------------------------------------
def pcap_udp_payloads(fn):
    b = open(fn, "rb").read()
    e = "<" if struct.unpack("<I", b[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, out = 24, []
    while off + 16 <= len(b):
        _, _, incl, _ = struct.unpack(e + "IIII", b[off:off + 16])
        off += 16
        fr = b[off:off + incl]
        off += incl
        if len(fr) < 14 + 20 + 8 or fr[12:14] != b"\x08\x00":
            continue
        ihl = (fr[14] & 15) * 4
        if fr[14 + 9] != 17:
            continue
        out.append(fr[14 + ihl + 8:])
    return out

PCAPS = "/usr/share/sip-tester"
if os.path.isdir(PCAPS):
    g711 = pcap_udp_payloads(os.path.join(PCAPS, "g711a.pcap"))
    for p in g711[:3]:
        put("rtp", p)
    dt = []
    for d in ["0", "5", "9", "star", "pound"]:
        pk = pcap_udp_payloads(os.path.join(PCAPS, "dtmf_2833_%s.pcap" % d))
        for p in (pk[0], pk[-1]):
            put("rtp", p)
            put("dtmf", p)
        dt += pk
    # jitter buffer input: a sequence of records [u16 len][packet] (fuzz_jb.c),
    # in order, reordered and duplicated.
    def recs(ps):
        return b"".join(struct.pack(">H", len(p)) + p for p in ps)
    put("jb", recs(g711[:8]))
    put("jb", recs([g711[1], g711[0], g711[3], g711[2], g711[2], g711[7]]))
    put("jb", recs(dt[:6] + g711[8:10]))
else:
    print("warning: %s missing, no RTP seeds" % PCAPS, file=sys.stderr)

# ---- HTTP request heads at the one public port (fuzz_reqhead.c) ---------------
def head(lines):
    return "\r\n".join(lines) + "\r\n\r\n"
put("reqhead", head(["GET /media-stream HTTP/1.1", "Host: voice.example.com", "Upgrade: websocket",
                     "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                     "Sec-WebSocket-Version: 13", "X-Twilio-Signature: RSOYDt4T1cUTdK1PDd93/VVr8B8="]))
put("reqhead", head(["GET /media-stream?restaurantId=pizza HTTP/1.1", "Host: 127.0.0.1:5050",
                     "Upgrade: websocket", "Connection: keep-alive, Upgrade",
                     "Authorization: Bearer fz-stream-5ecret-9f3a", "Sec-WebSocket-Version: 13"]))
put("reqhead", head(["POST /incoming-call HTTP/1.1", "Host: h", "Content-Type: application/x-www-form-urlencoded",
                     "Content-Length: 20", "X-Twilio-Signature: x"]) + "CallSid=CA1&From=%2B3")
put("reqhead", head(["GET /health HTTP/1.0"]))
put("reqhead", "GET / HTTP/1.1\r\nHost: a\r\n")

# ---- TwiML: host \0 name \0 value ... (fuzz_twiml.c) ------------------------------
put("twiml", "voice.example.com\0From\0+33612345678\0restaurantId\0pizza-napoli")
put("twiml", "h:5050\0a\0<\"&'>\0b\0\0c\0x\ty\nz\r\x01")

# ---- ALLOWED_SOURCES: 64 bytes of probe addresses, then the list (fuzz_acl.c) ----
import ipaddress
probes = b"".join(ipaddress.ip_address(a).packed for a in ("127.0.0.1", "192.0.2.7", "91.121.128.10", "10.0.0.1")) + \
    b"".join(ipaddress.ip_address(a).packed for a in ("::1", "2001:db8::5", "::ffff:192.0.2.7"))
for lst in ["127.0.0.1", "192.0.2.0/24, 2001:db8::/32, 127.0.0.1", "91.121.128.0/17,10.0.0.1/32",
            " ::1 ,\t0.0.0.0/0", "1.2.3.4/33", "any", "::ffff:192.0.2.0/120"]:
    put("acl", probes + lst.encode())

# ---- dashboard /api/ai answers and journal entries --------------------------------
ai = [
    {"instructions": "Tu es l'assistant de Pizza Napoli.", "voice": "verse", "greeting": "Bonjour !",
     "tools": [{"type": "function", "name": "create_order", "description": "Prend une commande",
                "parameters": {"type": "object", "properties": {"items": {"type": "array"}}},
                "endpoint": "/api/orders"},
               {"type": "function", "name": "check_availability", "description": "x",
                "parameters": {"type": "object"}}],
     "context": {"openingHours": "11h-23h"}},
    {"systemPrompt": "Be brief.", "tools": []},
    {"instructions": 42, "tools": {"a": 1}, "voice": None},
    {"tools": [{"name": "no_type"}, "str", 1, {"type": "function", "name": "x", "endpoint": 5}]},
]
for a in ai:
    put("dash_ai", j(a))
put("dash_ai", "[]")
spool = [
    {"v": 1, "kind": "order", "path": "/api/orders", "key": CA + ":call_abc", "callSid": CA,
     "created": 1763769541123, "body": {"restaurantId": "pizza-napoli", "callSid": CA,
                                          "from": "+33612345678", "items": ["margherita"]}},
    {"v": 1, "kind": "call", "path": "/api/calls", "key": CA, "body": {}},
    {"v": 1, "kind": "message", "path": "/api/../admin", "key": "k", "body": {"text": "x"}},
    {"v": 2, "kind": "x", "path": "/api/messages", "key": "a b", "callSid": 5, "body": []},
]
for s in spool:
    put("spool", j(s))
