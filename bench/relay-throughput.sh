#!/usr/bin/env bash
# relay-throughput.sh: bulk TCP throughput between the npm package's wasm stack (Node) and
# Linux through wtcp-relay, next to Linux-to-Linux TCP over a veth pair, as a table.
#
# Usage: bench/relay-throughput.sh [BUILD_DIR=build]   (as root; builds nothing: needs
#        build/wtcp-relay, bindings/js/dist/wtcp.wasm and bindings/js/node_modules, i.e.
#        `make relay wasm js-deps`; curl, python3, iproute2)
# Environment: BENCH_BYTES (per run, default 32 MiB), BENCH_RUNS (default 5), BENCH_MTU
# (the relay's and the veth pair's MTU, default 1500).
#
# It makes two network namespaces of its own: wtcp-bench-PID-r runs the relay (TUN wtcp0,
# 10.77.0.1/16, WebSocket on 127.0.0.1:8787), the Node clients and the Linux servers;
# wtcp-bench-PID-v is the far end of a veth pair (10.78.0.1/24 <-> 10.78.0.2/24, MTU 1500).
# Directions (each the median of BENCH_RUNS transfers; the wasm stack's three each in wire
# protocol 2, then in protocol 1 beside it):
#   Linux <- wtcp   curl <- Node's http server over wtcp/node (tests/interop/peer.mjs serve)
#   wtcp <- Linux   Node's http client over wtcp/node <- Node's http server (kernel TCP)
#   wtcp -> Linux   a raw wtcp connection -> a kernel TCP sink (node:net)
#   Linux <- WASI   curl <- wtcp-httpd.wasm under node:wasi, a client of `wtcp-relay exec`
#                   (TUN wtcp1, 10.79.0.1/16; only when build/wasi exists: make wasi)
#   Linux <- Linux  curl <- the same Node http server, across the veth pair (the baseline)
# Packets per message: the WebSocket relay's counters (--metrics) around a direction's runs,
# each way, and the messages per second both ways together.
# Relay CPU: the relay's time on a CPU (/proc/PID/schedstat) during a direction's runs, per
# MiB moved, and (in parentheses) as a share of one core over that wall-clock time (which
# includes starting curl or Node). The EXIT trap removes what it made (only the PIDs it started,
# its namespaces and temporary directory), also on failure or Ctrl-C.
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
mtu=${BENCH_MTU:-1500}
url=ws://127.0.0.1:8787

