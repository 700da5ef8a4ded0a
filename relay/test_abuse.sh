#!/usr/bin/env bash
# test_abuse.sh: wtcp-relay under abuse, each kind bounded while a well-behaved client
# keeps its throughput: 1,000 slowloris handshakes, fragmented and oversize messages, a
# client flooding above --rate-pps, a client that stops reading, 10,000 idle clients at
# once; then the relay under Valgrind (memcheck) through a session with no errors.
# The well-behaved client is the npm package's wasm stack in Node (tests/interop/peer.mjs
# put) uploading 8 MiB to a kernel TCP sink; its rate during each abuse is compared with
# its rate alone in the same run and must stay above half of it (two cores shared by the
# relay, the abuser and the client: a fair share is about half).
#
# Usage: relay/test_abuse.sh BUILD_DIR   (root; after make relay wasm js-deps)
# Each part runs in a network namespace of its own, removed with everything this script
# started by the EXIT trap. Prints "ok ..."/"FAIL ...: why" and "N passed, N failed".
set -u
build=${1:-build}
build=${build%/}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
case $build in /*) ;; *) build=$root/$build ;; esac
relay=$build/wtcp-relay
abuse=(python3 "$root/relay/test/abuse.py")
peer=(node "$root/tests/interop/peer.mjs")
url=ws://127.0.0.1:8787

passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

missing=()
[ "$(id -u)" -eq 0 ] || missing+=("root")
for f in "$relay" "$root/bindings/js/dist/wtcp.wasm" "$root/bindings/js/node_modules/ws/package.json"; do
    [ -f "$f" ] || missing+=("$f")
done
for c in ip node python3 valgrind; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
if [ ${#missing[@]} -gt 0 ]; then
    bad "prerequisites" "missing ${missing[*]} (make deps relay wasm js-deps)"
    finish
fi
ulimit -n 65536 2>/dev/null || ulimit -n 32768 2>/dev/null || true

tmp=$(mktemp -d /tmp/wtcp-relay-abuse.XXXXXX)
chmod 755 "$tmp"
pids=()
namespaces=()
cleanup() {
    local p ns
    trap '' INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    for ns in "${namespaces[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsn=0
NS=
new_ns() {
    nsn=$((nsn + 1))
    NS="wtcp-abuse-$$-$nsn"
    ip netns add "$NS" || return 1
    namespaces+=("$NS")
    ip -n "$NS" link set lo up
}
wait_for() { # wait_for SECONDS FILE PATTERN
    local end=$((SECONDS + $1))
    until grep -q "$3" "$2" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
RELAY_PID=
start_relay() { # start_relay LOG ARGS...: the relay in $NS
    local log=$1
    shift
    ip netns exec "$NS" "$relay" --listen 127.0.0.1:8787 "$@" 2>"$log" &
    RELAY_PID=$!
    pids+=("$RELAY_PID")
    wait_for 10 "$log" ' start version='
}
rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$2"; }

head -c 8388608 /dev/urandom >"$tmp/data.bin"
# rate: one upload of 8 MiB from a wtcp client to the sink; prints MiB/s (0 on failure).
rate() {
    ip netns exec "$NS" timeout 120 "${peer[@]}" put "$url" 10.77.0.1 9000 "$tmp/data.bin" >"$tmp/put.out" 2>"$tmp/put.err" || { echo 0; return; }
    awk -v ms="$(field ms "$tmp/put.out")" 'BEGIN { printf "%.1f", (ms > 0 ? 8 / (ms / 1000) : 0) }'
}
# with_sink: the kernel sink in $NS.
with_sink() {
    ip netns exec "$NS" "${peer[@]}" linux-sink 0.0.0.0 9000 >"$tmp/sink.out" 2>&1 &
    pids+=($!)
    wait_for 10 "$tmp/sink.out" '^listening'
}
# judge LABEL BASE DURING: the well-behaved client kept at least half its rate.
judge() {
    if awk -v b="$2" -v d="$3" 'BEGIN { exit !(b > 0 && d >= b / 2) }'; then
        ok "$1: a well-behaved client kept $3 MiB/s (alone: $2)"
    else
        bad "$1" "the well-behaved client fell to $3 MiB/s (alone: $2)"
    fi
}

# ================================================================ 1. slowloris, fragments
new_ns
if ! start_relay "$tmp/r1.log" --handshake-timeout 3 --max-clients 2000 --max-message 65535; then
    bad "1 relay" "did not start: $(tail -3 "$tmp/r1.log")"
else
    with_sink
    base=$(rate)
    r0=$(rss "$RELAY_PID") f0=$(fds "$RELAY_PID")
    ip netns exec "$NS" "${abuse[@]}" slowloris 127.0.0.1 8787 1000 8 >"$tmp/slow.out" 2>&1 &
    sp=$!
    pids+=("$sp")
    sleep 1.5
    peak_fds=$(fds "$RELAY_PID") peak_rss=$(rss "$RELAY_PID")
    during=$(rate)
    wait "$sp"
    out=$(cat "$tmp/slow.out")
    f1=$(fds "$RELAY_PID") r1=$(rss "$RELAY_PID")
    [ "$out" = "closed 1000 of 1000" ] && [ "$f1" -le $((f0 + 4)) ] &&
        ok "1 slowloris: 1,000 half-sent handshakes all closed by --handshake-timeout 3 ($peak_fds descriptors at the peak, $f1 after; RSS $((peak_rss / 1048576)) MiB at the peak, $((r1 / 1048576)) MiB after, $((r0 / 1048576)) MiB before)" ||
        bad "1 slowloris" "$out; descriptors $f0 -> $f1"
    judge "1 slowloris" "$base" "$during"
    out=$(ip netns exec "$NS" timeout 30 "${abuse[@]}" fragments "$url" 1000 2>&1)
    [ "$out" = "fragmented ok oversize 1009" ] &&
        ok "1 fragments: a packet in 1,000 continuation frames is reassembled and answered; an 8 MB message in 64 KiB frames closes with 1009 once past --max-message" ||
        bad "1 fragments" "$out"
    r2=$(rss "$RELAY_PID")
    [ "$r2" -le $((r0 + 8388608)) ] && ok "1 fragments: the relay's RSS stays bounded ($((r2 / 1048576)) MiB; the 8 MB message was never held)" ||
        bad "1 fragments: memory" "RSS $r0 -> $r2"
fi
kill -TERM "$RELAY_PID" 2>/dev/null

# ================================================================ 2. a flood, a client that stops reading
new_ns
if ! start_relay "$tmp/r2.log" --rate-pps 2000 --queue 64 --queue-bytes 262144 --metrics 127.0.0.1:9187; then
    bad "2 relay" "did not start: $(tail -3 "$tmp/r2.log")"
else
    with_sink
    base=$(rate)
    ip netns exec "$NS" "${abuse[@]}" flood "$url" 8 >"$tmp/flood.out" 2>&1 &
    fp=$!
    pids+=("$fp")
    sleep 1
    during=$(rate)
    wait "$fp"
    rl=$(ip netns exec "$NS" curl -s -m 5 http://127.0.0.1:9187/metrics | awk '$1 ~ /drops/ && $1 ~ /rate_limit/ && $1 ~ /up/ { s += $2 } END { print s + 0 }')
    sent=$(field sent "$tmp/flood.out")
    [ "${rl:-0}" -gt 0 ] && ok "2 flood: a client sending $sent packets in 8 s is policed at --rate-pps 2000 ($rl dropped, counted as rate_limit)" ||
        bad "2 flood" "sent ${sent:-?}, rate_limit drops ${rl:-?}"
    judge "2 flood (every client is policed at 2000 packets/s, this one too)" "$base" "$during"
    ip netns exec "$NS" "${abuse[@]}" noread "$url" 8 >"$tmp/noread.out" 2>&1 &
    np=$!
    pids+=("$np")
    sleep 1
    during=$(rate)
    wait "$np"
    qf=$(ip netns exec "$NS" curl -s -m 5 http://127.0.0.1:9187/metrics | awk '$1 ~ /drops/ && $1 ~ /queue_full/ { s += $2 } END { print s + 0 }')
    r=$(rss "$RELAY_PID")
    [ "${qf:-0}" -gt 0 ] && [ "$r" -le $((64 * 1048576)) ] &&
        ok "2 noread: a client that never reads: its queue (64 packets, 256 KiB) fills and $qf replies are dropped (queue_full); relay RSS $((r / 1048576)) MiB" ||
        bad "2 noread" "queue_full ${qf:-?}, RSS $r"
    judge "2 noread (policed at 2000 packets/s as well)" "$base" "$during"
fi
kill -TERM "$RELAY_PID" 2>/dev/null

# ================================================================ 3. 10,000 idle clients
# Idle but alive: pings are far apart here (the liveness checks have their own tests in
# relay/test.sh), so what is measured is what 10,000 connected clients cost.
new_ns
if ! start_relay "$tmp/r3.log" --max-clients 10100 --ping-interval 300 --idle-timeout 600; then
    bad "3 relay" "did not start: $(tail -3 "$tmp/r3.log")"
else
    with_sink
    r0=$(rss "$RELAY_PID")
    t0=$SECONDS
    ipids=()
    for i in 1 2 3 4; do
        ip netns exec "$NS" "${abuse[@]}" idle "$url" 2500 15 >"$tmp/idle$i.out" 2>&1 &
        ipids+=($!)
        pids+=($!)
    done
    up=1
    for i in 1 2 3 4; do wait_for 120 "$tmp/idle$i.out" '^open ' || up=0; done
    if [ $up = 1 ]; then
        opened=$((SECONDS - t0))
        r1=$(rss "$RELAY_PID") f1=$(fds "$RELAY_PID")
        during=$(rate)
        for p in "${ipids[@]}"; do wait "$p"; done
        still=$(cat "$tmp"/idle?.out | awk '$1 == "still" { s += $2 } END { print s + 0 }')
        per=$(( (r1 - r0) / 10000 ))
        [ "$still" -eq 10000 ] &&
            ok "3 idle: 10,000 clients at once (open within $opened s, $f1 descriptors), about $per bytes of relay RSS each, all still connected 15 s later" ||
            bad "3 idle" "$still of 10000 still connected: $(cat "$tmp"/idle?.out | tr '\n' ' ')"
        awk -v d="$during" 'BEGIN { exit !(d > 0) }' && ok "3 idle: a new client among them uploads 8 MiB at $during MiB/s" ||
            bad "3 idle: a new client" "rate $during: $(head -c 200 "$tmp/put.err")"
    else
        bad "3 idle" "the clients did not all open: $(tail -q -n 2 "$tmp"/idle?.out | tr '\n' ' ')"
    fi
fi
kill -TERM "$RELAY_PID" 2>/dev/null

# ================================================================ 4. Valgrind
new_ns
ip netns exec "$NS" valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    "$relay" --listen 127.0.0.1:8787 --handshake-timeout 2 --max-message 65535 2>"$tmp/vg.log" &
vg=$!
pids+=("$vg")
if ! wait_for 60 "$tmp/vg.log" ' start version='; then
    bad "4 valgrind" "the relay did not start under valgrind: $(tail -3 "$tmp/vg.log")"
else
    with_sink
    during=$(rate)
    ip netns exec "$NS" timeout 60 "${abuse[@]}" slowloris 127.0.0.1 8787 20 4 >/dev/null 2>&1
    ip netns exec "$NS" timeout 60 "${abuse[@]}" fragments "$url" 100 >"$tmp/vgfrag.out" 2>&1
    ip netns exec "$NS" timeout 60 python3 "$root/relay/test/wsclient.py" abuse "$url" >/dev/null 2>&1
    kill -TERM "$vg"
    wait "$vg"
    st=$?
    errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$tmp/vg.log" | tail -1)
    [ "$st" -eq 0 ] && [ "${errs:-1}" -eq 0 ] &&
        ok "4 valgrind: memcheck through a session (an 8 MiB upload at $during MiB/s, slowloris, fragments, forged and malformed packets): 0 errors, no definite leak, exit 0" ||
        bad "4 valgrind" "exit $st, ${errs:-?} errors: $(grep -m3 -E 'Invalid|uninitialised|definitely' "$tmp/vg.log" | tr '\n' ' ')"
fi
finish
