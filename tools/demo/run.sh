#!/usr/bin/env bash
# run.sh: `make demo`, end to end: the relay with its TUN device, the demo page's static
# server and the relay-side test services, a wtcp HTTP server hosted in Node, a curl through
# the TUN to it, then the page URL and the curl command that reaches the server in a tab.
#
# Usage: tools/demo/run.sh [--once] [BUILD_DIR]      (as root; make demo calls it)
#   --once   stop after the curl through the TUN (for tests), instead of waiting for Ctrl-C
# Environment: DEMO_HOST (address the page and the relay listen on, default 127.0.0.1;
# 0.0.0.0 to reach them from another machine), DEMO_WEB_PORT (8080), DEMO_RELAY_PORT (8787),
# DEMO_TUN (wtcp0), DEMO_SUBNET (10.77.0.1/16), DEMO_MTU (65535: a browser's WebSocket
# pays per message, so large packets move 3-5x more through a tab than 1500-byte ones).
# Ctrl-C stops everything this script started; the relay then removes its TUN device.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
once=0
[ "${1:-}" = --once ] && { once=1; shift; }
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
host=${DEMO_HOST:-127.0.0.1}
web_port=${DEMO_WEB_PORT:-8080}
relay_port=${DEMO_RELAY_PORT:-8787}
tun=${DEMO_TUN:-wtcp0}
subnet=${DEMO_SUBNET:-10.77.0.1/16}
mtu=${DEMO_MTU:-65535}
gateway=${subnet%/*}
if [ -t 1 ]; then bold=$'\033[1m' off=$'\033[0m'; else bold= off=; fi
say() { printf '%sdemo:%s %s\n' "$bold" "$off" "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    cat >&2 <<EOF
make demo needs root, for two things:
  1. wtcp-relay creates the TUN device $tun and gives it the address $subnet
     (CAP_NET_ADMIN); this is how the host's curl reaches stacks in Node and in a tab;
  2. missing Debian packages (libwebsockets, emscripten, chromium, curl, ...) are installed
     with apt-get.
Run it as root:   sudo make demo
(Without root you can still run the in-memory demo, two stacks in one process: make demo-pair)
EOF
    exit 1
fi
command -v ip >/dev/null || die "the ip command is missing (iproute2)"

cd "$root" || exit 1
logs=$build/demo
mkdir -p "$logs"
say "installing what is missing and building (make deps relay wasm js-deps)"
make --no-print-directory BUILD="$build" deps relay wasm js-deps >"$logs/make.log" 2>&1 || {
    tail -n 30 "$logs/make.log" >&2
    die "the build failed (full log: $logs/make.log)"
}

if ip link show "$tun" >/dev/null 2>&1; then
    die "a network device $tun already exists (another wtcp-relay running?); stop it, or set DEMO_TUN=other DEMO_SUBNET=10.78.0.1/16"
fi
port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
probe=$host
[ "$probe" = 0.0.0.0 ] && probe=127.0.0.1
for p in "$relay_port" "$web_port"; do
    port_busy "$probe" "$p" && die "port $p on $host is already in use; set DEMO_RELAY_PORT / DEMO_WEB_PORT"
done

# ---- everything started here, stopped on exit (relay last, so it removes the TUN)
pids=()
relay_pid=
cleanup() {
    trap - EXIT INT TERM
    echo
    say "stopping"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ -n "$relay_pid" ]; then
        kill -TERM "$relay_pid" 2>/dev/null
        wait "$relay_pid" 2>/dev/null
    fi
    ip link show "$tun" >/dev/null 2>&1 && say "warning: $tun is still there" || say "stopped; $tun is removed"
}
trap cleanup EXIT
trap 'exit 0' INT TERM
wait_for() { # SECONDS COMMAND...: poll until COMMAND succeeds
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.2
    done
}

say "starting wtcp-relay: TUN $tun $subnet MTU $mtu, WebSocket ws://$host:$relay_port/"
"$build/wtcp-relay" --tun "$tun" --address "$subnet" --mtu "$mtu" --listen "$host:$relay_port" \
    --metrics 127.0.0.1:9187 2>"$logs/relay.log" &
relay_pid=$!
tun_up() { ip -4 addr show dev "$tun" 2>/dev/null | grep -q "inet $gateway/"; }
wait_for 10 tun_up || { cat "$logs/relay.log" >&2; die "the relay did not bring $tun up (log above)"; }

WTCP_GUEST_DIR="$build/v86" node web/serve.mjs --listen "$host:$web_port" >"$logs/web.log" 2>&1 &
pids+=($!)
# What the guest on the emulator page fetches from the relay's host.
node web/serve.mjs --listen "$gateway:8081" >"$logs/web-relay-host.log" 2>&1 &
pids+=($!)
node web/services.mjs --host "$gateway" >"$logs/services.log" 2>&1 &
pids+=($!)
node tools/demo/node-server.mjs "ws://$probe:$relay_port/" >"$logs/node-server.log" 2>&1 &
pids+=($!)
node_addr() { grep -m1 -o '^address [0-9.]*' "$logs/node-server.log" | cut -d' ' -f2; }
has_addr() { [ -n "$(node_addr)" ]; }
wait_for 15 has_addr || { cat "$logs/node-server.log" >&2; die "the Node-hosted wtcp server got no address"; }
addr=$(node_addr)
web_up() { curl -s -o /dev/null -m 2 "http://$probe:$web_port/"; }
wait_for 10 web_up || { cat "$logs/web.log" >&2; die "the page's static server did not start"; }

say "the Node-hosted wtcp stack has $addr; fetching a page from it through $tun:"
echo "\$ curl http://$addr/"
if ! curl -sS -m 10 "http://$addr/"; then
    cat "$logs/relay.log" "$logs/node-server.log" >&2
    die "curl could not reach the Node-hosted server (logs above)"
fi
[ $once -eq 1 ] && exit 0
# The emulator page's guest (Debian's i386 kernel and busybox, downloaded once).
say "building the emulator page's guest (once: Debian's i386 kernel and busybox)"
tests/v86/build-guest.sh "$build/v86" >"$logs/guest-build.log" 2>&1 ||
    say "(the emulator page's guest could not be built: $logs/guest-build.log)"

page_host=$host
[ "$host" = 0.0.0.0 ] && page_host=$(hostname -I 2>/dev/null | awk '{ print $1 }')
cat <<EOF

$(say "running. Open the page:")
    http://${page_host:-127.0.0.1}:$web_port/
  It joins the relay, gets an address and serves HTTP on port 80 inside the tab. The next
  client gets $(echo "$addr" | awk -F. '{ printf "%s.%s.%s.%d", $1, $2, $3, $4 + 1 }'), so this reaches the first tab you open:
    curl http://$(echo "$addr" | awk -F. '{ printf "%s.%s.%s.%d", $1, $2, $3, $4 + 1 }')/
  (the page shows its own address and command; joins are listed below)
  A Linux guest in v86 on the tab's own guest LAN (DHCP, NAT by wtcp):
    http://${page_host:-127.0.0.1}:$web_port/v86.html
  Node-hosted server: curl http://$addr/stats.json      logs: $logs/
  Ctrl-C stops everything and removes $tun.
EOF
# Follow the relay's log: name every client that joins or leaves.
tail -n +1 -F --pid=$$ "$logs/relay.log" 2>/dev/null | while read -r line; do
    case $line in
    *"connect client="*"kind=ws"*)
        a=${line#*client=}
        a=${a%% *}
        [ "$a" = "$addr" ] || say "a client joined with $a: curl http://$a/" ;;
    *"close client="*"kind=ws"*)
        a=${line#*client=}
        a=${a%% *}
        [ "$a" = "$addr" ] || say "client $a left" ;;
    esac
done &
pids+=($!)
wait "$relay_pid"
relay_pid=
die "the relay stopped (log: $logs/relay.log)"
