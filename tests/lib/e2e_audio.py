#!/usr/bin/python3
"""Audio helpers for tests/demo.sh and tests/integration/e2e_*.sh.
Debian's python3, stdlib only. G.711 µ-law at 8 kHz, 20 ms frames (160 bytes).

  e2e_audio.py build OUT ITEM...      concatenate µ-law: ITEM is a file path,
                                      sil:MS or tone:HZ:MS
  e2e_audio.py tone FILE HZ MIN_MS [--from-ms A] [--to-ms B]
                                      exit 0 when HZ is the dominant sound of
                                      at least MIN_MS ms (20 ms blocks,
                                      Goertzel); prints the blocks found
  e2e_audio.py notone FILE HZ [--from-ms A] [--to-ms B]
                                      exit 0 when HZ is never dominant
  e2e_audio.py profile FILE HZ...     one character per 20 ms block:
                                      '.' quiet, digit = index of the tone
                                      found, '?' other sound (debugging)
  e2e_audio.py bargein REC PAYLOADS CLEAR_LOG HZ
                                      Mode B barge-in: REC is rtp_peer's
                                      --record (t_ns: CLOCK_REALTIME), PAYLOADS its
                                      --record-payload, CLEAR_LOG the
                                      sipbridge log line of the clear (wall
                                      clock, ms). Asserts HZ was heard right
                                      before the clear and at most one frame
                                      of it (or anything loud) after it.
  e2e_audio.py duration FILE          seconds of µ-law in FILE
  e2e_audio.py loud FILE              ms of sound (not silence) in FILE
  e2e_audio.py twplay RX EVENTS OUT   rebuild what a Twilio-side client
                                      (twilio_client --rx-audio RX --events
                                      EVENTS) played, on the stream's clock:
                                      each chunk queued when its mark arrived,
                                      played at 8000 bytes/s, dropped by clear
"""
import math
import struct
import sys
import time
from datetime import datetime, timezone

FRAME = 160
RATE = 8000


def ulaw_decode_table():
    t = []
    for u in range(256):
        u = ~u & 0xFF
        sign = u & 0x80
        exp = (u >> 4) & 7
        man = u & 0x0F
        mag = ((man << 3) + 0x84) << exp
        mag -= 0x84
        t.append(-mag if sign else mag)
    return t


DEC = ulaw_decode_table()


def ulaw_encode(x):
    # G.711 µ-law, as in the reference implementation
    BIAS, CLIP = 0x84, 32635
    sign = 0x80 if x < 0 else 0
    if x < 0:
        x = -x
    x = min(x, CLIP) + BIAS
    exp = 7
    mask = 0x4000
    while exp > 0 and not (x & mask):
        exp -= 1
        mask >>= 1
    man = (x >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | man) & 0xFF


def tone_bytes(hz, ms, amp=8000):
    n = ms * RATE // 1000
    return bytes(ulaw_encode(int(amp * math.sin(2 * math.pi * hz * i / RATE))) for i in range(n))


def goertzel_ratio(samples, hz):
    """Fraction of the block's energy at hz (about 1.0 for a pure tone)."""
    n = len(samples)
    w = 2 * math.pi * hz / RATE
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    energy = 0.0
    for x in samples:
        s0 = x + c * s1 - s2
        s2, s1 = s1, s0
        energy += x * x
    if energy <= 0:
        return 0.0, 0.0
    power = s1 * s1 + s2 * s2 - c * s1 * s2
    return power / (energy * n / 2), math.sqrt(energy / n)


QUIET_RMS = 150.0     # below: silence (µ-law 0xFF decodes to 0)
DOMINANT = 0.5        # share of the energy at the tone's frequency


def blocks(data):
    for off in range(0, len(data) - FRAME + 1, FRAME):
        yield off // FRAME, [DEC[b] for b in data[off:off + FRAME]]


def classify(samples, freqs):
    best, best_r, rms = None, 0.0, 0.0
    for i, hz in enumerate(freqs):
        r, rms = goertzel_ratio(samples, hz)
        if r > best_r:
            best, best_r = i, r
    if rms < QUIET_RMS:
        return '.'
    if best_r >= DOMINANT:
        return str(best)
    return '?'


def window(data, args):
    a = b = None
    if '--from-ms' in args:
        a = int(args[args.index('--from-ms') + 1])
    if '--to-ms' in args:
        b = int(args[args.index('--to-ms') + 1])
    lo = (a or 0) * 8 // FRAME * FRAME
    hi = len(data) if b is None else min(len(data), b * 8)
    return data[lo:hi], lo // 8


def tone_blocks(data, hz):
    found = []
    for i, s in blocks(data):
        r, rms = goertzel_ratio(s, hz)
        if rms >= QUIET_RMS and r >= DOMINANT:
            found.append(i)
    return found


def cmd_build(out, items):
    buf = bytearray()
    for it in items:
        if it.startswith('sil:'):
            buf += b'\xff' * (int(it[4:]) * 8)
        elif it.startswith('tone:'):
            _, hz, ms = it.split(':')
            buf += tone_bytes(float(hz), int(ms))
        else:
            with open(it, 'rb') as f:
                buf += f.read()
    with open(out, 'wb') as f:
        f.write(buf)
    return 0


def cmd_tone(path, hz, min_ms, args):
    data, base = window(open(path, 'rb').read(), args)
    found = tone_blocks(data, float(hz))
    ms = len(found) * 20
    first = base + found[0] * 20 if found else -1
    last = base + found[-1] * 20 + 20 if found else -1
    print(f"{path}: {hz} Hz in {ms} ms of {len(data) // 8} ms (from {first} ms to {last} ms)")
    return 0 if ms >= int(min_ms) else 1


