#!/usr/bin/env bash
# veth.sh: the ceiling for the bulk rows: Linux TCP (iperf3, one stream) over a veth pair
# between two network namespaces of its own, MTU 1500, offloads off (TSO, GSO, GRO, LRO,
# checksum offloads), so every segment is a 1500-byte packet as on the socketpair.
# Usage: bench/veth.sh [--seconds S] [--runs N] [--case bulk-one|bulk-both|both]   (root)
# Prints one JSON row per run ({"group":"bulk-2proc","case":"one direction",...,"system":"Linux veth",...}).
# The EXIT trap removes both namespaces (and with them the veth pair) and stops iperf3.
set -u
seconds=3
runs=1
which=both
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --case) which=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--runs N] [--case bulk-one|bulk-both|both]" >&2; exit 2 ;;
    esac
done
die() { echo "veth: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for c in ip iperf3 ethtool python3; do command -v "$c" >/dev/null 2>&1 || die "missing $c (make deps)"; done

A=wtcp-veth-$$-a
B=wtcp-veth-$$-b
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    ip netns del "$A" 2>/dev/null
    ip netns del "$B" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$A" && ip netns add "$B" || die "cannot create namespaces"
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip -n "$A" link add veth0 type veth peer name veth1 netns "$B" || die "cannot create the veth pair"
ip -n "$A" addr add 10.81.0.1/24 dev veth0
ip -n "$B" addr add 10.81.0.2/24 dev veth1
for side in "$A veth0" "$B veth1"; do
    set -- $side
    ip -n "$1" link set "$2" mtu 1500 up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off lro off tx off rx off sg off >/dev/null 2>&1 ||
        ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || die "ethtool -K failed"
done
ip netns exec "$B" iperf3 -s -B 10.81.0.2 -p 5201 >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 50); do
    ip netns exec "$A" bash -c 'exec 3<>/dev/tcp/10.81.0.2/5201' 2>/dev/null && break
    sleep 0.1
done
sleep 0.2

one() { # one CASE: an iperf3 run; prints the JSON row
    local args=() label=$1
    [ "$label" = bulk-both ] && args=(--bidir)
    ip netns exec "$A" iperf3 -c 10.81.0.2 -p 5201 -t "$seconds" -J "${args[@]}" 2>/dev/null |
        python3 -c '
import json, sys
label = sys.argv[1]
try:
    r = json.load(sys.stdin)["end"]
    bps = r["sum_received"]["bits_per_second"]
    if label == "bulk-both":
        bps += r["sum_received_bidir_reverse"]["bits_per_second"]
    ok = True
except Exception:
    bps, ok = 0, False
case = {"bulk-one": "one direction", "bulk-both": "both directions"}[label]
print(json.dumps({"group": "bulk-2proc", "case": case, "system": "Linux veth", "metric": "goodput",
                  "unit": "Gbit/s", "value": round(bps / 1e9, 4), "higher_is_better": True, "ok": ok}))
' "$label"
}
for _ in $(seq 1 "$runs"); do
    case $which in
    both) one bulk-one; one bulk-both ;;
    *) one "$which" ;;
    esac
done
