#!/usr/bin/env bash
# relay-lossy.sh: goodput through wtcp-relay on a lossy path, wtcp sending and Linux sending
# side by side, as tests/interop/test.sh test 3 does: the npm package's wasm stack in Node
# (tests/interop/peer.mjs) is one end, Node's kernel-TCP servers the other.
#   wtcp sending   peer.mjs put: a raw wtcp connection uploads FILE to a kernel TCP sink
#   Linux sending  peer.mjs get: Node's http client over wtcp downloads FILE from a Node
#                  http server on kernel TCP (Linux's TCP is the sender)
# Paths: relay --loss 5 --reorder 5 (the relay's fault options), and nftables 3 % random
# loss each way on the TUN device (the relay itself faultless).
# Usage: bench/relay-lossy.sh [BUILD_DIR=build]   (root; after make relay wasm js-deps)
# Environment: BENCH_BYTES (default 32 MiB), BENCH_RUNS (default 5), BENCH_TIMEOUT (seconds
# per transfer, default 300). Runs alternate: wtcp, Linux, wtcp, Linux, ...
# Prints one JSON row per transfer (group "relay-lossy"); a transfer that fails or is not
# byte-exact gives "ok": false. The EXIT trap removes the namespace (with the TUN device and
# the nft table in it) and stops only the processes this script started.
set -u
build=${1:-build}
build=${build%/}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
case $build in /*) ;; *) build=$root/$build ;; esac
relay=$build/wtcp-relay
peer=(node "$root/tests/interop/peer.mjs")
bytes=${BENCH_BYTES:-33554432}
runs=${BENCH_RUNS:-5}
limit=${BENCH_TIMEOUT:-300}
url=ws://127.0.0.1:8787

die() { echo "relay-lossy: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, TUN, nftables)"
for f in "$relay" "$root/bindings/js/dist/wtcp.wasm" "$root/bindings/js/node_modules/ws/package.json" "$root/tests/interop/peer.mjs"; do
    [ -f "$f" ] || die "missing $f (make relay wasm js-deps)"
done
for c in ip node nft sha256sum timeout; do command -v "$c" >/dev/null 2>&1 || die "missing $c"; done

tmp=$(mktemp -d /tmp/wtcp-relay-lossy.XXXXXX)
chmod 755 "$tmp"
pids=()
NS=wtcp-lossy-$$
cleanup() {
    local p
    trap '' INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    if ip netns list | grep -qw "$NS"; then
        for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$NS" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || die "cannot create namespace $NS"
ip -n "$NS" link set lo up
head -c "$bytes" /dev/urandom >"$tmp/data.bin"
want=$(sha256sum "$tmp/data.bin" | cut -d' ' -f1)
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$2"; }
wait_for() { # wait_for SECONDS FILE PATTERN
    local end=$((SECONDS + $1))
    until grep -q "$3" "$2" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
row() { # row CASE SYSTEM MS OK
    awk -v c="$1" -v s="$2" -v ms="$3" -v ok="$4" -v b="$bytes" 'BEGIN {
        v = ms > 0 ? b * 8 / (ms / 1000) / 1e6 : 0
        printf "{\"group\":\"relay-lossy\",\"case\":\"%s\",\"system\":\"%s\",\"metric\":\"goodput\",\"unit\":\"Mbit/s\",\"value\":%.3f,\"higher_is_better\":true,\"ok\":%s}\n", c, s, v, ok }'
}

# path LABEL NFT(yes|no) RELAY-ARGS...: a relay with those faults, the servers, then the runs.
path() {
    local label=$1 nft=$2 mark=${#pids[@]} i p st ms ok
    shift 2
    ip netns exec "$NS" "$relay" --listen 127.0.0.1:8787 "$@" 2>"$tmp/relay.log" &
    pids+=($!)
    wait_for 10 "$tmp/relay.log" ' start version=' || { cat "$tmp/relay.log" >&2; die "the relay did not start"; }
    ip netns exec "$NS" "${peer[@]}" linux-http 0.0.0.0 8080 "$tmp/data.bin" >"$tmp/http.out" 2>&1 &
    pids+=($!)
    ip netns exec "$NS" "${peer[@]}" linux-sink 0.0.0.0 9000 >"$tmp/sink.out" 2>&1 &
    pids+=($!)
    wait_for 10 "$tmp/http.out" '^listening' && wait_for 10 "$tmp/sink.out" '^listening' || die "the Linux servers did not start"
    if [ "$nft" = yes ]; then
        ip netns exec "$NS" nft -f - <<'NFT' || die "nft failed"
table inet wtcp_bench_lossy {
    chain in { type filter hook input priority 0; iifname "wtcp0" numgen random mod 100 < 3 counter drop; }
    chain out { type filter hook output priority 0; oifname "wtcp0" numgen random mod 100 < 3 counter drop; }
}
NFT
    fi
    for i in $(seq 1 "$runs"); do
        : >"$tmp/sink.out"
        ip netns exec "$NS" timeout "$limit" "${peer[@]}" put "$url" 10.77.0.1 9000 "$tmp/data.bin" >"$tmp/put.out" 2>"$tmp/put.err"
        st=$?
        wait_for 5 "$tmp/sink.out" '^bytes'
        ms=$(field ms "$tmp/put.out")
        echo "relay-lossy: $label: wtcp sending: $(head -1 "$tmp/put.out")" >&2
        ok=false
        [ $st -eq 0 ] && [ "$(field sha256 "$tmp/sink.out")" = "$want" ] && ok=true
        [ "$ok" = true ] || echo "relay-lossy: $label: wtcp sending failed (status $st): $(head -c 200 "$tmp/put.err")" >&2
        row "$label" "wtcp sending (wasm in Node)" "${ms:-0}" "$ok"
        ip netns exec "$NS" timeout "$limit" "${peer[@]}" get "$url" http://10.77.0.1:8080/data >"$tmp/get.out" 2>"$tmp/get.err"
        st=$?
        ms=$(field ms "$tmp/get.out")
        ok=false
        [ $st -eq 0 ] && [ "$(field sha256 "$tmp/get.out")" = "$want" ] && ok=true
        [ "$ok" = true ] || echo "relay-lossy: $label: Linux sending failed (status $st): $(head -c 200 "$tmp/get.err")" >&2
        row "$label" "Linux sending" "${ms:-0}" "$ok"
    done
    [ "$nft" = yes ] && ip netns exec "$NS" nft delete table inet wtcp_bench_lossy
    for p in "${pids[@]:$mark}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]:$mark}"; do
        for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    pids=("${pids[@]:0:$mark}")
}
path "relay --loss 5 --reorder 5" no --loss 5 --reorder 5 --seed 11
path "nftables 3 % loss each way" yes
