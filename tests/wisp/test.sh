#!/usr/bin/env bash
# test.sh: a guest LAN whose uplink is a Wisp server, with no relay: a Linux kernel guest (a
# TAP device in a namespace, wtcp-tapbridge) on the npm stack's guest LAN (tests/lan/gateway.mjs
# with GATEWAY_WISP: the guests' TCP and UDP intercepted and carried as Wisp streams) and
# @mercuryworkshop/wisp-js's own server (tests/wisp/server.mjs) on loopback, in a second
# namespace with servers on a veth interface of its own (10.88.0.1: web, upload sink, DNS). In the
# guest: a lease naming 10.88.0.1 as DNS, a name resolved through a UDP stream, 32 MiB down
# and up byte-exact, 50 connections at once, ECONNREFUSED for a closed port, and a Wisp
# server that dies and comes back (the guest's connection is reset, the next one works).
#
# Then both at once: the relay as the stack's link too, ICMP through NAT beside Wisp.
#
# Usage: tests/wisp/test.sh BUILD_DIR   (as root; needs build/wtcp-relay, build/tests/wtcp-tapbridge,
#        bindings/js/dist/wtcp.wasm, the npm dev dependencies, busybox, curl, python3)
# Environment: WISP_BIG (bytes of the big transfers, default 32 MiB).
# Traffic stays in the namespaces it makes (wtcp-wisp-PID-r, wtcp-wisp-PID-g); the EXIT trap
# removes them, /etc/netns/NAME, the PIDs it started and its temporary directory, also on
# failure. Prints "ok ..."/"FAIL ...", figures, and "N passed, N failed".
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=${1%/}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
case $build in /*) ;; *) build=$root/$build ;; esac
tapbridge=$build/tests/wtcp-tapbridge
big=${WISP_BIG:-33554432}
control=9911

. "$root/tests/lan/guest-netns.sh"

[ "$(id -u)" -eq 0 ] || { bad prerequisites "needs root (namespaces, TUN/TAP)"; finish; }
for f in "$build/wtcp-relay" "$tapbridge" "$root/bindings/js/dist/wtcp.wasm" "$root/bindings/js/node_modules/@mercuryworkshop/wisp-js/package.json"; do
    [ -e "$f" ] || { bad prerequisites "missing $f (make relay wasm js-deps $tapbridge)"; finish; }
done
for c in ip node curl busybox python3 sha256sum; do
    command -v "$c" >/dev/null 2>&1 || { bad prerequisites "missing $c"; finish; }
done

netns_setup wtcp-wisp

# ---- the far side: servers on a veth address, the Wisp server on loopback ----
ip -n "$R" link add far0 type veth peer name far1 # (this kernel has no dummy module)
ip -n "$R" addr add 10.88.0.1/24 dev far0
ip -n "$R" link set far0 up
ip -n "$R" link set far1 up
head -c "$big" /dev/urandom >"$tmp/data.bin"
sum=$(sha256sum <"$tmp/data.bin" | cut -d' ' -f1)
mkdir -p "$tmp/www"
ln "$tmp/data.bin" "$tmp/www/data.bin"
echo "a page beyond the Wisp server" >"$tmp/www/page.txt"
bg web inR python3 -m http.server 8000 --bind 10.88.0.1 --directory "$tmp/www"
bg sink inR python3 "$root/tests/lan/transfer.py" sink 10.88.0.1 9000
bg dns inR python3 "$root/tests/lan/dns.py" 10.88.0.1 53 far.test=10.88.0.1
start_wisp() {
    bg wisp ip netns exec "$R" node "$root/tests/wisp/server.mjs" 127.0.0.1 5001 # (its own PID)
    wisp_pid=${pids[-1]}
    wait_for 10 "$tmp/wisp.out" '^wisp ws://' || { bad setup "the Wisp server did not start"; show "$tmp/wisp.err"; finish; }
}
start_wisp
sleep 0.3

# ---- the guest's router: the stack, its LAN on the guest's TAP device, Wisp as uplink ----
GATEWAY_WISP=ws://127.0.0.1:5001/ GATEWAY_DNS=10.88.0.1 bg gateway ip netns exec "$R" node "$root/tests/lan/gateway.mjs" - "$G" "$tapbridge" "$control"
gateway_pid=${pids[-1]}
if ! wait_for 20 "$tmp/gateway.out" '^ready'; then
    bad setup "the gateway did not start"
    show "$tmp/gateway.err"
    finish
fi
for ((i = 0; i < 50; i++)); do inG ip link show tap0 >/dev/null 2>&1 && break; sleep 0.1; done
inG ip link set tap0 up

export UDHCPC_LOG=$tmp/udhcpc.log
if inG timeout 20 busybox udhcpc -i tap0 -f -q -n -t 5 -T 2 -O mtu -s "$root/tests/lan/udhcpc.sh" >"$tmp/udhcpc.out" 2>&1 &&
    grep -q 'ip=10.0.2.15/24 router=10.0.2.2 dns=10.88.0.1' "$UDHCPC_LOG"; then
    ok "udhcpc: a lease that names 10.88.0.1 (beyond the Wisp server) as DNS: $(cut -d' ' -f2- "$UDHCPC_LOG" | head -1)"
else
    bad "udhcpc lease" "$(cat "$UDHCPC_LOG" 2>/dev/null)"
    show "$tmp/udhcpc.out"
fi

got=$(inG busybox nslookup far.test 2>&1 | grep -A1 'Name:.*far.test' | grep -o '10\.88\.0\.1')
if [ "$got" = "10.88.0.1" ]; then
    ok "far.test resolves through a Wisp UDP stream to the DNS server"
else
    bad "DNS over Wisp" "$(inG busybox nslookup far.test 2>&1 | tail -3 | tr '\n' ' ')"
fi

mib=$((big / 1048576))
if inG curl -s --max-time 120 -o "$tmp/down.bin" -w '%{speed_download}\n' http://10.88.0.1:8000/data.bin >"$tmp/down.speed" &&
    [ "$(sha256sum <"$tmp/down.bin" | cut -d' ' -f1)" = "$sum" ]; then
    ok "guest downloads $mib MiB over Wisp, sha256 matches ($(awk '{ printf "%.1f MB/s", $1 / 1e6 }' "$tmp/down.speed"))"
else
    bad "download over Wisp" "sha256 or curl failed"
    show "$tmp/gateway.err"
fi
t0=$(date +%s%N)
up=$(inG python3 "$root/tests/lan/transfer.py" send 10.88.0.1 9000 "$tmp/data.bin" 2>&1)
t1=$(date +%s%N)
if [ "$up" = "$big $sum" ]; then
    ok "guest uploads $mib MiB over Wisp, sha256 matches ($(awk -v b="$big" -v t="$((t1 - t0))" 'BEGIN { printf "%.1f MB/s", b / (t / 1e9) / 1e6 }'))"
else
    bad "upload over Wisp" "the sink says '$up'"
fi

good=0
for ((i = 0; i < 50; i++)); do inG curl -s --max-time 30 -o "$tmp/p$i.txt" http://10.88.0.1:8000/page.txt & done
wait_curls() { local p; for p in $(jobs -p); do case " ${pids[*]} " in *" $p "*) ;; *) wait "$p" ;; esac; done; }
wait_curls
for ((i = 0; i < 50; i++)); do [ "$(cat "$tmp/p$i.txt" 2>/dev/null)" = "a page beyond the Wisp server" ] && good=$((good + 1)); done
if [ "$good" = 50 ]; then ok "50 connections at once, each a Wisp stream, all answered"; else bad "50 connections" "$good of 50"; fi

inG curl -s --max-time 10 -o /dev/null http://10.88.0.1:8999/
rc=$?
if [ "$rc" = 7 ] && grep -q 'wisp: 10.88.0.1:8999 from 10.0.2.15: network error' "$tmp/gateway.err"; then
    ok "a closed port: curl in the guest sees the connection refused (exit 7, ECONNREFUSED); the gateway reports the server's close reason (network error)"
else
    bad "closed port" "curl exit $rc; $(tail -2 "$tmp/gateway.err" | tr '\n' ' ')"
fi

# A guest that reads slowly and a remote that reads slowly: the transfer completes and the
# gateway's memory stays bounded (Wisp 1 has flow control only toward the server: the
# gateway stops reading the WebSocket while a guest is behind).
rss_max=0
sample() {
    local r
    r=$(inR curl -s "http://127.0.0.1:$control/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rss"])' 2>/dev/null)
    [ -n "$r" ] && [ "$r" -gt "$rss_max" ] && rss_max=$r
}
rss0=$(inR curl -s "http://127.0.0.1:$control/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rss"])')
inG curl -s --max-time 60 --limit-rate 4M -o "$tmp/slow.bin" http://10.88.0.1:8000/data.bin &
slowpid=$!
while kill -0 "$slowpid" 2>/dev/null; do sample; sleep 0.5; done
wait "$slowpid"
if [ "$(sha256sum <"$tmp/slow.bin" | cut -d' ' -f1)" = "$sum" ] && [ "$rss_max" -le $((rss0 + 24 * 1048576)) ]; then
    ok "a guest reading at 4 MB/s gets its $mib MiB byte-exact; the gateway's RSS stays within 24 MiB of its start ($((rss0 / 1048576)) -> at most $((rss_max / 1048576)) MiB)"
else
    bad "slow guest" "sha256 or RSS ($((rss0 / 1048576)) -> $((rss_max / 1048576)) MiB)"
fi
bg slowsink ip netns exec "$R" python3 "$root/tests/lan/transfer.py" sink 10.88.0.1 9001 4e6 # about 4 MB/s
sleep 0.3
rss_max=0
inG python3 "$root/tests/lan/transfer.py" send 10.88.0.1 9001 "$tmp/data.bin" >"$tmp/slowup.out" 2>&1 &
uppid=$!
while kill -0 "$uppid" 2>/dev/null; do sample; sleep 0.5; done
wait "$uppid"
if [ "$(cat "$tmp/slowup.out")" = "$big $sum" ] && [ "$rss_max" -le $((rss0 + 24 * 1048576)) ]; then
    ok "a remote reading at 4 MB/s gets the guest's $mib MiB byte-exact; the gateway's RSS stays within 24 MiB of its start (at most $((rss_max / 1048576)) MiB)"
else
    bad "slow remote" "$(cat "$tmp/slowup.out") (RSS at most $((rss_max / 1048576)) MiB)"
fi

# The Wisp server dies during a download: the guest's connection is reset; it comes back and
# the next connection works.
head -c 67108864 /dev/urandom >"$tmp/www/big.bin" # more than every buffer on the way holds
inG curl -s --max-time 60 -o /dev/null --limit-rate 2M http://10.88.0.1:8000/big.bin &
slow=$!
sleep 1
kill -TERM "$wisp_pid"
wait "$slow"
rc=$?
if [ "$rc" = 56 ]; then ok "the Wisp server dies: the guest's download is reset (curl exit 56, connection reset), not a hang"; else bad "server death" "curl exit $rc"; fi
start_wisp
sleep 1
got=$(inG curl -s --max-time 20 http://10.88.0.1:8000/page.txt)
if [ "$got" = "a page beyond the Wisp server" ]; then ok "the Wisp server is back: the gateway reconnected and a new connection works"; else bad "reconnection" "got '$got'"; show "$tmp/gateway.err"; fi

# Both at once: a relay as the stack's link too. TCP and UDP still go over Wisp, ICMP takes
# NAT through the relay (the guest pings the relay's host).
stats=$(inR curl -s "http://127.0.0.1:$control/stats")
kill -TERM "$gateway_pid"
wait "$gateway_pid" 2>/dev/null
bg relay ip netns exec "$R" "$build/wtcp-relay" --tun wtcp0 --address 10.77.0.1/16 --listen 127.0.0.1:8787
for ((i = 0; i < 50; i++)); do inR ip -4 addr show wtcp0 2>/dev/null | grep -q 10.77.0.1 && break; sleep 0.1; done
: >"$tmp/gateway2.out"
GATEWAY_WISP=ws://127.0.0.1:5001/ GATEWAY_DNS=10.88.0.1 bg gateway2 ip netns exec "$R" node "$root/tests/lan/gateway.mjs" ws://127.0.0.1:8787 "$G" "$tapbridge" $((control + 1))
if wait_for 20 "$tmp/gateway2.out" '^ready'; then
    for ((i = 0; i < 50; i++)); do inG ip link show tap0 >/dev/null 2>&1 && break; sleep 0.1; done
    inG ip link set tap0 up
    inG ip addr add 10.0.2.15/24 dev tap0 2>/dev/null
    inG ip route replace default via 10.0.2.2 dev tap0
    got=$(inG curl -s --max-time 20 http://10.88.0.1:8000/page.txt)
    if [ "$got" = "a page beyond the Wisp server" ] && inG ping -c 2 -i 0.2 -W 2 10.77.0.1 >"$tmp/ping.out" 2>&1; then
        n=$(inR curl -s "http://127.0.0.1:$((control + 1))/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin)["stack"]; print(s["natOut"], s["natFlows"])')
        ok "both at once: TCP over Wisp, ping of the relay's host through NAT and the relay ($(grep -o 'rtt.*' "$tmp/ping.out"); NAT packets out and flows: $n)"
    else
        bad "both at once" "curl '$got'; $(tail -2 "$tmp/ping.out" | tr '\n' ' ')"
    fi
else
    bad "both at once" "the gateway with relay and Wisp did not start: $(tail -3 "$tmp/gateway2.err" | tr '\n' ' ')"
fi
echo "figure: gateway: $(echo "$stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("ethIn %d, ethOut %d, drops %d, wasm heap %.1f MB, Node RSS %.0f MB" % (s["stack"]["ethIn"], s["stack"]["ethOut"], s["stack"]["drops"], s["heap"] / 1e6, s["rss"] / 1e6))')"
finish