die() {
    echo "relay-throughput: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, TUN, veth)"
for f in "$relay" "$root/bindings/js/dist/wtcp.wasm" "$root/bindings/js/node_modules/ws/package.json"; do
    [ -f "$f" ] || die "missing $f (make relay wasm js-deps)"
done
for c in ip node curl sha256sum; do command -v "$c" >/dev/null 2>&1 || die "missing $c"; done

tmp=$(mktemp -d /tmp/wtcp-relay-bench.XXXXXX)
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
        ip netns del "$ns" 2>/dev/null # also removes the veth pair
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

R=wtcp-bench-$$-r
V=wtcp-bench-$$-v
for ns in "$R" "$V"; do
    ip netns add "$ns" || die "cannot create namespace $ns"
    namespaces+=("$ns")
    ip -n "$ns" link set lo up
done
ip -n "$R" link add bench0 type veth peer name bench1 netns "$V" || die "cannot create the veth pair"
ip -n "$R" addr add 10.78.0.1/24 dev bench0
ip -n "$V" addr add 10.78.0.2/24 dev bench1
ip -n "$R" link set bench0 mtu "$mtu" up
ip -n "$V" link set bench1 mtu "$mtu" up

in_r() { # a foreground command in $R, waited for in the background (Ctrl-C stays prompt)
    ip netns exec "$R" "$@" &
    wait $!
}
bg() { # bg NS NAME COMMAND...
    local ns=$1 name=$2
    shift 2
    ip netns exec "$ns" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
}
wait_for() { # wait_for SECONDS FILE PATTERN
    local end=$((SECONDS + $1))
    until grep -q "$3" "$2" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$2"; }
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat" 2>/dev/null || echo 0; }
now_ms() { date +%s%3N; }

head -c "$bytes" /dev/urandom >"$tmp/data.bin"
want=$(sha256sum "$tmp/data.bin" | cut -d' ' -f1)

ip netns exec "$R" "$relay" --listen 127.0.0.1:8787 --metrics 127.0.0.1:9189 --mtu "$mtu" 2>"$tmp/relay.log" &
relay_pid=$!
ws_relay_pid=$relay_pid
pids+=("$relay_pid")
wait_for 10 "$tmp/relay.log" ' start version=' || { cat "$tmp/relay.log" >&2; die "the relay did not start"; }
bg "$R" serve "${peer[@]}" serve "$url" "$tmp/data.bin" 80
bg "$R" serve1 env PEER_STACK_OPTIONS='{"relayVersion":1}' "${peer[@]}" serve "$url" "$tmp/data.bin" 80
bg "$R" http "${peer[@]}" linux-http 0.0.0.0 8080 "$tmp/data.bin"
bg "$R" sink "${peer[@]}" linux-sink 0.0.0.0 9000
bg "$V" vhttp "${peer[@]}" linux-http 10.78.0.2 8080 "$tmp/data.bin"
wait_for 20 "$tmp/serve.out" '^address' || die "the wtcp http server did not start: $(cat "$tmp/serve.err")"
addr=$(sed -n 's/^address //p' "$tmp/serve.out")
wait_for 20 "$tmp/serve1.out" '^address' || die "the protocol 1 wtcp http server did not start: $(cat "$tmp/serve1.err")"
addr1=$(sed -n 's/^address //p' "$tmp/serve1.out")
for f in http sink vhttp; do wait_for 10 "$tmp/$f.out" '^listening' || die "$f did not start: $(cat "$tmp/$f.err")"; done

# Each direction sets RATES (bytes/s per run); measure sets CPU (the relay's, see above).
curl_runs() { # curl_runs URL
    local i r n
    RATES=()
    for i in $(seq 1 "$runs"); do
        read -r r n < <(in_r curl -sS -m 300 -o /dev/null -w '%{speed_download} %{size_download}\n' "$1")
        [ "${n:-0}" = "$bytes" ] || die "curl $1: got ${n:-nothing} of $bytes bytes"
        RATES+=("$r")
    done
}
# The WebSocket relay's packet and message counters (its --metrics): "UP_PK UP_MSG DOWN_PK DOWN_MSG".
counts() {
    in_r curl -s -m 5 http://127.0.0.1:9189/metrics | awk '
        /^wtcp_relay_packets_total\{direction="up"\}/ { up = $2 } /^wtcp_relay_messages_total\{direction="up"\}/ { um = $2 }
        /^wtcp_relay_packets_total\{direction="down"\}/ { dn = $2 } /^wtcp_relay_messages_total\{direction="down"\}/ { dm = $2 }
        END { print up + 0, um + 0, dn + 0, dm + 0 }'
}
measure() { # measure NAME COMMAND...: runs it with the relay's CPU time and message counts taken around it
    local c0 c1 t0 t1 m0 m1
    [ "$relay_pid" = "$ws_relay_pid" ] && m0=$(counts)
    c0=$(cpu_ns "$relay_pid")
    t0=$(now_ms)
    "$@"
    t1=$(now_ms)
    c1=$(cpu_ns "$relay_pid")
    PPM=-
    if [ "$relay_pid" = "$ws_relay_pid" ]; then
        m1=$(counts)
        PPM=$(awk -v a="$m0" -v b="$m1" -v ms=$((t1 - t0)) 'BEGIN {
            split(a, x, " "); split(b, y, " ")
            um = y[2] - x[2]; dm = y[4] - x[4]
            printf "%.1f / %.1f (%.0fk/s)", um ? (y[1] - x[1]) / um : 0, dm ? (y[3] - x[3]) / dm : 0, (um + dm) / ms }')
    fi
    CPU=$(awk -v c=$((c1 - c0)) -v ms=$((t1 - t0)) -v mib="$(awk -v b="$bytes" -v n="$runs" 'BEGIN { print b * n / 1048576 }')" \
        'BEGIN { printf "%.2f (%.0f%%)", c / 1e6 / mib, 100 * c / 1e6 / ms }')
}
down_runs() {
    in_r timeout 300 env PEER_STACK_OPTIONS="$PROTO" "${peer[@]}" get "$url" http://10.77.0.1:8080/data "$runs" >"$tmp/get.out" 2>"$tmp/get.err" ||
        die "wtcp <- Linux: $(cat "$tmp/get.err")"
    [ "$(field sha256 "$tmp/get.out" | sort -u)" = "$want" ] || die "wtcp <- Linux: the data differs"
    RATES=()
    for ms in $(field ms "$tmp/get.out"); do RATES+=("$(awk -v b="$bytes" -v ms="$ms" 'BEGIN { print b / (ms / 1000) }')"); done
}
up_runs() {
    : >"$tmp/sink.out"
    in_r timeout 300 env PEER_STACK_OPTIONS="$PROTO" "${peer[@]}" put "$url" 10.77.0.1 9000 "$tmp/data.bin" "$runs" >"$tmp/put.out" 2>"$tmp/put.err" ||
        die "wtcp -> Linux: $(cat "$tmp/put.err")"
    sleep 0.2
    [ "$(field sha256 "$tmp/sink.out" | sort | uniq -c | awk '{ print $1 " " $2 }')" = "$runs $want" ] ||
        die "wtcp -> Linux: the sink saw $(field sha256 "$tmp/sink.out" | wc -l) good transfers of $runs"
    RATES=()
    for ms in $(field ms "$tmp/put.out"); do RATES+=("$(awk -v b="$bytes" -v ms="$ms" 'BEGIN { print b / (ms / 1000) }')"); done
}

names=()
medians=()
cpus=()
ppms=()
add() {
    names+=("$1")
    medians+=("$(median "${RATES[@]}")")
    cpus+=("$2")
    ppms+=("${PPM:--}")
}
# Wire protocol 2 (the default) and protocol 1 (relayVersion: 1) alternate, direction by direction.
PROTO='{}'
measure curl_runs "http://$addr/data"
add "Linux <- wtcp   curl <- Node http server over wtcp/node" "$CPU"
measure curl_runs "http://$addr1/data"
add "  the same, protocol 1" "$CPU"
measure down_runs
add "wtcp <- Linux   Node http client over wtcp/node <- Node http" "$CPU"
PROTO='{"relayVersion":1}' measure down_runs
add "  the same, protocol 1" "$CPU"
measure up_runs
add "wtcp -> Linux   raw wtcp connection -> kernel TCP sink" "$CPU"
PROTO='{"relayVersion":1}' measure up_runs
add "  the same, protocol 1" "$CPU"
if [ -f "$build/wasi/wtcp-httpd.wasm" ]; then
    mkdir -p "$tmp/www"
    ln "$tmp/data.bin" "$tmp/www/data"
    ip netns exec "$R" "$relay" exec --tun wtcp1 --address 10.79.0.1/16 --mtu "$mtu" -- \
        node "$root/wasi/run.mjs" --dir "$tmp/www=/www" "$build/wasi/wtcp-httpd.wasm" 80 /www 2>"$tmp/exec.log" &
    exec_pid=$!
    pids+=("$exec_pid")
    wait_for 10 "$tmp/exec.log" 'connect client=10.79.0.2' || die "relay exec did not start: $(cat "$tmp/exec.log")"
    until in_r curl -s -o /dev/null -m 1 http://10.79.0.2/missing; do sleep 0.2; done
    relay_pid=$exec_pid measure curl_runs http://10.79.0.2/data
    add "Linux <- WASI   curl <- wtcp-httpd.wasm (node:wasi) via relay exec" "$CPU"
fi
curl_runs http://10.78.0.2:8080/data
add "Linux <- Linux  curl <- Node http server, veth pair" "-"

veth=${medians[${#medians[@]} - 1]}
mib=$(awk -v b="$bytes" 'BEGIN { printf "%g", b / 1048576 }')
echo "wtcp-relay throughput: $mib MiB per run, median of $runs, MTU $mtu (MB/s = 10^6 bytes/s); Node $(node --version), $(nproc) CPUs"
printf '%-68s %12s %15s %20s  %s\n' direction "median MB/s" "ratio to veth" "relay CPU ms/MiB" "packets per message up / down (messages/s)"
for i in "${!names[@]}"; do
    awk -v n="${names[$i]}" -v r="${medians[$i]}" -v v="$veth" -v c="${cpus[$i]}" -v p="${ppms[$i]}" \
        'BEGIN { printf "%-68s %12.1f %15.3f %20s  %s\n", n, r / 1e6, r / v, c, p }'
done
