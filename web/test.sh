#!/usr/bin/env bash
# test.sh: end-to-end test of the web demo (web/), as root: a network namespace with the
# relay (TUN wtcp0), the static server, the TCP services, and headless Chromium driven
# by web/test/browser.mjs. Prints "ok ..." / "FAIL ...: why" lines, then
# "N passed, N failed"; exit status 1 on any failure.
#
# Usage: web/test.sh BUILD_DIR      (needs BUILD_DIR/wtcp-relay, bindings/js/dist/wtcp.wasm,
#                                    bindings/js/node_modules and /usr/bin/chromium)
# WEB_TEST_MTU sets the relay's MTU (default 1500; make test also runs 65535, as make demo).
# WEB_PROFILE=1 (a diagnostic) runs the protocol 2 speed test with 48 MiB under Chromium's
# CPU profiler and prints the tab's top functions by self time. WEB_SPEED_MIB sets the size
# of that speed test (default 8, 48 with WEB_PROFILE); WEB_BARE_MIB that of the bare tab's
# (web/test/bare-speed.mjs, default 32), WEB_BARE_ORDER the order of its two protocols
# (default "2 1").
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || { echo "$0: no such build directory: $1" >&2; exit 2; }
cd "$root" || exit 2

passed=0
failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

ns=wtcp-web-$$
tmp=$(mktemp -d /tmp/wtcp-web.XXXXXX)
pids=()
ns_made=0

cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$p" 2>/dev/null
    done
    # a relay browser.mjs started for its reconnect check (it normally stops it itself)
    if [ -s "$tmp/relay2.pid" ]; then kill "$(cat "$tmp/relay2.pid")" 2>/dev/null; sleep 0.3; fi
    if [ "$ns_made" = 1 ]; then
        # whatever still runs inside our namespace (e.g. a Chromium left by a crashed driver)
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns delete "$ns" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

for f in "$build/wtcp-relay" bindings/js/dist/wtcp.wasm bindings/js/node_modules/playwright-core/package.json; do
    if [ ! -e "$f" ]; then
        fail "prerequisites: $f is missing"
        finish
    fi
done
if [ "$(id -u)" != 0 ]; then
    fail "prerequisites: needs root (network namespace, TUN)"
    finish
fi

# ---- the namespace ----
if ip netns add "$ns" && ip -n "$ns" link set lo up; then
    ns_made=1
    ok "namespace $ns with lo up"
else
    fail "namespace: cannot create $ns"
    finish
fi
# (background jobs use `ip netns exec` directly so that $! is the program itself)
nsexec() { ip netns exec "$ns" "$@"; }

# ---- the relay ----
ip netns exec "$ns" "$build/wtcp-relay" --listen 127.0.0.1:8787 --metrics 127.0.0.1:9188 --mtu "${WEB_TEST_MTU:-1500}" >"$tmp/relay.log" 2>&1 &
relay_pid=$!
pids+=("$relay_pid")
up=0
for _ in $(seq 1 50); do
    if ip -n "$ns" addr show wtcp0 2>/dev/null | grep -q 'inet 10\.77\.0\.1/'; then up=1; break; fi
    kill -0 "$relay_pid" 2>/dev/null || break
    sleep 0.1
done
if [ "$up" = 1 ]; then
    ok "relay up: wtcp0 has 10.77.0.1"
else
    fail "relay: wtcp0 never got 10.77.0.1: $(tail -n 3 "$tmp/relay.log" | tr '\n' ' ')"
    finish
fi

# ---- the static server and the services ----
WTCP_GUEST_DIR="$build/v86" ip netns exec "$ns" node web/serve.mjs --listen 127.0.0.1:8080 >"$tmp/serve.log" 2>&1 &
pids+=("$!")
ip netns exec "$ns" node web/services.mjs --host 10.77.0.1 >"$tmp/services.log" 2>&1 &
pids+=("$!")
ready=0
for _ in $(seq 1 50); do
    if grep -q '^serving http://127.0.0.1:8080/' "$tmp/serve.log" && grep -q '^services on 10.77.0.1' "$tmp/services.log"; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ "$ready" = 1 ]; then
    ok "serve.mjs and services.mjs started"
else
    fail "servers: not ready: $(cat "$tmp/serve.log" "$tmp/services.log" | tr '\n' ' ')"
    finish
fi

