#!/usr/bin/python3
"""sipcheck: helpers for tests/integration/sip_*.sh (Debian python3, stdlib only).

  pcap-audio PCAP PT OUT [--ulaw]   RTP payloads of payload type PT, in file
                                    order, concatenated into OUT (A-law -> mu-law
                                    with --ulaw, via 16-bit linear as G.711 says)
  contains HAY NEEDLE [MINFRAC]     NEEDLE's bytes appear in HAY in order; exits 1
                                    unless at least MINFRAC (default 1.0) of them
                                    are found as one contiguous run
  tone FILE HZ [MIN_S]               FILE (.wav 16-bit mono, else raw mu-law 8 kHz)
                                    holds at least MIN_S (default 1) seconds of
                                    20 ms frames where HZ dominates (Goertzel)
  flood PORT N                      sends N INVITEs (PCMU offer) to 127.0.0.1:PORT
                                    at once from one socket, ACKs every final
                                    response, prints "code count" lines
  events EVENTS CONN [k=v ...] [--dtmf DIGITS] [--min-media N]
                                    stream CONN of a stream_server --events file:
                                    connected, start (ids, format, customParameters
                                    contain every k=v), media..., dtmf digits in
                                    order, stop last with the start's ids
"""
import json
import warnings
warnings.filterwarnings("ignore", category=DeprecationWarning)
import struct
import sys


def pcap_rtp(path):
    d = open(path, 'rb').read()
    magic = struct.unpack('<I', d[:4])[0]
    e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    link = struct.unpack(e + 'I', d[20:24])[0]
    off = 24
    while off + 16 <= len(d):
        _, _, incl, _ = struct.unpack(e + 'IIII', d[off:off + 16])
        off += 16
        pkt = d[off:off + incl]
        off += incl
        p = pkt[14:] if link == 1 else pkt[16:] if link == 113 else pkt
        if not p or p[0] >> 4 != 4 or p[9] != 17:
            continue
        r = p[(p[0] & 15) * 4 + 8:]
        cc = r[0] & 15
        yield r[1] & 127, struct.unpack('>H', r[2:4])[0], r[12 + 4 * cc:]


def alaw_to_ulaw(b):
    import audioop  # present in Debian 12's python3.11
    return audioop.lin2ulaw(audioop.alaw2lin(b, 2), 2)


def cmd_pcap_audio(a):
    pt = int(a[1])
    out = b''.join(pl for p, _, pl in pcap_rtp(a[0]) if p == pt)
    if '--ulaw' in a:
        out = alaw_to_ulaw(out)
    open(a[2], 'wb').write(out)
    print(f'{len(out)} bytes')


def longest_common_run(hay, needle):
    """Length of the longest run of needle (starting anywhere) found in hay."""
    best, pos = 0, 0
    step = 160
    while pos < len(needle):
        chunk = needle[pos:pos + step]
        i = hay.find(chunk)
        if i < 0:
            pos += step
            continue
        n = len(chunk)
        while pos + n < len(needle) and i + n < len(hay) and hay[i + n] == needle[pos + n]:
            n += 1
        best = max(best, n)
        pos += max(n, step)
    return best


def cmd_contains(a):
    hay = open(a[0], 'rb').read()
    needle = open(a[1], 'rb').read()
    frac = float(a[2]) if len(a) > 2 else 1.0
    run = longest_common_run(hay, needle)
    print(f'recorded {len(hay)} bytes, expected {len(needle)}, longest identical run {run}')
    sys.exit(0 if needle and run >= frac * len(needle) else 1)


def cmd_events(a):
    path, conn = a[0], int(a[1])
    want = {}
    dtmf = None
    min_media = 1
    i = 2
    while i < len(a):
        if a[i] == '--dtmf':
            dtmf = a[i + 1]; i += 2
        elif a[i] == '--min-media':
            min_media = int(a[i + 1]); i += 2
        else:
            k, v = a[i].split('=', 1); want[k] = v; i += 1
    evs = [json.loads(l) for l in open(path) if l.strip()]
    evs = [e for e in evs if e.get('_conn') == conn]
    errs = []
    names = [e.get('event') for e in evs]
    if names[:2] != ['connected', 'start']:
        errs.append(f'first events {names[:2]}')
    if not names or names[-1] != 'stop':
        errs.append(f'last event {names[-1:]}')
    start = next((e for e in evs if e.get('event') == 'start'), {})
    st = start.get('start', {})
    for k, v in want.items():
        got = st.get('customParameters', {}).get(k)
        if got != v:
            errs.append(f'customParameters[{k}] = {got!r}, want {v!r}')
    if st.get('mediaFormat') != {'encoding': 'audio/x-mulaw', 'sampleRate': 8000, 'channels': 1}:
        errs.append(f'mediaFormat {st.get("mediaFormat")}')
    for f, pre in (('callSid', 'CA'), ('accountSid', 'AC'), ('streamSid', 'MZ')):
        v = st.get(f, '')
        if not (v.startswith(pre) and len(v) == 34):
            errs.append(f'{f} {v!r}')
    stop = next((e for e in evs if e.get('event') == 'stop'), {}).get('stop', {})
    if stop.get('callSid') != st.get('callSid') or stop.get('accountSid') != st.get('accountSid'):
        errs.append('stop ids differ from start')
    nmedia = names.count('media')
    if nmedia < min_media:
        errs.append(f'{nmedia} media events, want >= {min_media}')
    got_dtmf = ''.join(e['dtmf']['digit'] for e in evs if e.get('event') == 'dtmf')
    if dtmf is not None and got_dtmf != dtmf:
        errs.append(f'dtmf {got_dtmf!r}, want {dtmf!r}')
    print(f'stream {conn}: {len(evs)} events, {nmedia} media, dtmf {got_dtmf!r}, '
          f'params {st.get("customParameters")}')
    for e in errs:
        print('  ERROR', e)
    sys.exit(1 if errs else 0)


