#!/usr/bin/env bash
# SIP scanners (issue 8): sipvicious' svmap and svwar, the tools behind most
# internet SIP scans, run against a real sipbridge on a loopback port.
#  1. Open policy, with a trunk account (SIP_USERNAME=1000): svmap finds the
#     bridge; svwar (INVITE, REGISTER, OPTIONS) over extensions 990-1010
#     cannot tell the account from any other number (every extension gets
#     the same answer, or svwar finds nothing).
#     svmap sees User-Agent "VoixIA" and no version.
#     A flood of 150 INVITEs from that one source is mostly refused by
#     MAX_INVITE_RATE (counted as rate_limited).
#  2. ALLOWED_SOURCES excluding 127.0.0.1: svwar INVITE (--force) cannot
#     tell extensions apart; it and a burst of 60 INVITEs are each refused
#     403 and counted, and none reaches the media side (no stream, no
#     OpenAI session).
# Each time the bridge survives, still answers OPTIONS 200, logs no
# sanitizer error, and exits 0 on SIGTERM.
source "$(dirname "$0")/../lib/e2e_lib.sh"
# Own temp dir name (e2e_lib's cleanup removes whatever $T names at exit).
rm -rf "$T"; T=$(mktemp -d /tmp/voixia-sec.XXXXXX); : >"$T/empty.env"
e2e_need svmap
e2e_need svwar
e2e_need_bin sipbridge
export HOME=$T   # sipvicious keeps its session files under ~/.sipvicious

ACCOUNT=1000

