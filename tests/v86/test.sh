#!/usr/bin/env bash
# test.sh: a real emulated guest on wtcp. v86 (npm) runs Debian's i386 kernel with a busybox
# initramfs (tests/v86/build-guest.sh, from Debian packages) in Node; wtcp/v86 wires its
# virtio NIC to the npm stack's guest LAN, whose link is wtcp-relay in a network namespace
# of the test's own (TUN wtcp0 10.77.0.1/16 with a web server and a DNS server on
# 10.77.0.1). tests/v86/guest.mjs types into the guest's serial console: a lease from wtcp's
# DHCP server, a ping of the gateway, a page from a JavaScript server on the gateway, 8 MiB
# from the relay's host through NAT with its sha256 printed by the guest and checked, a name
# through the gateway's DNS, and the relay's host reaching the guest's httpd through a port
# forward. The first run boots the guest (~10-20 s) and saves its state in
# BUILD_DIR/v86/state.bin; later runs resume from it.
#
# Usage: tests/v86/test.sh BUILD_DIR   (as root; builds the guest into BUILD_DIR/v86 if
#        missing; needs build/wtcp-relay, bindings/js/dist/wtcp.wasm, the npm v86 package
#        (make js-deps), seabios, python3)
# Environment: V86_BIG (bytes of the download, default 8 MiB), V86_ARGS (more arguments
# for guest.mjs, e.g. "--runs 5").
# Traffic stays in the namespace it makes (wtcp-v86-PID); the EXIT trap removes it, the
# PIDs it started and its temporary directory, also on failure.
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
big=${V86_BIG:-8388608}

fail() {
    echo "FAIL $1: $2"
    echo "0 passed, 1 failed"
    exit 1
}
[ "$(id -u)" -eq 0 ] || fail prerequisites "needs root (a namespace, TUN)"
for f in "$relay" "$root/bindings/js/dist/wtcp.wasm" "$root/bindings/js/node_modules/v86/build/libv86.mjs" \
    /usr/share/seabios/bios.bin; do
    [ -e "$f" ] || fail prerequisites "missing $f (make relay wasm js-deps; apt seabios)"
done
"$root/tests/v86/build-guest.sh" "$build/v86" || fail prerequisites "could not build the guest into $build/v86"

ns=wtcp-v86-$$
tmp=$(mktemp -d /tmp/wtcp-v86.XXXXXX)
chmod 755 "$tmp"
pids=()
made=0
cleanup() {
    local p
    trap '' INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ $made = 1 ]; then
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns" || fail setup "ip netns add $ns"
made=1
ip -n "$ns" link set lo up
inR() { ip netns exec "$ns" "$@"; }

head -c "$big" /dev/urandom >"$tmp/data.bin"
sum=$(sha256sum <"$tmp/data.bin" | cut -d' ' -f1)
mkdir -p "$tmp/www"
ln "$tmp/data.bin" "$tmp/www/data.bin"
inR "$relay" --tun wtcp0 --address 10.77.0.1/16 --listen 127.0.0.1:8787 --dns 10.77.0.1 >"$tmp/relay.out" 2>"$tmp/relay.err" &
pids+=($!)
for ((i = 0; i < 50; i++)); do inR ip -4 addr show wtcp0 2>/dev/null | grep -q 10.77.0.1 && break; sleep 0.1; done
inR python3 -m http.server 8000 --bind 10.77.0.1 --directory "$tmp/www" >"$tmp/web.out" 2>&1 &
pids+=($!)
inR python3 "$root/tests/lan/dns.py" 10.77.0.1 53 relayhost.test=10.77.0.1 >"$tmp/dns.out" 2>&1 &
pids+=($!)
sleep 0.5
# The same guest over Wisp, with no relay: @mercuryworkshop/wisp-js's server on loopback and
# servers on a veth address of the namespace's own (10.88.0.1).
ip -n "$ns" link add far0 type veth peer name far1
ip -n "$ns" addr add 10.88.0.1/24 dev far0
ip -n "$ns" link set far0 up
ip -n "$ns" link set far1 up
inR python3 -m http.server 8000 --bind 10.88.0.1 --directory "$tmp/www" >"$tmp/web2.out" 2>&1 &
pids+=($!)
inR python3 "$root/tests/lan/dns.py" 10.88.0.1 53 far.test=10.88.0.1 >"$tmp/dns2.out" 2>&1 &
pids+=($!)
inR node "$root/tests/wisp/server.mjs" 127.0.0.1 5001 >"$tmp/wisp.out" 2>&1 &
pids+=($!)
sleep 0.5
read -r -a extra <<<"${V86_ARGS:-}"
inR node "$root/tests/v86/guest.mjs" ws://127.0.0.1:8787 "$build/v86" "$sum" "${extra[@]}"
rc=$?
[ $rc -eq 0 ] || tail -5 "$tmp/relay.err" | sed 's/^/     | relay: /'
echo "(the same guest over Wisp)"
inR node "$root/tests/v86/guest.mjs" - "$build/v86" "$sum" --adapter wtcp-wisp "${extra[@]}"
rc2=$?
[ $rc2 -eq 0 ] || tail -5 "$tmp/wisp.out" | sed 's/^/     | wisp: /'
[ $rc -eq 0 ] && [ $rc2 -eq 0 ]
exit $?
