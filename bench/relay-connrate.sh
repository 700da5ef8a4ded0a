#!/usr/bin/env bash
# relay-connrate.sh: connection rate through wtcp-relay, as a load generator measures it:
# ApacheBench (ab -c 50, HTTP/1.0: connect, one request, the server closes) against Node's
# http over wtcp/node (the npm package's wasm stack in Node, a relay client), and against
# the same Node http server on kernel TCP in the same namespace, runs alternated.
# Usage: bench/relay-connrate.sh [BUILD_DIR=build]   (root; after make relay wasm js-deps)
# Environment: BENCH_REQUESTS (per run, default 10000), BENCH_RUNS (default 5).
# Prints one JSON row per run (group "relay-conn-rate", metric connections/s). The EXIT
# trap removes the namespace (and the TUN device in it) and stops only what it started.
set -u
build=${1:-build}
build=${build%/}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
case $build in /*) ;; *) build=$root/$build ;; esac
relay=$build/wtcp-relay
peer=(node "$root/tests/interop/peer.mjs")
requests=${BENCH_REQUESTS:-10000}
runs=${BENCH_RUNS:-5}
url=ws://127.0.0.1:8787

die() { echo "relay-connrate: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, TUN)"
for f in "$relay" "$root/bindings/js/dist/wtcp.wasm" "$root/bindings/js/node_modules/ws/package.json"; do
    [ -f "$f" ] || die "missing $f (make relay wasm js-deps)"
done
for c in ip node ab curl timeout; do command -v "$c" >/dev/null 2>&1 || die "missing $c (make deps)"; done

tmp=$(mktemp -d /tmp/wtcp-relay-connrate.XXXXXX)
chmod 755 "$tmp"
pids=()
NS=wtcp-connrate-$$
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

wait_for() { # wait_for SECONDS FILE PATTERN
    local end=$((SECONDS + $1))
    until grep -q "$3" "$2" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}

ip netns add "$NS" || die "cannot create namespace $NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" "$relay" --listen 127.0.0.1:8787 2>"$tmp/relay.log" &
pids+=($!)
wait_for 10 "$tmp/relay.log" ' start version=' || { cat "$tmp/relay.log" >&2; die "the relay did not start"; }
: >"$tmp/empty"
ip netns exec "$NS" "${peer[@]}" serve "$url" "$tmp/empty" 80 >"$tmp/serve.out" 2>"$tmp/serve.err" &
pids+=($!)
ip netns exec "$NS" "${peer[@]}" linux-http 127.0.0.1 8081 >"$tmp/linux.out" 2>&1 &
pids+=($!)
wait_for 20 "$tmp/serve.out" '^address ' || die "the wtcp http server did not start: $(head -c 200 "$tmp/serve.err")"
wait_for 10 "$tmp/linux.out" '^listening' || die "the kernel http server did not start"
addr=$(sed -n 's/^address //p' "$tmp/serve.out")
for _ in $(seq 1 50); do ip netns exec "$NS" curl -sf -m 2 -o /dev/null "http://$addr/whoami" && break; sleep 0.1; done

one() { # one SYSTEM URL: an ab run, its JSON row
    local system=$1 target=$2
    ip netns exec "$NS" timeout 600 ab -q -s 30 -r -n "$requests" -c 50 "$target" >"$tmp/ab.out" 2>&1
    local st=$?
    awk -v s="$system" -v st=$st -v n="$requests" '
        /^Complete requests:/ { c = $3 } /^Failed requests:/ { f = $3 } /^Requests per second:/ { r = $4 }
        END { ok = (st == 0 && c == n && f == 0) ? "true" : "false"
              printf "{\"group\":\"relay-conn-rate\",\"case\":\"connect, one request, close (ab -c 50)\",\"system\":\"%s\",\"metric\":\"connections/s\",\"unit\":\"1/s\",\"value\":%.1f,\"higher_is_better\":true,\"ok\":%s}\n", s, r + 0, ok }' "$tmp/ab.out"
}
for i in $(seq 1 "$runs"); do
    one "wtcp (Node http over wtcp/node)" "http://$addr/whoami"
    one "Linux (the same server, kernel TCP)" "http://127.0.0.1:8081/whoami"
done