def goertzel(x, rate, hz):
    import math
    w = 2 * math.pi * hz / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    return s1 * s1 + s2 * s2 - c * s1 * s2


def cmd_tone(a):
    import audioop
    import wave
    path, hz = a[0], float(a[1])
    min_s = float(a[2]) if len(a) > 2 else 1.0
    if path.endswith('.wav'):
        w = wave.open(path, 'rb')
        rate = w.getframerate()
        pcm = w.readframes(w.getnframes())
        if w.getnchannels() == 2:
            pcm = audioop.tomono(pcm, 2, 0.5, 0.5)
    else:
        rate = 8000
        pcm = audioop.ulaw2lin(open(path, 'rb').read(), 2)
    samples = struct.unpack('<%dh' % (len(pcm) // 2), pcm)
    n = rate // 50
    others = [f for f in (300, 440, 700, 1000, 1500, 2200, 3000) if abs(f - hz) > 100]
    good = 0
    for i in range(0, len(samples) - n, n):
        fr = samples[i:i + n]
        p = goertzel(fr, rate, hz)
        if p > 1e6 * n and all(p > 20 * goertzel(fr, rate, f) for f in others):
            good += 1
    secs = good * 0.02
    print(f'{path}: {secs:.2f} s of {hz:.0f} Hz')
    sys.exit(0 if secs >= min_s else 1)


def cmd_flood(a):
    import random
    import socket
    import time
    port, n = int(a[0]), int(a[1])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    lp = s.getsockname()[1]
    sdp = ('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n'
           'm=audio 4000 RTP/AVP 0\r\n')
    tag = random.randint(1, 1 << 30)
    for i in range(n):
        msg = (f'INVITE sip:flood@127.0.0.1:{port} SIP/2.0\r\n'
               f'Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-fl-{tag}-{i}\r\n'
               f'From: <sip:flooder@127.0.0.1:{lp}>;tag=f{tag}-{i}\r\n'
               f'To: <sip:flood@127.0.0.1:{port}>\r\n'
               f'Call-ID: flood-{tag}-{i}@127.0.0.1\r\nCSeq: 1 INVITE\r\n'
               f'Contact: <sip:flooder@127.0.0.1:{lp}>\r\nMax-Forwards: 70\r\n'
               f'Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}')
        s.sendto(msg.encode(), ('127.0.0.1', port))
    finals = {}
    s.settimeout(0.5)
    end = time.time() + 15
    while len(finals) < n and time.time() < end:
        try:
            data = s.recv(65535).decode(errors='replace')
        except socket.timeout:
            continue
        lines = data.split('\r\n')
        code = int(lines[0].split()[1])
        hdr = {}
        for l in lines[1:]:
            if ':' in l:
                k, v = l.split(':', 1)
                hdr.setdefault(k.strip().lower(), v.strip())
        cid = hdr.get('call-id', '')
        if code < 200 or cid in finals:
            continue
        finals[cid] = code
        if code >= 300:
            ack = (f'ACK sip:flood@127.0.0.1:{port} SIP/2.0\r\nVia: {hdr["via"]}\r\n'
                   f'From: {hdr["from"]}\r\nTo: {hdr["to"]}\r\nCall-ID: {cid}\r\n'
                   f'CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n')
            s.sendto(ack.encode(), ('127.0.0.1', port))
    counts = {}
    for c in finals.values():
        counts[c] = counts.get(c, 0) + 1
    for c in sorted(counts):
        print(c, counts[c])
    print('unanswered', n - len(finals))


if __name__ == '__main__':
    cmds = {'flood': cmd_flood, 'tone': cmd_tone, 'pcap-audio': cmd_pcap_audio, 'contains': cmd_contains, 'events': cmd_events}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        sys.exit(2)
    cmds[sys.argv[1]](sys.argv[2:])
