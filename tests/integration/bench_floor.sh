#!/usr/bin/env bash
# tests/bench/floor (the loopback floor of docs/performance.md) carries every
# message both ways through its null relay and reports figures.
set -eu
out=$("$BUILD/tests/bench/floor" --calls 50 --seconds 2)
echo "$out"
# 50 streams x 50 messages a second x (1 s warm-up + 2 s): all of them
grep -q 'caller->model sent / received: 7500 / 7500; model->caller: 7500 / 7500' <<<"$out"
grep -Eq 'relay latency caller->model p50/p99/max: [0-9]+\.[0-9]+ / [0-9]+\.[0-9]+' <<<"$out"
grep -Eq 'relay CPU s per call-minute: [0-9]+\.[0-9]{4} ' <<<"$out"
# bad arguments: a clear error, exit 2
err=$("$BUILD/tests/bench/floor" --calls 0 2>&1) && { echo "floor accepted --calls 0"; exit 1; }
grep -q -- '--calls >= 1' <<<"$err"
