#!/usr/bin/python3
"""Readable summary of one demo call (tests/demo.sh), from the logs and
recordings the processes and fakes left in a run directory:

  e2e_report.py RUN_DIR [WAV...]

RUN_DIR holds: call.msg (SIPp -trace_msg), sb.log (sipbridge), vp.log
(voiceproxy), rt.jsonl (fake_realtime --record: client events with ms since
its connection), dash.jsonl (fake_dashboard --log), caller.out (rtp_peer
summary). Every source is optional: what is missing is said, not guessed.
Prints a timeline (SIP, RTP, stream, model, dashboard events, times from the
INVITE), the transcript, the order the dashboard received, the call log.
Exit 0 when an order and a call log reached the dashboard, else 1."""
import base64
import json
import math
import os
import re
import sys
from datetime import datetime, timezone

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_audio import DEC, FRAME, QUIET_RMS  # noqa: E402

STAMP = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z (\w+)\s+(\S+) \[([^\]]*)\] (.*)$')


def ts(s):
    s = s.rstrip('Z').replace(' ', 'T')
    return datetime.strptime(s, '%Y-%m-%dT%H:%M:%S.%f').replace(tzinfo=timezone.utc).timestamp()


def read(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.read()
    except OSError:
        return None


def sip_events(d):
    """(time, text) per SIP message in SIPp's message trace."""
    txt = read(os.path.join(d, 'call.msg'))
    out = []
    if not txt:
        return out
    blocks = re.split(r'^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$', txt, flags=re.M)
    for i in range(1, len(blocks) - 1, 2):
        t = ts(blocks[i])
        body = blocks[i + 1].strip('\n').splitlines()
        if len(body) < 3:
            continue
        sent = 'sent' in body[0]
        first = body[2].strip() if len(body) > 2 else ''
        while not first and len(body) > 3:
            body = body[1:]
            first = body[2].strip()
        m = re.match(r'SIP/2\.0 (\d+ .*)', first)
        what = m.group(1) if m else first.split(' ')[0]
        sdp = [ln.strip() for ln in body if ln.startswith('m=audio')]
        extra = ''
        if sdp:
            extra = ' (SDP ' + sdp[0].replace('m=audio ', 'audio port ') + ')'
        arrow = 'caller -> bridge' if sent else 'bridge -> caller'
        out.append((t, 'SIP', f'{arrow}: {what}{extra}'))
    return out


def log_events(d, name, src, keep):
    txt = read(os.path.join(d, name))
    out = []
    if not txt:
        return out
    for ln in txt.splitlines():
        m = STAMP.match(ln)
        if not m:
            continue
        stamp, level, _prog, ctx, msg = m.groups()
        if msg.startswith('lws:') or msg.startswith('ws ') or ctx == '-':
            continue
        if keep(level, msg):
            out.append((ts(stamp), src, msg))
    return out


def keep_vp(level, msg):
    if level in ('INFO', 'WARN', 'ERROR'):
        return not msg.startswith('dash: call ') or 'delivered' in msg
    return bool(re.match(r'(agent said|caller said|realtime session|barge|clear|end_call)', msg))


def keep_sb(level, msg):
    if level in ('WARN', 'ERROR'):
        return True
    if level != 'INFO':
        return msg.startswith('clear')
    return not msg.startswith('sip: INVITE from')  # the SIP trace shows it


def model_events(d, anchor):
    """fake_realtime's record: times are ms since its connection was
    accepted; anchored on voiceproxy's 'realtime connected' log line."""
    txt = read(os.path.join(d, 'rt.jsonl'))
    out = []
    if not txt or anchor is None:
        return out
    appends = []
    for ln in txt.splitlines():
        try:
            j = json.loads(ln)
        except ValueError:
            continue
        ev = j.get('event') or {}
        t = anchor + j.get('t', 0) / 1000.0
        typ = ev.get('type', '?')
        if typ == 'input_audio_buffer.append':
            appends.append(t)
            continue
        if typ == 'session.update':
            s = ev.get('session', {})
            tools = [x.get('name') for x in s.get('tools', [])]
            voice = s.get('audio', {}).get('output', {}).get('voice')
            text = f'voiceproxy -> model: session.update (voice {voice}, tools {", ".join(tools)})'
        elif typ == 'conversation.item.create':
            item = ev.get('item', {})
            if item.get('type') == 'function_call_output':
                text = f'voiceproxy -> model: function_call_output {item.get("call_id")} = {item.get("output")}'
            else:
                text = f'voiceproxy -> model: conversation.item.create ({item.get("type")})'
        elif typ == 'conversation.item.truncate':
            text = f'voiceproxy -> model: conversation.item.truncate at {ev.get("audio_end_ms")} ms (barge-in)'
        elif typ == 'response.create':
            text = 'voiceproxy -> model: response.create'
        else:
            text = f'voiceproxy -> model: {typ}'
        out.append((t, 'MODEL', text))
    if appends:
        out.append((appends[0], 'MODEL', f'voiceproxy -> model: first input_audio_buffer.append '
                    f'({len(appends)} in the call, caller audio passed through as µ-law)'))
    return out


def loud(frame):
    if len(frame) < FRAME:
        return False
    return math.sqrt(sum(DEC[b] * DEC[b] for b in frame) / len(frame)) >= QUIET_RMS


def segments(frames, gap=0.5):
    """[(t, bytes)] 20 ms frames -> [(start, end)] of sound, pauses < gap merged."""
    out = []
    for t, fr in frames:
        if not loud(fr):
            continue
        if out and t - out[-1][1] <= gap:
            out[-1][1] = t + 0.02
        else:
            out.append([t, t + 0.02])
    return out


def twilio_events(d, anchor):
    """Mode A: the webhook fetch (webhook.txt: time, then the TwiML) and the
    Twilio side's events (twilio_client --events; t = ms since its stream
    began, anchored on voiceproxy's 'stream accepted' line)."""
    out = []
    wh = read(os.path.join(d, 'webhook.txt'))
    if wh:
        lines = wh.splitlines()
        m = re.search(r'<Stream url="([^"]*)"', wh)
        params = re.findall(r'<Parameter name="([^"]*)" value="([^"]*)"', wh)
        what = f'Stream url={m.group(1)}' if m else 'no <Stream> in the answer'
        if params:
            what += ' with ' + ', '.join(f'{k}={v}' for k, v in params)
        out.append((ts(lines[0]), 'TWILIO', f'POST /incoming-call -> TwiML <Connect><{what}>'))
    txt = read(os.path.join(d, 'tw.jsonl'))
    if txt and anchor is not None:
        echoed = 0
        for ln in txt.splitlines():
            try:
                e = json.loads(ln)
            except ValueError:
                continue
            t = anchor + e.get('t', 0) / 1000.0
            if e.get('event') == 'mark' and e.get('dir') == 'tx':
                echoed += 1
            elif e.get('event') == 'clear':
                out.append((t, 'TWILIO', f'clear received (barge-in) after {e.get("played")} bytes played'))
            elif e.get('event') == 'close':
                out.append((t, 'TWILIO', f'stream closed by voiceproxy (code {e.get("code")}); '
                            f'{echoed} marks echoed as their audio played'))
    return out


def audio_events(d, anchor):
    out = []
    # Mode A: the Twilio side's played track, on its stream clock
    try:
        with open(os.path.join(d, 'agent.ulaw'), 'rb') as f:
            played = f.read()
    except OSError:
        played = None
    if played is not None and os.path.exists(os.path.join(d, 'tw.jsonl')) and anchor is not None:
        frames = [(anchor + i / 8000.0, played[i:i + FRAME]) for i in range(0, len(played), FRAME)]
        for a, b in segments(frames):
            out.append((a, 'TWILIO', f'the caller hears the agent ({b - a:.1f} s of audio)'))
    # what the caller heard: rtp_peer's record (kernel receive time, CLOCK_REALTIME)
    rec = read(os.path.join(d, 'caller.rec'))
    try:
        with open(os.path.join(d, 'caller.rx.ulaw'), 'rb') as f:
            pl = f.read()
    except OSError:
        pl = None
    if rec and pl is not None:
        frames, pos = [], 0
        for ln in rec.splitlines():
            f = ln.split()
            if len(f) < 6:
                continue
            n = int(f[5])
            frames.append((int(f[0]) / 1e9, pl[pos:pos + n]))
            pos += n
        for a, b in segments(frames):
            out.append((a, 'RTP', f'the caller hears the agent ({b - a:.1f} s of audio)'))
    # what the model heard: the appends' audio, at the fake's receive time
    txt = read(os.path.join(d, 'rt.jsonl'))
    if txt and anchor is not None:
        frames = []
        for ln in txt.splitlines():
            if '"input_audio_buffer.append"' not in ln:
                continue
            try:
                j = json.loads(ln)
                au = base64.b64decode(j['event']['audio'])
            except (ValueError, KeyError):
                continue
            t = anchor + j.get('t', 0) / 1000.0
            for k in range(0, len(au), FRAME):
                frames.append((t + k / 8000.0, au[k:k + FRAME]))
        for a, b in segments(frames):
            out.append((a, 'MODEL', f'caller speech reaches the model ({b - a:.1f} s of audio)'))
    return out


def dash_requests(d):
    txt = read(os.path.join(d, 'dash.jsonl'))
    reqs = []
    if not txt:
        return reqs
    for ln in txt.splitlines():
        try:
            reqs.append(json.loads(ln))
        except ValueError:
            pass
    return reqs


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    d, wavs = argv[1], argv[2:]
    ev = []
    ev += sip_events(d)
    vp = log_events(d, 'vp.log', 'PROXY', keep_vp)
    sb = log_events(d, 'sb.log', 'BRIDGE', keep_sb)
    ev += vp + sb
    anchor = None
    for t, _s, msg in vp:
        if msg.startswith('realtime connected'):
            m = re.search(r'in (\d+) ms', msg)
            anchor = t - (int(m.group(1)) / 1000.0 if m else 0)
            break
    ev += model_events(d, anchor)
    accepted = next((t for t, _s, msg in vp if msg.startswith('stream accepted')), None)
    ev += twilio_events(d, accepted)
    ev += audio_events(d, anchor)
    reqs = dash_requests(d)
    for r in reqs:
        what = f'{r.get("method")} {r.get("path")} -> {r.get("status")}'
        if r.get('duplicate'):
            what += ' (duplicate)'
        ev.append((ts(r['at']), 'DASH', f'voiceproxy -> dashboard: {what}'))
    ev.sort(key=lambda e: e[0])
    if not ev:
        print('no events recorded')
        return 1
    t0 = ev[0][0]

    print('Timeline (seconds from the first event; SIP: SIPp\'s trace; BRIDGE, PROXY: the logs;')
    print('MODEL: what the fake Realtime server received; RTP: what the caller received;')
    print('TWILIO: the Twilio side (Mode A); DASH: what the fake dashboard received)')
    for t, src, text in ev:
        print(f'  {t - t0:7.3f}  {src:<6} {text}')

    calls = [r for r in reqs if r.get('path') == '/api/calls' and r.get('method') == 'POST']
    orders = [r for r in reqs if r.get('path') == '/api/orders' and r.get('method') == 'POST']
    log = calls[-1]['body'] if calls and isinstance(calls[-1].get('body'), dict) else None

    print('\nTranscript (the simulated model\'s scripted text, as the call log recorded it)')
    if log and log.get('transcript'):
        for turn in log['transcript']:
            at = turn.get('at')
            rel = f'{ts(at) - t0:7.3f}' if at else '      ?'
            print(f'  {rel}  {turn.get("role", "?"):<6} {turn.get("text", "")}')
    else:
        print('  (no call log with a transcript reached the dashboard)')

    print('\nOrder received by the dashboard (POST /api/orders)')
    if orders:
        o = orders[-1]
        print(f'  Idempotency-Key: {o.get("idempotencyKey")}')
        for ln in json.dumps(o.get('body'), indent=2, ensure_ascii=False).splitlines():
            print('  ' + ln)
        print('  dashboard answered ' + json.dumps(o.get('response'), ensure_ascii=False))
    else:
        print('  (none)')

    print('\nCall log received by the dashboard (POST /api/calls)')
    if log:
        print('  {')
        keys = [k for k in log if k != 'transcript']
        for i, k in enumerate(keys):
            v = log[k]
            comma = ',' if i < len(keys) - 1 else ''
            if isinstance(v, list) and v:
                print(f'    "{k}": [')
                for j, x in enumerate(v):
                    print('      ' + json.dumps(x, ensure_ascii=False) + (',' if j < len(v) - 1 else ''))
                print('    ]' + comma)
            else:
                print(f'    "{k}": {json.dumps(v, ensure_ascii=False)}{comma}')
        print('  }')
        print(f'  (transcript: {len(log.get("transcript") or [])} turns, printed above)')
    else:
        print('  (none)')

    rtp = read(os.path.join(d, 'caller.out'))
    if rtp:
        print('\nCaller RTP (rtp_peer): ' + rtp.strip())
    if wavs:
        print('\nRecordings')
        for w in wavs:
            print('  ' + w)
    return 0 if (orders and log) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
