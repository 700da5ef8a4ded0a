#!/usr/bin/env bash
# test.sh: a Linux kernel as the guest on wtcp's guest LAN. A network namespace (the guest)
# has a TAP device whose Ethernet frames wtcp-tapbridge passes to a Node process running the
# npm package's stack as the guest's router (tests/lan/gateway.mjs: stack.addGuestLan with
# DHCP, NAT, DNS and a port forward), whose uplink is wtcp-relay in a second namespace (the
# relay's host: TUN wtcp0 10.77.0.1/16, a web server, an upload sink and a DNS server on
# 10.77.0.1). In the guest, busybox udhcpc gets a lease; then ping, curl (a page served by
# JavaScript on the gateway's LAN address, 32 MiB down and up through NAT, byte-exact), a
# name resolved through the gateway's DNS, curl on the relay's host reaching the guest's web
# server through the port forward, and the stack itself fetching from the guest.
#
# Usage: tests/lan/test.sh BUILD_DIR   (as root; needs build/wtcp-relay,
#        build/tests/wtcp-tapbridge, bindings/js/dist/wtcp.wasm, busybox, curl, python3)
# Environment: LAN_BIG (bytes of the big transfers, default 32 MiB).
# Traffic stays in the two namespaces it makes (wtcp-lan-PID-r, wtcp-lan-PID-g); the EXIT
# trap removes them, /etc/netns/NAME, the PIDs it started and its temporary directory, also
# on failure. Prints "ok ..."/"FAIL ...", figures, and "N passed, N failed".
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=${1%/}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
case $build in /*) ;; *) build=$root/$build ;; esac
relay=$build/wtcp-relay
tapbridge=$build/tests/wtcp-tapbridge
big=${LAN_BIG:-33554432}
control=9911

. "$root/tests/lan/guest-netns.sh"

[ "$(id -u)" -eq 0 ] || { bad prerequisites "needs root (namespaces, TUN/TAP)"; finish; }
for f in "$relay" "$tapbridge" "$root/bindings/js/dist/wtcp.wasm" "$root/bindings/js/node_modules/ws/package.json"; do
    [ -e "$f" ] || { bad prerequisites "missing $f (make relay wasm js-deps $tapbridge)"; finish; }
done
for c in ip node curl busybox python3 sha256sum ping; do
    command -v "$c" >/dev/null 2>&1 || { bad prerequisites "missing $c"; finish; }
done

netns_setup wtcp-lan

# ---- the relay's host: the relay, a web server, an upload sink, a DNS server ----
head -c "$big" /dev/urandom >"$tmp/data.bin"
sum=$(sha256sum <"$tmp/data.bin" | cut -d' ' -f1)
mkdir -p "$tmp/www"
ln "$tmp/data.bin" "$tmp/www/data.bin"
bg relay inR "$relay" --tun wtcp0 --address 10.77.0.1/16 --listen 127.0.0.1:8787 --dns 10.77.0.1
wait_for 10 "$tmp/relay.err" 'start version' ||
    { bad setup "the relay did not start"; show "$tmp/relay.err"; finish; }
for ((i = 0; i < 50; i++)); do inR ip -4 addr show wtcp0 2>/dev/null | grep -q 10.77.0.1 && break; sleep 0.1; done
bg web inR python3 -m http.server 8000 --bind 10.77.0.1 --directory "$tmp/www"
bg sink inR python3 "$root/tests/lan/transfer.py" sink 10.77.0.1 9000
bg dns inR python3 "$root/tests/lan/dns.py" 10.77.0.1 53 relayhost.test=10.77.0.1
sleep 0.5

# ---- the guest's router: the stack, its LAN on the guest's TAP device ----
bg gateway inR node "$root/tests/lan/gateway.mjs" ws://127.0.0.1:8787 "$G" "$tapbridge" "$control"
if ! wait_for 20 "$tmp/gateway.out" '^ready'; then
    bad setup "the gateway did not start"
    show "$tmp/gateway.err"
    finish
fi
stack_addr=$(sed -n 's/^ready //p' "$tmp/gateway.out")
for ((i = 0; i < 50; i++)); do inG ip link show tap0 >/dev/null 2>&1 && break; sleep 0.1; done
inG ip link set tap0 up

# 1. A lease from wtcp's DHCP server.
export UDHCPC_LOG=$tmp/udhcpc.log
if inG timeout 20 busybox udhcpc -i tap0 -f -q -n -t 5 -T 2 -O mtu -s "$root/tests/lan/udhcpc.sh" >"$tmp/udhcpc.out" 2>&1 &&
    grep -q 'ip=10.0.2.15/24 router=10.0.2.2 dns=10.0.2.2 mtu=1500 lease=3600 serverid=10.0.2.2' "$UDHCPC_LOG" &&
    inG ip -4 route show default | grep -q 'via 10.0.2.2'; then
    ok "udhcpc got a lease from the guest LAN: $(cut -d' ' -f2- "$UDHCPC_LOG" | head -1)"
else
    bad "udhcpc lease" "no lease, or not the one expected"
    show "$tmp/udhcpc.out"
    show "$UDHCPC_LOG"
    show "$tmp/gateway.err"
fi
leases=$(inR curl -s "http://127.0.0.1:$control/leases")
mac=$(inG cat /sys/class/net/tap0/address)
if echo "$leases" | grep -q "\"mac\":\"$mac\",\"address\":\"10.0.2.15\",\"state\":\"bound\""; then
    ok "the gateway lists the lease of $mac as bound"
else
    bad "lease table" "$leases (tap0 is $mac)"
fi

# 2. Ping the gateway, and the relay's host through NAT.
if inG ping -c 3 -i 0.2 -W 2 10.0.2.2 >"$tmp/ping1.out" 2>&1; then
    ok "ping the gateway: $(grep -o 'rtt.*' "$tmp/ping1.out")"
else
    bad "ping 10.0.2.2" "$(tail -2 "$tmp/ping1.out")"
fi
if inG ping -c 3 -i 0.2 -W 2 10.77.0.1 >"$tmp/ping2.out" 2>&1; then
    ok "ping the relay's host through NAT: $(grep -o 'rtt.*' "$tmp/ping2.out")"
else
    bad "ping 10.77.0.1" "$(tail -2 "$tmp/ping2.out")"
fi

# 3. A page from JavaScript on the gateway's LAN address.
got=$(inG curl -s --max-time 10 http://10.0.2.2:8080/)
if [ "$got" = "hello from the gateway" ]; then
    ok "curl a page served by Node http over wtcp on 10.0.2.2:8080"
else
    bad "page on the gateway" "got '$got'"
fi

# 4. 32 MiB down and up through NAT, byte-exact.
mib=$((big / 1048576))
if inG curl -s --max-time 120 -o "$tmp/down.bin" -w '%{speed_download}\n' http://10.77.0.1:8000/data.bin >"$tmp/down.speed" &&
    [ "$(sha256sum <"$tmp/down.bin" | cut -d' ' -f1)" = "$sum" ]; then
    ok "guest downloads $mib MiB from the relay's host through NAT, sha256 matches ($(awk '{ printf "%.1f MB/s", $1 / 1e6 }' "$tmp/down.speed"))"
else
    bad "download through NAT" "sha256 or curl failed"
    show "$tmp/gateway.err"
fi
t0=$(date +%s%N)
up=$(inG python3 "$root/tests/lan/transfer.py" send 10.77.0.1 9000 "$tmp/data.bin" 2>&1)
t1=$(date +%s%N)
if [ "$up" = "$big $sum" ]; then
    ok "guest uploads $mib MiB to the relay's host through NAT, sha256 matches ($(awk -v b="$big" -v t="$((t1 - t0))" 'BEGIN { printf "%.1f MB/s", b / (t / 1e9) / 1e6 }'))"
else
    bad "upload through NAT" "the sink says '$up'"
fi

# 5. A name through the gateway's DNS (to the resolver the relay names, through NAT).
got=$(inG busybox nslookup relayhost.test 2>&1 | grep -A1 'Name:.*relayhost.test' | grep -o '10\.77\.0\.1')
if [ "$got" = "10.77.0.1" ]; then
    ok "relayhost.test resolves through the gateway's DNS (resolv.conf from the lease: $(grep nameserver "/etc/netns/$G/resolv.conf" | tr '\n' ' '))"
else
    bad "DNS through the gateway" "$(inG busybox nslookup relayhost.test 2>&1 | tail -3 | tr '\n' ' ')"
fi

# 6. The relay's host reaches the guest's web server through the port forward; the stack's
# own client reaches it on the LAN.
mkdir -p "$tmp/guest-www"
echo "a page inside the guest" >"$tmp/guest-www/guest.txt"
bg guestweb inG python3 -m http.server 8000 --bind 10.0.2.15 --directory "$tmp/guest-www"
for ((i = 0; i < 50; i++)); do inG curl -s -o /dev/null http://10.0.2.15:8000/guest.txt && break; sleep 0.1; done
got=$(inR curl -s --max-time 10 "http://$stack_addr:8022/guest.txt")
if [ "$got" = "a page inside the guest" ]; then
    ok "curl on the relay's host reaches the guest's server through port forward $stack_addr:8022"
else
    bad "port forward" "got '$got'"
fi
got=$(inR curl -s --max-time 10 "http://127.0.0.1:$control/fetch?url=http://10.0.2.15:8000/guest.txt")
if [ "$got" = "a page inside the guest" ]; then
    ok "the stack's own http client fetches from the guest on the LAN"
else
    bad "JS client to the guest" "got '$got'"
fi

stats=$(inR curl -s "http://127.0.0.1:$control/stats")
echo "figure: gateway counters: $(echo "$stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)["stack"]
print(", ".join("%s %d" % (k, s[k]) for k in ("ethIn", "ethOut", "arpIn", "arpOut", "dhcpIn", "dhcpOut", "natOut", "natIn", "natFlows", "drops")),
      "(%s)" % "; ".join("%s: %d" % kv for kv in s["dropReasons"].items()))')"
finish
