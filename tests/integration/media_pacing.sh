#!/usr/bin/env bash
# media_pacing: outbound RTP pacing of the sipbridge media thread over ~20 s,
# without SIP: the real media thread (test_media --drive) streams to
# stream_server, which sends 25 s of tone in one burst of odd-sized media
# events; rtp_peer plays the caller (sends a tone, records what it gets).
# Loose assertions (precise figures belong to the benchmark): no gap over
# 60 ms, mean interval 20 +- 1 ms, continuous sequence and timestamps, one
# marker (the talkspurt start), the stream protocol clean (stream_server's
# checks), every caller packet delivered as one 20 ms media event.
set -u
BUILD=${BUILD:-build/asan}; ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
SS=$BUILD/tests/fakes/stream_server PEER=$BUILD/tests/fakes/rtp_peer DRIVE=$BUILD/tests/unit/test_media
for b in $SS $PEER $DRIVE; do [ -x "$b" ] || { echo "missing $b" >&2; exit 77; }; done
SECS=${MEDIA_PACING_SECS:-20}
d=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$d"; }
trap cleanup EXIT

"$SS" --port-file "$d/ws.port" --tone 440:$(( (SECS + 5) * 1000 )) --chunks 333,1000,7,4800 \
	--events "$d/ev.jsonl" --exit-after 1 --timeout $((SECS + 40)) >"$d/ss.out" 2>"$d/ss.err" & pids+=($!)
"$PEER" --port-file "$d/peer.port" --to-file "$d/br.port" --tone 1000 --count $((SECS * 50 - 50)) \
	--record "$d/rx.txt" --duration $((SECS + 6)) >"$d/peer.out" 2>"$d/peer.err" & pids+=($!)
for _ in $(seq 200); do [ -s "$d/ws.port" ] && [ -s "$d/peer.port" ] && break; sleep 0.05; done
[ -s "$d/ws.port" ] && [ -s "$d/peer.port" ] || { echo "fakes did not start" >&2; cat "$d"/*.err >&2; exit 1; }

"$DRIVE" --drive "ws://127.0.0.1:$(cat "$d/ws.port")/media-stream" "127.0.0.1:$(cat "$d/peer.port")" \
	"$SECS" 0 "$d/br.port" 2>"$d/drive.err"; drc=$?
wait "${pids[1]}"; wait "${pids[0]}"; ssrc=$?
fail=0
echo "stream_server: $(cat "$d/ss.out" | tr '\n' ' ')"
echo "rtp_peer: $(cat "$d/peer.out")"
[ $drc -eq 0 ] || { echo "FAIL: driver exit $drc"; tail -n 20 "$d/drive.err"; fail=1; }
[ $ssrc -eq 0 ] || { echo "FAIL: stream_server reported protocol violations (exit $ssrc)"; tail -n 20 "$d/ss.err"; fail=1; }
read -r rx mean gaps seqj tsj markers p99 mx < <(sed -E 's/.*rx=([0-9]+).*mean_ms=([0-9.]+).*p99_dev_ms=([0-9.]+).*max_dev_ms=([0-9.]+).*gaps_60ms=([0-9]+).*seq_jumps=([0-9]+).*ts_jumps=([0-9]+).*markers=([0-9]+).*/\1 \2 \5 \6 \7 \8 \3 \4/' "$d/peer.out")
awk -v n="$rx" -v s="$SECS" 'BEGIN { exit !(n >= s * 50 * 0.95) }' || { echo "FAIL: only $rx packets in ${SECS}s"; fail=1; }
awk -v m="$mean" 'BEGIN { exit !(m >= 19 && m <= 21) }' || { echo "FAIL: mean interval $mean ms"; fail=1; }
[ "$gaps" = 0 ] || { echo "FAIL: $gaps gaps over 60 ms"; fail=1; }
[ "$seqj" = 0 ] || { echo "FAIL: $seqj sequence jumps"; fail=1; }
[ "$tsj" = 0 ] || { echo "FAIL: $tsj timestamp jumps"; fail=1; }
[ "$markers" = 1 ] || { echo "FAIL: $markers marker bits, want 1 (talkspurt start)"; fail=1; }
# every caller packet became one 160-byte media event
media=$(grep -c '"event":"media"' "$d/ev.jsonl")
want=$((SECS * 50 - 50))
[ "$media" -ge $((want - 2)) ] && [ "$media" -le "$want" ] || { echo "FAIL: $media media events for $want RTP packets"; fail=1; }
echo "pacing: packets=$rx mean=${mean}ms p99_dev=${p99}ms max_dev=${mx}ms media_events=$media"
exit $fail
