#!/usr/bin/env bash
# tests/bench/floor (the loopback floor of docs/performance.md) carries every
# message both ways through its null relay, epoll and io_uring, and reports
# figures; bad arguments get a clear error.
set -eu
check() { # output of one run
	# 50 streams x 50 messages a second x (1 s warm-up + 2 s): all of them
	grep -q 'caller->model sent / received: 7500 / 7500; model->caller: 7500 / 7500' <<<"$1"
	grep -Eq 'relay latency caller->model p50/p99/max: [0-9]+\.[0-9]+ / [0-9]+\.[0-9]+' <<<"$1"
	grep -Eq 'relay CPU s per call-minute: [0-9]+\.[0-9]{4} ' <<<"$1"
	grep -q 'writes that found a full socket buffer: generator 0, relay 0' <<<"$1"
}
out=$("$BUILD/tests/bench/floor" --calls 50 --seconds 2)
echo "$out"
check "$out"
# io_uring may be refused (a container's seccomp, kernel.io_uring_disabled):
# then the relay says so and floor exits 2 instead of waiting
if out=$("$BUILD/tests/bench/floor" --calls 50 --seconds 2 --uring 2>&1); then
	echo "$out"
	grep -q 'null relay (io_uring)' <<<"$out"
	check "$out"
else
	echo "$out"
	grep -q 'floor: io_uring: ' <<<"$out"
	grep -q 'the relay exited (status 4) before it was ready' <<<"$out"
	echo "io_uring refused here: only its refusal was checked"
fi
err=$("$BUILD/tests/bench/floor" --calls 0 2>&1) && { echo "floor accepted --calls 0"; exit 1; }
grep -q -- '--calls 1..4000' <<<"$err"
err=$("$BUILD/tests/bench/floor" --calls 2>&1) && { echo "floor accepted --calls without a value"; exit 1; }
grep -q -- '--calls needs a value' <<<"$err"
