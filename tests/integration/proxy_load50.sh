#!/usr/bin/env bash
# 50 concurrent streams through one voiceproxy, the fake in echo mode
# (each caller hears their own audio back through the model path): every
# stream opens, carries audio both ways, keeps the contract, and ends;
# live calls return to 0.
source "$(dirname "$0")/../lib/twc_proxyenv.sh"

N=50
start_rt --echo
start_vp
twc --streams $N --tone 440:3000 --duration-ms 3000 --summary "$T/load.json" >/dev/null \
  || fail "some streams failed: $(grep '"ok":false' "$T/load.json" | head -3)"
sleep 0.5
health > "$T/health.json"
stop_vp; stop_rt
[ "$VP_RC" = 0 ] || fail "voiceproxy exit $VP_RC"
[ "$RT_RC" = 0 ] || fail "contract violations: $(grep VIOLATION "$T/rt.err" | head -3)"
python3 - "$T/load.json" "$T/rtsum.json" "$T/health.json" $N <<'PY' || fail "load results"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s = json.load(open(sys.argv[2])); h = json.load(open(sys.argv[3])); n = int(sys.argv[4])
assert len(rows) == n and all(r["ok"] and r["opened"] for r in rows), "not all streams ok"
assert s["connections"] == n and s["session_updates"] == n, s
assert s["audio_bytes"] == n * 150 * 160, ("caller audio lost", s["audio_bytes"])
for r in rows:   # echoes of the last frames may still be in flight at stop
    assert r["rx_bytes"] >= 0.5 * r["media_sent"] * 160, ("echo short", r)  # slack for loaded sanitizer runs
    # marks of audio still queued when the caller hung up are never echoed
    assert 0 <= r["marks_rx"] - r["marks_echoed"] <= 25, ("marks", r)
assert h["live_calls"] == 0 and h["calls_total"] == n, h
print("50 streams ok; echo bytes min", min(r["rx_bytes"] for r in rows))
PY
python3 "$ROOT/tests/lib/check_realtime_schema.py" "$T/rec.jsonl" >/dev/null || fail "schema validation"
echo "proxy_load50: ok"
