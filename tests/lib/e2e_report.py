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
import json
import os
import re
import sys
from datetime import datetime, timezone

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

    print('Timeline (seconds from the INVITE; SIP from SIPp, BRIDGE/PROXY from the logs,')
    print('MODEL from what the fake Realtime server received, DASH from the fake dashboard)')
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