# quick checks of the static server from the namespace
code=$(nsexec curl -s -o /dev/null -w '%{http_code} %{content_type}' http://127.0.0.1:8080/wtcp/dist/wtcp.wasm)
if [ "$code" = "200 application/wasm" ]; then ok "serve.mjs: wtcp.wasm as application/wasm"; else fail "serve.mjs: wtcp.wasm: $code"; fi
code=$(nsexec curl -s -o /dev/null -w '%{http_code}' --path-as-is http://127.0.0.1:8080/wtcp/lib/../../package.json)
if [ "$code" = 404 ]; then ok "serve.mjs: refuses a path escape"; else fail "serve.mjs: path escape gave $code"; fi

# ---- the speed test in a bare tab: no automation on the page (web/test/bare-speed.mjs) ----
for v in ${WEB_BARE_ORDER:-2 1}; do
    q=; [ $v = 1 ] && q='?v=1'
    all=$(timeout 150 ip netns exec "$ns" node web/test/bare-speed.mjs "http://127.0.0.1:8080/$q" "${WEB_BARE_MIB:-32}" 2>&1)
    out=$(echo "$all" | grep '^{' | tail -1)
    if echo "$out" | grep -q "^{\"version\":$v,\"down\""; then
        ok "bare tab (no DevTools domains but Runtime), protocol $v: the speed test ran"
        echo "figure: Chromium speed test in a bare tab, protocol $v: $(echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("download %s Mbit/s, upload %s Mbit/s" % (r["down"], r["up"]))')"
    else
        fail "bare tab, protocol $v: ${out:-$(echo "$all" | tail -4 | tr '\n' ' ')}"
    fi
done

# ---- the emulator page: a Linux guest in v86 in a tab, on the tab's guest LAN ----
mkdir -p "$build/artifacts"
if tests/v86/build-guest.sh "$build/v86" >"$tmp/guest-build.log" 2>&1; then
    ip netns exec "$ns" node web/serve.mjs --listen 10.77.0.1:8081 >"$tmp/serve2.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 1 50); do grep -q '^serving' "$tmp/serve2.log" && break; sleep 0.1; done
    out=$(timeout 200 ip netns exec "$ns" node web/test/v86-page.mjs "$build" "http://127.0.0.1:8080/v86.html?auto=1" 2>&1)
    echo "$out"
    passed=$((passed + $(echo "$out" | grep -c '^ok ')))
    failed=$((failed + $(echo "$out" | grep -c '^FAIL')))
    echo "$out" | grep -q '^ok ' || fail "v86-page.mjs: no checks ran"
    # The same page over Wisp (no relay for the guest): @mercuryworkshop/wisp-js's server.
    ip netns exec "$ns" node tests/wisp/server.mjs 127.0.0.1 5001 >"$tmp/wisp.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 1 50); do grep -q '^wisp ' "$tmp/wisp.log" && break; sleep 0.1; done
    out=$(V86_PAGE_SHOT=web-v86-wisp.png timeout 200 ip netns exec "$ns" node web/test/v86-page.mjs "$build" \
        "http://127.0.0.1:8080/v86.html?auto=1&wisp=ws://127.0.0.1:5001/" 2>&1 | sed 's/^\(ok\|FAIL\) v86 in a tab/\1 v86 in a tab over Wisp/')
    echo "$out"
    passed=$((passed + $(echo "$out" | grep -c '^ok ')))
    failed=$((failed + $(echo "$out" | grep -c '^FAIL')))
    echo "$out" | grep -q '^ok ' || fail "v86-page.mjs over Wisp: no checks ran"
else
    fail "the v86 guest could not be built: $(tail -2 "$tmp/guest-build.log" | tr '\n' ' ')"
fi

# ---- the browser ----
RELAY_PID=$relay_pid RELAY2_PIDFILE=$tmp/relay2.pid timeout 80 ip netns exec "$ns" node web/test/browser.mjs "$build" 2>&1 | tee "$tmp/browser.log"
status=${PIPESTATUS[0]}
b_ok=$(grep -c '^ok ' "$tmp/browser.log")
b_fail=$(grep -c '^FAIL' "$tmp/browser.log")
passed=$((passed + b_ok))
failed=$((failed + b_fail))
if [ "$status" -ne 0 ] && [ "$b_fail" -eq 0 ]; then
    fail "browser.mjs: exit status $status"
fi
if [ "$b_ok" -eq 0 ]; then
    fail "browser.mjs: no checks ran"
fi
if [ "$failed" -ne 0 ]; then
    echo "--- relay log (last 15 lines)"
    tail -n 15 "$tmp/relay.log"
fi
finish
