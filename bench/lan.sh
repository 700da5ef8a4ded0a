#!/usr/bin/env bash
# lan.sh: the guest LAN's benchmarks, as tables: the core's NAT forwarding rate native
# (bench/nat.c) and in wasm through the npm package (bench/js-nat.mjs), then a Linux kernel
# guest (tests/lan/test.sh's set-up: a TAP namespace, the npm stack as its router, the
# relay) moving LAN_BIG bytes to and from the relay's host through NAT, each way, the median
# of BENCH_RUNS runs; the same over Wisp (tests/wisp/test.sh's set-up); then
# bench/v86-download.sh (a v86 guest through wtcp beside v86's own adapters).
#
# Usage: bench/lan.sh [BUILD_DIR=build]   (as root; make bench-lan builds what it needs)
# Environment: BENCH_RUNS (default 5), LAN_BIG (default 32 MiB), BENCH_NAT_PACKETS.
set -u
build=${1:-build}
build=${build%/}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
runs=${BENCH_RUNS:-5}
packets=${BENCH_NAT_PACKETS:-2000000}

"$build/bench/nat" "$packets" || exit 1
echo
node bench/js-nat.mjs $((packets / 4)) || exit 1
echo

down=()
up=()
for ((i = 0; i < runs; i++)); do
    out=$(tests/lan/test.sh "$build" 2>&1)
    d=$(echo "$out" | sed -n 's/.*guest downloads .*(\([0-9.]*\) MB\/s).*/\1/p')
    u=$(echo "$out" | sed -n 's/.*guest uploads .*(\([0-9.]*\) MB\/s).*/\1/p')
    if [ -z "$d" ] || [ -z "$u" ]; then
        echo "lan.sh: tests/lan/test.sh failed:" >&2
        echo "$out" | grep -E 'FAIL' >&2
        exit 1
    fi
    down+=("$d")
    up+=("$u")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "A Linux kernel guest (TAP namespace) through the npm stack's guest LAN, NAT and the relay, $(( ${LAN_BIG:-33554432} / 1048576 )) MiB, median of $runs (MB/s = 10^6 bytes/s):"
printf '%-46s %10s   %s\n' "direction" "MB/s" "runs"
printf '%-46s %10s   %s\n' "guest <- relay's host (curl, python http.server)" "$(median "${down[@]}")" "${down[*]}"
printf '%-46s %10s   %s\n' "guest -> relay's host (python, a sink)" "$(median "${up[@]}")" "${up[*]}"
echo
wdown=()
wup=()
for ((i = 0; i < runs; i++)); do
    out=$(tests/wisp/test.sh "$build" 2>&1)
    d=$(echo "$out" | sed -n 's/.*guest downloads .* over Wisp.*(\([0-9.]*\) MB\/s).*/\1/p')
    u=$(echo "$out" | sed -n 's/.*guest uploads .* over Wisp.*(\([0-9.]*\) MB\/s).*/\1/p')
    [ -n "$d" ] && [ -n "$u" ] || { echo "lan.sh: tests/wisp/test.sh failed:" >&2; echo "$out" | grep FAIL >&2; exit 1; }
    wdown+=("$d")
    wup+=("$u")
done
echo "The same kernel guest over Wisp (no relay; @mercuryworkshop/wisp-js's server on loopback), median of $runs:"
printf '%-46s %10s   %s\n' "direction" "MB/s" "runs"
printf '%-46s %10s   %s\n' "guest <- a server beyond the Wisp server" "$(median "${wdown[@]}")" "${wdown[*]}"
printf '%-46s %10s   %s\n' "guest -> a sink beyond the Wisp server" "$(median "${wup[@]}")" "${wup[*]}"
echo
bench/v86-download.sh "$build"
