#!/usr/bin/env bash
# 20 concurrent calls (sipp -l 20 -m 20), each offering PCMA and playing 3 s
# of g711a.pcap. Every call must succeed, the stream server must see 20
# clean streams (no protocol violation), each carrying at least 2 s of the
# pcap's audio byte-exact, and the bridge must end with 0 live calls.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
start_stream_server
start_bridge
SIPP_TIMEOUT=60 sipp_run load uac_pcma_3s.xml -m 20 -l 20 -r 50 || fail "not every call succeeded: $(grep -E 'Successful|Failed' "$T/load.screen" | tail -n 2)"
i=0; while [ "$(grep -c 'media ended' "$T/sb.log")" -lt 20 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ "$(grep -c 'stream open -> 200 OK' "$T/sb.log")" = 20 ] || fail "not 20 answered calls"
[ "$(grep -c 'media ended' "$T/sb.log")" = 20 ] || fail "not 20 ended media"
grep -q 'call freed (0 live)' "$T/sb.log" || fail "calls left over"
stop_bridge
stop_stream_server
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
grep -q 'total: streams=20 violations=0' "$T/ss.out" || fail "stream: $(tail -n 3 "$T/ss.out")"
python3 "$PYHELP" pcap-audio /usr/share/sip-tester/g711a.pcap 8 "$T/expect.ulaw" --ulaw >/dev/null
head -c 16000 "$T/expect.ulaw" >"$T/expect2s.ulaw"
for n in $(seq 1 20); do
	python3 "$PYHELP" events "$T/ev.jsonl" "$n" --min-media 100 >/dev/null || fail "stream $n events"
	python3 "$PYHELP" contains "$T/in_$n.ulaw" "$T/expect2s.ulaw" 1.0 >/dev/null || fail "stream $n audio differs"
done
echo ok
