#!/usr/bin/env bash
# File descriptor exhaustion (issue 8): sipbridge under `ulimit -n 64` gets
# 30 calls at 10/s, each meant to last 8 s with audio both ways (the stream
# sends a tone, SIPp echoes the RTP back). Some are answered, the rest get a
# clean 503 with "out of file descriptors" logged at most once a second; no
# crash, no busy loop (CPU measured while exhausted); every answered call
# carries audio until its BYE; once they are over a new call succeeds; exit 0.
. "$(dirname "$0")/../sipp/lib.sh"
need sipp
start_stream_server --tone 440:12000 --pace 20 --expect-chunk 0
SB_NOFILE=64 start_bridge
grep -q 'file descriptor limit 64 is below' "$T/sb.log" || fail "no warning about the low descriptor limit"
sipp_run many uac_pcmu_hold.xml -m 30 -l 30 -r 10 -d 8000 -rtp_echo &
MANY=$!; PIDS+=("$MANY")
wait_for "$T/sb.log" 'out of file descriptors' 10 || fail "descriptors never ran out"
# CPU of the bridge over 2 s while exhausted (clock ticks, 100 per s and core).
hz=$(getconf CLK_TCK)
t0=$(awk '{print $14 + $15}' "/proc/$SB_PID/stat")
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$SB_PID/stat")
cpu=$(( (t1 - t0) * 100 / (2 * hz) ))
echo "cpu while exhausted: ${cpu}% of a core"
[ "$cpu" -lt 50 ] || fail "bridge busy while out of descriptors: ${cpu}% of a core"
wait "$MANY"  # fails by design: the refused calls count as failed for SIPp
kill -0 "$SB_PID" 2>/dev/null || fail "sipbridge died"
ok=$(grep -c 'stream open -> 200 OK' "$T/sb.log")
refused=$(sed -n 's/^  Failed call *| *[0-9]* *| *\([0-9]*\).*/\1/p' "$T/many.screen" | tail -n 1)
succ=$(sed -n 's/^  Successful call *| *[0-9]* *| *\([0-9]*\).*/\1/p' "$T/many.screen" | tail -n 1)
echo "answered $ok, SIPp successful $succ, failed $refused"
[ "$ok" -ge 5 ] || fail "only $ok calls answered under 64 descriptors"
[ "${succ:-0}" = "$ok" ] || fail "answered calls did not all complete: $succ of $ok"
[ "$((ok + ${refused:-0}))" = 30 ] || fail "calls unaccounted for: $ok answered + ${refused:-0} refused != 30"
n503=$(grep -c 'SIP/2.0 503 Service Unavailable' "$T/many.msg")
[ "$n503" -ge "${refused:-1}" ] || fail "refused calls did not get 503 ($n503 seen)"
nlog=$(grep -c 'out of file descriptors' "$T/sb.log")
[ "$nlog" -le 5 ] || fail "$nlog log lines for the refusals (want at most one per second)"
# Descriptors are back: a new call succeeds.
sipp_run after uac_pcmu_hold3s.xml || fail "no call possible once the others ended: $(tail -n 3 "$T/after.out")"
stop_bridge
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
grep -q 'no_fd=[1-9]' "$T/sb.log" || fail "refusals not counted: $(grep 'sip: stopped' "$T/sb.log")"
stop_stream_server
streams=$(grep -c '^stream [0-9]*:' "$T/ss.out")
[ "$streams" = "$((ok + 1))" ] || fail "streams: $streams, want $((ok + 1))"
# Every answered call had audio both ways until its BYE: >= 6 s of the
# echoed tone (the last stream is the 3 s call without echo).
bad=$(awk -v last="$streams" '/^stream [0-9]+:/ { split($0, a, "bytes="); split(a[2], b, " ");
	if ($0 !~ /stop=yes violations=0/ || ($2 + 0 != last && b[1] + 0 < 48000)) print }' "$T/ss.out")
[ -z "$bad" ] || fail "streams without audio until the end: $bad"
echo ok
