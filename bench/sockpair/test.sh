#!/usr/bin/env bash
# test.sh: smoke test of the two-process benchmark harness for `make test`: wtcp bulk over
# the socketpair (64 MiB, lossless: byte-exact, no receiver drops, no retransmissions but
# tail probes that a loaded machine made needless) and
# one short run through the lossy middle link (byte-exact). Prints "N passed, N failed".
# Usage: bench/sockpair/test.sh BUILD_DIR   (after make BUILD_DIR/bench/sockpair)
set -u
build=${1:-build}
bin=$build/bench/sockpair
passed=0
failed=0
check() { # check NAME ARGS...: runs the harness with --check/--clean ARGS
    local name=$1 out
    shift
    if out=$(timeout 120 "$bin" "$@" 2>&1 >/dev/null); then
        echo "ok   $name: $(echo "$out" | grep -m1 'Gbit/s' )"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        echo "$out" | sed 's/^/     | /'
        failed=$((failed + 1))
    fi
}
if [ ! -x "$bin" ]; then
    echo "FAIL prerequisites: $bin is missing (make $bin)"
    echo "0 passed, 1 failed"
    exit 1
fi
check "two processes, 64 MiB one way, lossless: byte-exact, no drop, no resend but needless tail probes" --bytes 64M --clean
check "two processes, 16 MiB both ways, lossless: byte-exact, no drop, no resend but needless tail probes" --case bulk-both --bytes 16M --clean
check "through the middle link (2 ms RTT, 2 % loss, 2 % reordering), 2 MiB: byte-exact" \
    --bytes 2M --rtt 2 --loss 2 --reorder 2 --seed 7 --check
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
