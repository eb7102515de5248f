#!/usr/bin/env bash
# A call from baresip (a real UA, Debian's baresip-core) with audio both ways:
# baresip sends a 440 Hz tone (aufile) that must reach the stream as mu-law
# 440 Hz; the stream server sends a 1000 Hz tone that the bridge must play
# out as RTP, and baresip's decoded audio (sndfile dump) must contain 3 s of
# it. baresip hangs up after 6 s; the stream ends with stop.
. "$(dirname "$0")/../sipp/lib.sh"
need baresip
[ -f /usr/lib/baresip/modules/aufile.so ] && [ -f /usr/lib/baresip/modules/sndfile.so ] ||
	skip "skipped: baresip aufile/sndfile modules missing"
start_stream_server --tone 1000:3000
start_bridge
python3 -c '
import wave, math, struct, sys
w = wave.open(sys.argv[1], "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(8000 * 6)))
w.close()' "$T/tone440.wav"
mkdir -p "$T/bs" "$T/dump"
# baresip also binds TCP on BP and TLS on BP+1: both must be free.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	BP=$(free_port)
	python3 -c 'import socket,sys
for t in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, t); s.bind(("127.0.0.1", int(sys.argv[1]) + 1)); s.close()' "$BP" 2>/dev/null && break
done
rtp=$(rtp_range 100)
cat >"$T/bs/config" <<CFG
poll_method		epoll
sip_listen		127.0.0.1:$BP
net_interface		127.0.0.1
audio_player		aubridge,nowhere
audio_source		aufile,$T/tone440.wav
audio_alert		aubridge,nowhere
audio_srate		8000
audio_channels		1
rtp_ports		$rtp
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			aubridge.so
module			sndfile.so
module_app		account.so
module_app		menu.so
snd_path		$T/dump
CFG
echo "<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU" >"$T/bs/accounts"
timeout -k 5 30 baresip -f "$T/bs" -e "/dial sip:restaurant@127.0.0.1:$SIP_PORT" -t 7 >"$T/baresip.sipp.log" 2>&1 ||
	fail "baresip failed"
grep -q 'Call established' "$T/baresip.sipp.log" || fail "baresip: call not established"
wait_for "$T/sb.log" 'media ended' 10 || fail "media did not end after baresip's BYE"
stop_bridge
stop_stream_server
[ "$SB_RC" = 0 ] || fail "sipbridge exit status $SB_RC"
grep -q 'total: streams=1 violations=0' "$T/ss.out" || fail "stream: $(cat "$T/ss.out")"
python3 "$PYHELP" events "$T/ev.jsonl" 1 to=restaurant from=caller --min-media 200 || fail "stream events"
python3 "$PYHELP" tone "$T/in_1.ulaw" 440 4 || fail "caller's 440 Hz tone not in the stream"
dec=$(ls "$T"/dump/*-dec.wav 2>/dev/null | head -n 1)
[ -n "$dec" ] || fail "baresip recorded nothing"
python3 "$PYHELP" tone "$dec" 1000 2.5 || fail "the stream's 1000 Hz tone did not reach baresip"
echo ok
