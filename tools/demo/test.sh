#!/usr/bin/env bash
# test.sh: `make demo` checked end to end: tools/demo/run.sh --once inside a network
# namespace of its own (relay, TUN, page server, Node-hosted wtcp server, curl through the
# TUN), then its message when not run as root.
#
# Usage: tools/demo/test.sh BUILD_DIR   (as root; run by tools/run-tests.sh)
# Prints "ok ..." or "FAIL ...: why" per check and "N passed, N failed"; exit 1 on a failure.
# The EXIT trap deletes the namespace (and with it the TUN) even when a check fails.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
ns=wtcp-demo-$$
tmp=$(mktemp -d)
cleanup() {
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
    sleep 0.3
    ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$ns" && ip -n "$ns" link set lo up || { echo "cannot create a namespace"; echo "0 passed, 1 failed"; exit 1; }

# --once: set everything up, curl the Node-hosted server through the TUN, tear down.
t0=$SECONDS
timeout 120 ip netns exec "$ns" "$root/tools/demo/run.sh" --once "$build" >"$tmp/once.out" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q '^Hello from wtcp: a TCP/IPv4 stack in WebAssembly, running in Node' "$tmp/once.out" &&
    grep -q 'curl http://10.77.0.2/' "$tmp/once.out"; then
    ok "make demo --once: relay, page server, Node-hosted server at 10.77.0.2, curl through wtcp0 ($((SECONDS - t0)) s)"
else
    bad "make demo --once" "exit status $st"
    sed 's/^/     | /' "$tmp/once.out"
fi
if grep -q 'stopped; wtcp0 is removed' "$tmp/once.out" && ! ip -n "$ns" link show wtcp0 >/dev/null 2>&1; then
    ok "make demo --once: everything stopped and wtcp0 removed"
else
    bad "make demo --once: clean-up" "wtcp0 still there or no 'stopped' line"
fi

# Not root: a clear message naming what needs root, exit 1, nothing started.
if id nobody >/dev/null 2>&1; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$root/tools/demo/run.sh" "$build" >"$tmp/user.out" 2>&1
    st=$?
    if [ $st -eq 1 ] && grep -q 'make demo needs root' "$tmp/user.out" && grep -q 'TUN device' "$tmp/user.out"; then
        ok "make demo as a user: says what needs root (the TUN device, apt-get) and exits 1"
    else
        bad "make demo as a user" "exit status $st"
        sed 's/^/     | /' "$tmp/user.out"
    fi
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
