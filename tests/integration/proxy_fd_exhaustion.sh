#!/usr/bin/env bash
# File descriptor exhaustion (issue 8): voiceproxy under `ulimit -n 64` gets
# 40 streams at 20/s, each meant to last 10 s with audio both ways (the fake
# Realtime echoes the caller). Some are taken, the rest are refused cleanly
# (HTTP 503 at the upgrade, "out of file descriptors" logged at most once a
# second), none hangs; no busy loop (CPU measured while exhausted); every
# taken stream keeps its audio flowing during and after the exhaustion; once
# they are over a new stream works; SIGTERM exits 0.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

N=40
start_rt --echo
VP_NOFILE=64 start_vp MAX_CALLS=100
[ "$(awk '/^Max open files/ {print $4}' "/proc/$VP_PID/limits")" = 64 ] || fail "descriptor limit not applied"
for _ in $(seq 20); do grep -q 'file descriptor limit 64 is below' "$T/vp.log" && break; sleep 0.1; done
grep -q 'file descriptor limit 64 is below' "$T/vp.log" || fail "no warning about the low descriptor limit"

# rx_sizes: total bytes of caller-side audio received so far by the taken streams
rx_sizes() { cat "$T"/rx.* 2>/dev/null | wc -c; }

twc --streams $N --stagger-ms 50 --tone 440:10000 --duration-ms 10000 \
    --rx-audio "$T/rx" --summary "$T/many.json" >/dev/null 2>"$T/many.err" &
MANY=$!; PIDS+=("$MANY")
wait_refused() { # up to 10 s for the first refusal to be logged
  for _ in $(seq 100); do grep -q 'out of file descriptors' "$T/vp.log" && return 0; sleep 0.1; done
  return 1
}
wait_refused || fail "descriptors never ran out"
sleep 1 # every stream of the burst has been tried by now (40 x 50 ms)
# Exhausted: CPU over 2 s, audio still flowing, a new stream refused promptly.
hz=$(getconf CLK_TCK)
rx0=$(rx_sizes)
t0=$(awk '{print $14 + $15}' "/proc/$VP_PID/stat")
s0=$(date +%s%N)
twc --tone 440:2000 --duration-ms 2000 --summary "$T/probe.json" >/dev/null 2>&1
probe_ms=$(( ($(date +%s%N) - s0) / 1000000 ))
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$VP_PID/stat")
rx1=$(rx_sizes)
cpu=$(( (t1 - t0) * 100 / (2 * hz) ))
echo "cpu while exhausted: ${cpu}% of a core; rx bytes $rx0 -> $rx1; probe answered in ${probe_ms} ms: $(cat "$T/probe.json")"
[ "$cpu" -lt 50 ] || fail "voiceproxy busy while out of descriptors: ${cpu}% of a core"
[ "$((rx1 - rx0))" -ge 8000 ] || fail "live streams' audio stalled while exhausted: $rx0 -> $rx1 bytes"
[ "$(json_get "$T/probe.json" "j['opened'] is False and 'HTTP 503' in j['close_reason']")" = True ] \
  || fail "a stream was not refused with 503 while out of descriptors: $(cat "$T/probe.json")"
[ "$probe_ms" -lt 3000 ] || fail "refusal took ${probe_ms} ms"
sleep 1
rx2=$(rx_sizes)
[ "$((rx2 - rx1))" -ge 4000 ] || fail "live streams' audio stalled after the refusals: $rx1 -> $rx2 bytes"
wait "$MANY" # fails by design: the refused streams count as failed
kill -0 "$VP_PID" 2>/dev/null || fail "voiceproxy died"
python3 - "$T/many.json" $N <<'PY' || fail "stream results"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
assert len(rows) == n, ("streams unaccounted for", len(rows))
taken = [r for r in rows if r["opened"]]
refused = [r for r in rows if not r["opened"]]
print("taken", len(taken), "refused", len(refused))
assert len(taken) >= 5, "too few streams under 64 descriptors"
assert refused, "nothing refused"
for r in taken:  # the whole call, audio both ways until the caller hung up
    assert r["ok"] and not r["server_closed"], ("taken stream cut", r)
    assert r["media_sent"] >= 490 and r["rx_bytes"] >= 0.5 * 80000, ("audio short", r)
for r in refused:  # an HTTP 503 at the upgrade, at once
    assert "HTTP 503" in r["close_reason"] and r["ms"] < 3000, ("not a clean refusal", r)
PY
# refused before anything was opened for them: no stream started without
# its OpenAI connection, no journal write failed
if grep -E 'openai_unreachable|NOT journaled|Too many open files' "$T/vp.log"; then
  fail "a stream was taken without the descriptors it needs"
fi
nlog=$(grep -c 'out of file descriptors' "$T/vp.log")
echo "refusal log lines: $nlog"
[ "$nlog" -ge 1 ] && [ "$nlog" -le 8 ] || fail "$nlog log lines for the refusals (want at most one per second)"
# Descriptors are back: a new stream works.
sleep 0.5
twc --tone 440:2000 --duration-ms 2000 --rx-audio "$T/after.ulaw" --summary "$T/after.json" >/dev/null \
  || fail "no stream possible once the others ended: $(cat "$T/after.json")"
[ "$(stat -c %s "$T/after.ulaw")" -ge 8000 ] || fail "no audio on the stream after recovery"
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit status $VP_RC"
[ "$RT_RC" = 0 ] || fail "contract violations: $(grep VIOLATION "$T/rt.err" | head -3)"
echo "proxy_fd_exhaustion: ok"
