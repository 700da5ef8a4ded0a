#!/usr/bin/env bash
# relay-lossy.sh: goodput through wtcp-relay on a lossy path, wtcp sending and Linux sending
# side by side, as tests/interop/test.sh test 3 does: the npm package's wasm stack in Node
# (tests/interop/peer.mjs) is one end, Node's kernel-TCP servers the other.
#   wtcp sending   peer.mjs put: a raw wtcp connection uploads FILE to a kernel TCP sink
#   Linux sending  peer.mjs get: Node's http client over wtcp downloads FILE from a Node
#                  http server on kernel TCP (Linux's TCP is the sender)
# Paths: relay --loss 5 --reorder 5 (the relay's fault options), relay --loss 1 --delay 10
# (the lossy-link group's 1 % at 20 ms RTT, an eighth of the bytes), and nftables 3 % random
# loss each way between the TUN device and a second namespace that holds the servers (the
# relay itself faultless). That loss is in the forward hook of the relay's namespace, so
# neither sender's own stack sees it: a drop in the output hook of the servers' own
# namespace would fail Linux's transmit call, and Linux would resend at once with no
# congestion response (it then retransmits 5 segments in 32 MiB instead of ~700).
# Linux's own counters for its runs (nstat: recoveries, undos, retransmits) go to stderr.
# wtcp sends twice per run: with the default RTO floor (200 ms, as Linux) and with rtoMin
# 10 ms, which shows what the timeouts cost on this sub-millisecond path.
# "Linux sending" is Linux's TCP sending to the wasm stack (its receiver). "Linux client
# sending" puts Linux's TCP where the wasm stack is: a second relay in exec mode runs
# build/bench/tunclient in a namespace of its own, so that kernel's packets take the same
# relay (with the same fault options) and the same nftables losses, and it uploads to the
# same Linux sink as wtcp sending does: the one comparison with the same receiver. It runs
# with CUBIC, set on its socket (TCP_CONGESTION), the algorithm wtcp uses by default and
# Linux's own default: the reference for the target. A host may default to BBR, which does
# not take random loss as congestion (measured here: cwnd 360-660 segments through 3 %
# loss, where CUBIC keeps 2-15), so BBR gets a row of its own when the kernel has it, and
# "Linux sending" (a Node server, which cannot choose) uses whatever the host's default is;
# the script prints which.
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
tunclient=$build/bench/tunclient
for f in "$relay" "$tunclient" "$root/bindings/js/dist/wtcp.wasm" "$root/bindings/js/node_modules/ws/package.json" "$root/tests/interop/peer.mjs"; do
    [ -f "$f" ] || die "missing $f (make relay wasm js-deps)"