# sip_options PORT -> prints the status line of the answer (5 s bound)
sip_options() {
	python3 - "$1" <<'PY'
import random, socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(5)
lp = s.getsockname()[1]; tag = random.randint(1, 1 << 30)
msg = (f"OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0\r\n"
       f"Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK{tag};rport\r\n"
       f"Max-Forwards: 70\r\nTo: <sip:probe@127.0.0.1:{port}>\r\n"
       f"From: <sip:check@127.0.0.1:{lp}>;tag={tag}\r\nCall-ID: opt{tag}@127.0.0.1\r\n"
       f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
s.sendto(msg.encode(), ("127.0.0.1", port))
try:
    while True:
        d = s.recv(65535).decode(errors="replace").split("\r\n")[0]
        if not d.startswith("SIP/2.0 1"):
            print(d); break
except socket.timeout:
    print("timeout")
PY
}

# start_sb NAME [args...] -> SB_PORT, SB_PID
start_sb() {
	local name=$1; shift
	SB_PORT=$(e2e_free_port)
	# WS_URL: a closed loopback port, so no scan INVITE reaches a stream.
	ENV_FILE=$T/empty.env e2e_spawn "$name" "$BUILD/sipbridge" --bind 127.0.0.1 --sip-port "$SB_PORT" \
		--rtp-ports "$(e2e_rtp_range)" --ws-url "ws://127.0.0.1:$(e2e_free_port)/media-stream" \
		--log-level debug "$@"
	SB_PID=$E2E_PID
	local i=0
	until [ "$(sip_options "$SB_PORT")" = "SIP/2.0 200 OK" ]; do
		i=$((i + 1)); [ $i -lt 20 ] || e2e_fail "$name: sipbridge does not answer OPTIONS"
		kill -0 "$SB_PID" 2>/dev/null || e2e_fail "$name: sipbridge exited at start"
		sleep 0.3
	done
}

# check_alive NAME: still running, still answering, no sanitizer report
check_alive() {
	kill -0 "$SB_PID" 2>/dev/null || e2e_fail "$1: sipbridge died during the scan"
	local st; st=$(sip_options "$SB_PORT")
	[ "$st" = "SIP/2.0 200 OK" ] || e2e_fail "$1: OPTIONS after the scan answered '$st'"
	! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$T/$1.log" || e2e_fail "$1: sanitizer report"
}

# svwar_run NAME METHOD -> $T/NAME.svwar; fails on a crash of svwar itself
svwar_run() {
	# A fresh local port per scan: late answers to the previous scan (the
	# bridge retransmits final answers whose ACK svwar gets wrong) must not
	# be taken for answers to this one.
	timeout 120 svwar --force -b 127.0.0.1 -P "$(e2e_free_port)" -p"$SB_PORT" -e990-1010 -m "$2" 127.0.0.1 >"$T/$1.svwar" 2>&1
	local rc=$?
	[ $rc -ne 124 ] || e2e_fail "svwar $2 did not finish in 120 s"
	grep -q 'Traceback' "$T/$1.svwar" && e2e_fail "svwar $2 crashed: $(tail -n 3 "$T/$1.svwar")"
	return 0
}

# Extensions svwar reports, "ext status" per line.
svwar_found() { awk -F'|' '/^\| *[0-9]+ *\|/ { gsub(/ /, "", $2); gsub(/^ +| +$/, "", $3); print $2, $3 }' "$1"; }

# no_account_revealed FILE METHOD: nothing found, or every extension of the
# range reported alike (svwar may also list its own random probe number).
no_account_revealed() {
	local found n statuses
	found=$(svwar_found "$1")
	[ -z "$found" ] && return 0
	n=$(printf '%s\n' "$found" | awk '$1 >= 990 && $1 <= 1010' | grep -c .)
	statuses=$(printf '%s\n' "$found" | awk '{ $1 = ""; print }' | sort -u | wc -l)
	[ "$n" -eq 21 ] && [ "$statuses" -eq 1 ] ||
		e2e_fail "svwar $2 tells extensions apart ($n of 21 reported, $statuses kinds): $(echo $found)"
	echo "svwar $2: all 21 extensions answered alike ($(printf '%s\n' "$found" | head -n1 | cut -d' ' -f2-)); no account singled out"
}

# burst.py PORT N WANT: N INVITEs from one source as fast as possible; every
# final answer must start with WANT ("403", or "any").
cat >"$T/burst.py" <<'PY'
import random, socket, sys
port, n, want = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(5)
lp = s.getsockname()[1]
sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
for i in range(n):
    tag = random.randint(1, 1 << 30)
    msg = (f"INVITE sip:{1000 + i}@127.0.0.1:{port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK{tag};rport\r\nMax-Forwards: 70\r\n"
           f"To: <sip:{1000 + i}@127.0.0.1>\r\nFrom: <sip:scan@127.0.0.1>;tag={tag}\r\n"
           f"Call-ID: burst{tag}\r\nCSeq: 1 INVITE\r\nContact: <sip:scan@127.0.0.1:{lp}>\r\n"
           f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}")
    s.sendto(msg.encode(), ("127.0.0.1", port))
got, seen = 0, set()
try:
    while got < n:
        d = s.recv(65535).decode(errors="replace")
        line = d.split("\r\n")[0]
        cid = next((l for l in d.split("\r\n") if l.lower().startswith("call-id")), "")
        if line.startswith("SIP/2.0 1") or cid in seen:
            continue
        if want != "any" and not line.startswith("SIP/2.0 " + want):
            sys.exit("INVITE answered: " + line)
        seen.add(cid); got += 1
except socket.timeout:
    sys.exit(f"only {got} of {n} INVITEs answered within 5 s")
PY

# ---- 1. open policy, with an account --------------------------------------
# The registrar is a silent loopback port: REGISTER fails, the account
# is still configured (what svwar hunts for).
start_sb open --sip-username "$ACCOUNT" --sip-password "svwar-secret-pw" \
	--sip-domain "127.0.0.1:$(e2e_free_port)"
timeout 60 svmap -b 127.0.0.1 -P "$(e2e_free_port)" -p"$SB_PORT" 127.0.0.1 >"$T/svmap.out" 2>&1
grep -q "127.0.0.1:$SB_PORT" "$T/svmap.out" || e2e_fail "svmap did not see the bridge: $(tail -n 5 "$T/svmap.out")"
! grep -q 'svwar-secret-pw' "$T/svmap.out" || e2e_fail "svmap output holds the password"
# what svmap fingerprints: the User-Agent, without a version
grep -q 'VoixIA' "$T/svmap.out" || e2e_fail "svmap does not show User-Agent VoixIA: $(tail -n 5 "$T/svmap.out")"
! grep -Eqi 'sipbridge [0-9]|sofia-sip|0\.1\.0' "$T/svmap.out" ||
	e2e_fail "svmap shows a version: $(grep -Ei 'sipbridge|sofia|0\.1\.0' "$T/svmap.out")"
check_alive open
for m in INVITE REGISTER OPTIONS; do
	svwar_run "open-$m" "$m"
	no_account_revealed "$T/open-$m.svwar" "$m"
	check_alive open
done
# A flood from one (allowed) source: beyond MAX_INVITE_RATE (default 30/s,
# burst 60) INVITEs are refused before any media work.
python3 "$T/burst.py" "$SB_PORT" 150 any || e2e_fail "INVITE flood: $(tail -n 3 "$T/open.log")"
check_alive open
! grep -q 'svwar-secret-pw' "$T/open.log" "$T/open.out" || e2e_fail "the SIP password reached the log"
e2e_stop "$SB_PID" TERM 15
[ "$E2E_RC" -eq 0 ] || e2e_fail "sipbridge exit status $E2E_RC after SIGTERM (want 0)"
nrl=$(grep -oE 'rate_limited=[0-9]+' "$T/open.log" | tail -n1 | cut -d= -f2)
[ "${nrl:-0}" -ge 50 ] || e2e_fail "a 150-INVITE flood from one source: only ${nrl:-0} rate-limited (want >= 50)"

# ---- 2. ALLOWED_SOURCES without loopback ------------------------------------
start_sb acl --allowed-sources 192.0.2.0/24
svwar_run acl-INVITE INVITE
no_account_revealed "$T/acl-INVITE.svwar" INVITE
# svwar stops at its first 403 (it takes it for an auth challenge), so a
# burst of 60 INVITEs from the same forbidden source follows it.
python3 "$T/burst.py" "$SB_PORT" 60 403 || e2e_fail "INVITE burst: $(tail -n 3 "$T/acl.log")"
! grep -q 'media for SIP call' "$T/acl.log" || e2e_fail "a forbidden INVITE reached the media side"
check_alive acl
e2e_stop "$SB_PID" TERM 15
[ "$E2E_RC" -eq 0 ] || e2e_fail "sipbridge exit status $E2E_RC after SIGTERM (want 0)"
# Refusals are counted (log lines about them may be rate-limited): the
# exit statistics say how many INVITEs were forbidden.
n403=$(grep -oE 'forbidden=[0-9]+' "$T/acl.log" | tail -n1 | cut -d= -f2)
[ "${n403:-0}" -ge 61 ] || e2e_fail "only ${n403:-0} INVITEs counted as forbidden (want >= 61)"
echo "sec_sipvicious: bridge survived svmap + svwar (INVITE/REGISTER/OPTIONS), no account revealed, $nrl flood INVITEs rate-limited, $n403 forbidden INVITEs refused"