def cmd_notone(path, hz, args):
    data, base = window(open(path, 'rb').read(), args)
    found = tone_blocks(data, float(hz))
    print(f"{path}: {hz} Hz in {len(found) * 20} ms of {len(data) // 8} ms")
    return 0 if not found else 1


def cmd_profile(path, freqs):
    data = open(path, 'rb').read()
    fs = [float(f) for f in freqs]
    line = ''.join(classify(s, fs) for _, s in blocks(data))
    for i in range(0, len(line), 100):
        print(f"{i * 20 // 1000:4d}s {line[i:i + 100]}")
    return 0


def log_time(line):
    """Wall-clock seconds of a log line '2026-11-22T00:05:37.819Z ...'."""
    stamp = line.split()[0].rstrip('Z')
    dt = datetime.strptime(stamp, '%Y-%m-%dT%H:%M:%S.%f').replace(tzinfo=timezone.utc)
    return dt.timestamp()


def cmd_bargein(rec, payloads, clear_line, hz):
    # rtp_peer's t_ns is CLOCK_REALTIME (kernel receive time); older builds
    # wrote CLOCK_MONOTONIC: then convert, measured now (same machine)
    off = time.time() - time.clock_gettime(time.CLOCK_MONOTONIC)
    tc = log_time(clear_line)
    pl = open(payloads, 'rb').read()
    pkts = []
    pos = 0
    for ln in open(rec):
        f = ln.split()
        t = int(f[0]) / 1e9
        if abs(t - tc) > 86400:
            t += off
        n = int(f[5])
        pkts.append((t, pl[pos:pos + n]))
        pos += n
    if not pkts:
        print("bargein: no RTP received")
        return 1
    hzf = float(hz)
    before = [p for t, p in pkts if tc - 0.2 <= t < tc]
    after = [(t, p) for t, p in pkts if t >= tc]
    heard_before = sum(1 for p in before if len(p) == FRAME and tone_blocks(p, hzf))
    loud_after = []
    for t, p in after:
        s = [DEC[b] for b in p]
        rms = math.sqrt(sum(x * x for x in s) / max(1, len(s)))
        if rms >= QUIET_RMS:
            loud_after.append((t - tc) * 1000)
        else:
            break
    print(f"bargein: clear at {tc:.3f}; {heard_before}/{len(before)} frames of {hz} Hz in the 200 ms "
          f"before it; {len(loud_after)} loud frame(s) after it "
          f"({', '.join(f'+{d:.1f} ms' for d in loud_after)}); then silent frames: "
          f"{len(after) - len(loud_after)}")
    if heard_before < 5:
        print("bargein: the agent's audio was not playing when the clear came")
        return 1
    if len(loud_after) > 1:
        print("bargein: agent audio kept playing for more than one frame after the clear")
        return 1
    quiet_run = after[len(loud_after):len(loud_after) + 10]
    if len(quiet_run) < 10:
        print("bargein: fewer than 10 frames received after the clear")
        return 1
    return 0


def cmd_duration(path):
    import os
    print(f"{os.path.getsize(path) / 8000:.2f}")
    return 0


def cmd_loud(path):
    data = open(path, 'rb').read()
    n = 0
    for _, s in blocks(data):
        if math.sqrt(sum(x * x for x in s) / FRAME) >= QUIET_RMS:
            n += 1
    print(f"{n * 20} ms of sound in {len(data) // 8} ms")
    return 0


def cmd_twplay(rx_path, ev_path, out):
    import json
    rx = open(rx_path, 'rb').read()
    evs = [json.loads(l) for l in open(ev_path) if l.strip()]
    end_ms = max([e.get('t', 0) for e in evs] + [0])
    track = bytearray(b'\xff' * (end_ms * 8 + 8))
    cursor = 0.0          # ms: when the queued audio ends
    queue = []            # [(start_ms, bytes)] not yet fully played
    prev = 0

    def flush(upto):
        nonlocal queue
        keep = []
        for start, chunk in queue:
            n = len(chunk)
            played = int(max(0.0, min(n, (upto - start) * 8)))
            pos = int(start * 8)
            track[pos:pos + played] = chunk[:played]
            if played < n:
                keep.append((start, chunk))
        queue = keep

    for e in evs:
        t = e.get('t', 0)
        if e.get('dir') == 'rx' and e.get('event') == 'mark' and 'rx' in e:
            chunk = rx[prev:e['rx']]
            prev = e['rx']
            start = max(float(t), cursor)
            queue.append((start, chunk))
            cursor = start + len(chunk) / 8.0
        elif e.get('dir') == 'rx' and e.get('event') == 'clear':
            flush(t)
            for start, chunk in queue:  # dropped: only what played by t stays
                played = int(max(0.0, (t - start) * 8))
                pos = int(start * 8)
                track[pos:pos + played] = chunk[:played]
            queue = []
            cursor = float(t)
    flush(end_ms + 10 ** 7)
    with open(out, 'wb') as f:
        f.write(bytes(track[:end_ms * 8]))
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, a = argv[1], argv[2:]
    if cmd == 'build':
        return cmd_build(a[0], a[1:])
    if cmd == 'tone':
        return cmd_tone(a[0], a[1], a[2], a[3:])
    if cmd == 'notone':
        return cmd_notone(a[0], a[1], a[2:])
    if cmd == 'profile':
        return cmd_profile(a[0], a[1:])
    if cmd == 'bargein':
        return cmd_bargein(a[0], a[1], a[2], a[3])
    if cmd == 'twplay':
        return cmd_twplay(a[0], a[1], a[2])
    if cmd == 'loud':
        return cmd_loud(a[0])
    if cmd == 'duration':
        return cmd_duration(a[0])
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