done
for c in ip node nft ethtool sha256sum timeout; do command -v "$c" >/dev/null 2>&1 || die "missing $c"; done

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
    if ip netns list | grep -qw "$NS-cli"; then
        for p in $(ip netns pids "$NS-cli" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$NS-cli" 2>/dev/null
    fi
    if ip netns list | grep -qw "$NS-srv"; then
        for p in $(ip netns pids "$NS-srv" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$NS-srv" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || die "cannot create namespace $NS"
ip -n "$NS" link set lo up
# The servers' namespace for the nftables path: 10.78.0.2 behind a veth, routed by $NS.
NS2=$NS-srv
ip netns add "$NS2" || die "cannot create namespace $NS2"
ip -n "$NS2" link set lo up
ip link add wtcpl0 netns "$NS" type veth peer name wtcpl1 netns "$NS2" || die "cannot create the veth pair"
ip -n "$NS" addr add 10.78.0.1/24 dev wtcpl0
ip -n "$NS2" addr add 10.78.0.2/24 dev wtcpl1
ip -n "$NS" link set wtcpl0 up
ip -n "$NS2" link set wtcpl1 up
ip -n "$NS2" route add 10.77.0.0/16 via 10.78.0.1
ip -n "$NS2" route add 10.79.0.0/24 via 10.78.0.1
# Linux's TCP as a relay client (tunclient's TUN, 10.79.0.2) lives here.
NS3=$NS-cli
ip netns add "$NS3" || die "cannot create namespace $NS3"
ip -n "$NS3" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1
# One drop must cost one packet: no segmentation or receive offloads merging them.
ip netns exec "$NS" ethtool -K wtcpl0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$NS2" ethtool -K wtcpl1 tso off gso off gro off >/dev/null 2>&1
# BBR for its own row, if this kernel has it (loading the module needs nothing more).
modprobe -q tcp_bbr 2>/dev/null
bbr=$(grep -ow bbr /proc/sys/net/ipv4/tcp_available_congestion_control)
host_cc=$(cat /proc/sys/net/ipv4/tcp_congestion_control)
echo "relay-lossy: the host's default congestion control (Linux sending): $host_cc" >&2
# data BYTES: the file the transfers of the next path carry ($bytes, $want for the rows).
data() {
    bytes=$1
    head -c "$bytes" /dev/urandom >"$tmp/data.bin"
    want=$(sha256sum "$tmp/data.bin" | cut -d' ' -f1)
}
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

# put_run LABEL SYSTEM OPTIONS-JSON: one upload by the wasm stack (with those createStack
# options) to the sink; uses $sns/$srv of the path being run.
put_run() {
    local st ms ok
    : >"$tmp/sink.out"
    PEER_STACK_OPTIONS=$3 ip netns exec "$NS" timeout "$limit" "${peer[@]}" put "$url" "$srv" 9000 "$tmp/data.bin" >"$tmp/put.out" 2>"$tmp/put.err"
    st=$?
    wait_for 5 "$tmp/sink.out" '^bytes'
    ms=$(field ms "$tmp/put.out")
    echo "relay-lossy: $1: $2: $(head -1 "$tmp/put.out")" >&2
    ok=false
    [ $st -eq 0 ] && [ "$(field sha256 "$tmp/sink.out")" = "$want" ] && ok=true
    [ "$ok" = true ] || echo "relay-lossy: $1: $2 failed (status $st): $(head -c 200 "$tmp/put.err")" >&2
    row "$1" "$2" "${ms:-0}" "$ok"
}

# linux_put_run LABEL CC: one upload of FILE by the kernel TCP behind tunclient ($NS3), with
# congestion control CC on its socket, to the same sink, with Linux's counters for it.
linux_put_run() {
    local st ms ok
    : >"$tmp/sink.out"
    NSTAT_HISTORY=$tmp/nstat3 ip netns exec "$NS3" nstat -n 2>/dev/null
    ip netns exec "$NS3" timeout "$limit" python3 -c '
import socket, sys, time
data = open(sys.argv[3], "rb").read()
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[4].encode())
s.settimeout(30)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(None)
t = time.monotonic()
s.sendall(data)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
print("bytes %d ms %.1f" % (len(data), (time.monotonic() - t) * 1000))
' "$srv" 9000 "$tmp/data.bin" "$2" >"$tmp/lput.out" 2>"$tmp/lput.err"
    st=$?
    wait_for 5 "$tmp/sink.out" '^bytes'
    ms=$(field ms "$tmp/lput.out")
    echo "relay-lossy: $1: Linux client sending, $2: $(head -1 "$tmp/lput.out") $(NSTAT_HISTORY=$tmp/nstat3 ip netns exec "$NS3" nstat 2>/dev/null |
        awk '$1 ~ /^(TcpRetransSegs|TcpExt(TCPLossProbes|TCPSackRecovery|TCPTimeouts|TCPDSACKUndo|TCPLossUndo|TCPSpuriousRTOs))$/ { printf "%s=%s ", $1, $2 }')" >&2
    ok=false
    [ $st -eq 0 ] && [ "$(field sha256 "$tmp/sink.out")" = "$want" ] && ok=true
    [ "$ok" = true ] || echo "relay-lossy: $1: Linux client sending, $2, failed (status $st): $(head -c 200 "$tmp/lput.err")" >&2
    row "$1" "Linux client sending, $2 (kernel TCP via tunclient)" "${ms:-0}" "$ok"
}

