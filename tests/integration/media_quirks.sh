#!/usr/bin/env bash
# media_quirks: caller RTP with every quirk the reorder window and the DTMF
# detector must absorb, through the real media thread (test_media --drive,
# no SIP) to stream_server: sequence wrap, packets swapped, duplicates, an
# SSRC change mid-call, then RFC 4733 digits (three end packets each).
# Asserts: the inbound stream is byte-for-byte the audio sent (4 s of
# random µ-law), exactly one dtmf event per digit in order, and
# stream_server's protocol checks (sequenceNumber/chunk/timestamps) clean.
set -u
BUILD=${BUILD:-build/asan}; ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
SS=$BUILD/tests/fakes/stream_server PEER=$BUILD/tests/fakes/rtp_peer DRIVE=$BUILD/tests/unit/test_media
for b in $SS $PEER $DRIVE; do [ -x "$b" ] || { echo "missing $b" >&2; exit 77; }; done
d=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$d"; }
trap cleanup EXIT

head -c 32000 /dev/urandom >"$d/audio.ulaw"   # 200 packets of 160 bytes
"$SS" --port-file "$d/ws.port" --inbound "$d/in.ulaw" --events "$d/ev.jsonl" --exit-after 1 \
	--timeout 40 >"$d/ss.out" 2>"$d/ss.err" & pids+=($!)
"$PEER" --port-file "$d/peer.port" --to-file "$d/br.port" --file "$d/audio.ulaw" --seq 65490 \
	--reorder-every 9 --dup-every 7 --ssrc-change-at 120 --dtmf '1#9' --duration 7 \
	>"$d/peer.out" 2>"$d/peer.err" & pids+=($!)
for _ in $(seq 200); do [ -s "$d/ws.port" ] && [ -s "$d/peer.port" ] && break; sleep 0.05; done
[ -s "$d/ws.port" ] && [ -s "$d/peer.port" ] || { echo "fakes did not start" >&2; cat "$d"/*.err >&2; exit 1; }
"$DRIVE" --drive "ws://127.0.0.1:$(cat "$d/ws.port")/media-stream" "127.0.0.1:$(cat "$d/peer.port")" \
	6 0 "$d/br.port" 2>"$d/drive.err"; drc=$?
wait "${pids[1]}"; wait "${pids[0]}"; ssrc=$?
fail=0
echo "stream_server: $(tr '\n' ' ' <"$d/ss.out")"
grep 'media ended' "$d/drive.err" | sed 's/.*\] //'
[ $drc -eq 0 ] || { echo "FAIL: driver exit $drc"; tail -n 20 "$d/drive.err"; fail=1; }
[ $ssrc -eq 0 ] || { echo "FAIL: stream_server violations (exit $ssrc)"; grep VIOLATION "$d/ss.err" | head; fail=1; }
grep -q 'dtmf="1#9"' "$d/ss.out" || { echo "FAIL: digits: $(grep -o 'dtmf="[^"]*"' "$d/ss.out")"; fail=1; }
cmp "$d/audio.ulaw" "$d/in.ulaw" || { echo "FAIL: inbound audio differs ($(stat -c %s "$d/in.ulaw") bytes)"; fail=1; }
# the duplicates and the reordering really happened on the wire
grep 'media ended' "$d/drive.err" | grep -Eq 'late [1-9]' || { echo "FAIL: no duplicate seen"; fail=1; }
exit $fail