# path LABEL NFT(yes|no) RELAY-ARGS...: a relay with those faults, the servers, then the runs.
# Without nft the servers are in the relay's namespace at 10.77.0.1, with it in $NS2.
path() {
    local label=$1 nft=$2 mark=${#pids[@]} i p st ms ok sns=$NS srv=10.77.0.1
    [ "$2" = yes ] && sns=$NS2 srv=10.78.0.2
    shift 2
    ip netns exec "$NS" "$relay" --listen 127.0.0.1:8787 "$@" 2>"$tmp/relay.log" &
    pids+=($!)
    wait_for 10 "$tmp/relay.log" ' start version=' || { cat "$tmp/relay.log" >&2; die "the relay did not start"; }
    rm -f "$tmp/tunclient.ready"
    ip netns exec "$NS" "$relay" exec --tun wtcp1 --address 10.79.0.1/24 "$@" -- \
        ip netns exec "$NS3" "$tunclient" "$tmp/tunclient.ready" 2>"$tmp/relay-exec.log" &
    pids+=($!)
    wait_for 10 "$tmp/tunclient.ready" '^ready' || { cat "$tmp/relay-exec.log" >&2; die "tunclient did not start"; }
    ip netns exec "$sns" "${peer[@]}" linux-http 0.0.0.0 8080 "$tmp/data.bin" >"$tmp/http.out" 2>&1 &
    pids+=($!)
    ip netns exec "$sns" "${peer[@]}" linux-sink 0.0.0.0 9000 >"$tmp/sink.out" 2>&1 &
    pids+=($!)
    wait_for 10 "$tmp/http.out" '^listening' && wait_for 10 "$tmp/sink.out" '^listening' || die "the Linux servers did not start"
    if [ "$nft" = yes ]; then
        ip netns exec "$NS" nft -f - <<'NFT' || die "nft failed"
table inet wtcp_bench_lossy {
    chain up { type filter hook forward priority 0; iifname { "wtcp0", "wtcp1" } numgen random mod 100 < 3 counter drop; }
    chain down { type filter hook forward priority 0; oifname { "wtcp0", "wtcp1" } numgen random mod 100 < 3 counter drop; }
}
NFT
    fi
    for i in $(seq 1 "$runs"); do
        put_run "$label" "wtcp sending (wasm in Node)" '{}'
        put_run "$label" "wtcp sending, rtoMin 10 ms (wasm in Node)" '{"rtoMin":10}'
        linux_put_run "$label" cubic
        [ -n "$bbr" ] && linux_put_run "$label" bbr
        NSTAT_HISTORY=$tmp/nstat ip netns exec "$sns" nstat -n 2>/dev/null
        ip netns exec "$NS" timeout "$limit" "${peer[@]}" get "$url" "http://$srv:8080/data" >"$tmp/get.out" 2>"$tmp/get.err"
        st=$?
        # Linux's own view of its recovery: episodes, undone reductions, spurious retransmits.
        echo "relay-lossy: $label: Linux sending ($host_cc): $(NSTAT_HISTORY=$tmp/nstat ip netns exec "$sns" nstat 2>/dev/null |
            awk '$1 ~ /^(TcpRetransSegs|TcpExt(TCPLossProbes|TCPLossProbeRecovery|TCPSackRecovery|TCPTimeouts|TCPFullUndo|TCPPartialUndo|TCPDSACKUndo|TCPLossUndo|TCPSpuriousRTOs|TCPDSACKRecv|TCPSACKReorder|TCPTSReorder|TCPRenoReorder|TCPDSACKIgnoredNoUndo|TCPSpuriousRtxHostQueues))$/ { printf "%s=%s ", $1, $2 }')" >&2
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
data "$bytes"
path "relay --loss 5 --reorder 5" no --loss 5 --reorder 5 --seed 11
path "nftables 3 % loss each way" yes
# The lossy-link group's path (1 % loss, 20 ms RTT) with Linux's CUBIC beside wtcp: an
# eighth of the bytes, since AIMD moves only a few Mbit/s there.
data $(((bytes + 7) / 8))
path "relay --loss 1 --delay 10 (20 ms RTT)" no --loss 1 --delay 10 --seed 11
