#!/usr/bin/env bash
# run-tests.sh: the `make test` driver. Runs every test suite in order, shows each one's
# output, keeps going after a failure, then prints a table of suites and one final line
# "N passed, N failed" (N counts suites). Exit status 1 if any suite failed.
#
# Usage: tools/run-tests.sh BUILD_DIR        (after `make all` and the sanitizer targets)
# Environment: SUITE_TIMEOUT (seconds per suite, default 900), SIMNET_SAN_BYTES (bytes
# each way for the sanitizer simnet's default cells, e.g. 4M; default: simnet's own,
# 16 MiB; the vanished-peer cells have fixed sizes), SIMNET_ARGS (extra arguments for
# every simnet run).
#
# simnet runs three times: "simnet" = the default cells and the vanished-peer cells
# (retransmission timeout and keepalive against a peer whose packets all vanish),
# "simnet-matrix" = the 64-cell fault matrix (loss x reordering x duplication x
# corruption x delay, 16 MiB each way, ~15 s on 2 cores), both plain; "simnet-san" = the
# default and vanished-peer cells under ASan/UBSan. The matrix is not run under the
# sanitizers: it exercises the same code paths as the default cells in more
# combinations (it would add ~30 s there).
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=${1%/}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

suite_timeout=${SUITE_TIMEOUT:-900}
san_args=()
if [ -n "${SIMNET_SAN_BYTES:-}" ]; then
    san_args=(--bytes "$SIMNET_SAN_BYTES")
fi
read -r -a simnet_args <<<"${SIMNET_ARGS:-}"

# Sanitizers: stop at the first error with a stack trace.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ -t 1 ]; then
    c_ok=$'\e[32m' c_bad=$'\e[31m' c_dim=$'\e[1m' c_off=$'\e[0m'
else
    c_ok='' c_bad='' c_dim='' c_off=''
fi

names=()
results=()
notes=()
times=()
have_timeout=0
command -v timeout >/dev/null 2>&1 && have_timeout=1

record() { # name, result (pass|FAIL|skip), note, seconds
    names+=("$1")
    results+=("$2")
    notes+=("$3")
    times+=("$4")
}

now_ms() { date +%s%3N; }

# run_suite NAME COMMAND...: runs one suite, shows its output, records the outcome.
run_suite() {
    local name=$1
    shift
    echo
    echo "${c_dim}==== ${name}: $*${c_off}"
    local t0 t1 rc
    t0=$(now_ms)
    if [ $have_timeout -eq 1 ]; then
        timeout --kill-after=10 "$suite_timeout" "$@"
    else
        "$@"
    fi
    rc=$?
    t1=$(now_ms)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
    if [ $rc -eq 0 ]; then
        echo "${c_ok}---- ${name}: pass${c_off} (${secs} s)"
        record "$name" pass "" "$secs"
    else
        local note="exit status $rc"
        if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
            note="timed out after ${suite_timeout} s"
        elif [ $rc -gt 128 ]; then
            note="killed by signal $((rc - 128))"
        fi
        echo "${c_bad}---- ${name}: FAIL${c_off} (${note}, ${secs} s)"
        record "$name" FAIL "$note" "$secs"
    fi
}

# skip_suite NAME REASON: a suite that could not run counts as failed.
skip_suite() {
    echo
    echo "${c_dim}==== $1${c_off}"
    echo "${c_bad}---- $1: not run: $2${c_off}"
    record "$1" FAIL "not run: $2" "0.0"
}

# run_binary NAME BINARY ARGS...: run_suite, or a skip when the binary is missing.
run_binary() {
    local name=$1 bin=$2
    if [ ! -x "$bin" ]; then
        skip_suite "$name" "$bin is missing (not built?)"
        return
    fi
    run_suite "$@"
}

# 1. Portability and purity checks on the core.
run_suite check-core make --no-print-directory check-core BUILD="$build"

# 2. and 3. Unit tests, plain then under ASan/UBSan.
unit_suites() { # dir label
    local dir=$1 label=$2 found=0 t
    for t in "$dir"/test_*; do
        [ -e "$t" ] || continue
        if [ ! -f "$t" ] || [ ! -x "$t" ]; then
            continue
        fi
        case $t in *.o | *.d | *.dSYM) continue ;; esac
        found=1
        run_suite "$label/$(basename "$t")" "$t"
    done
    if [ $found -eq 0 ]; then
        skip_suite "$label" "no test_* binaries in $dir"
    fi
}
unit_suites "$build/tests" unit
unit_suites "$build/tests-san" unit-san

# 4. Packet scripts.
shopt -s nullglob
pkts=(tests/pkt/*.pkt)
shopt -u nullglob
if [ ${#pkts[@]} -eq 0 ]; then
    skip_suite pktrun "no scripts in tests/pkt/"
    skip_suite pktrun-san "no scripts in tests/pkt/"
else
    run_binary pktrun "$build/wtcp-pktrun" "${pkts[@]}"
    run_binary pktrun-san "$build/wtcp-pktrun-san" "${pkts[@]}"
fi

# 5. Two stacks over a faulty link: default and vanished-peer cells, the matrix, then the
# default and vanished-peer cells under the sanitizers.
run_binary simnet "$build/tests/simnet" --default --vanish "${simnet_args[@]}"
run_binary simnet-matrix "$build/tests/simnet" --matrix "${simnet_args[@]}"
run_binary simnet-san "$build/tests-san/simnet" --default --vanish "${san_args[@]}" "${simnet_args[@]}"

# 6. The other parts of the project: each brings its own test driver (the last four need
# root: network namespaces, TUN devices, nftables).
for part_test in tests/fuzz/test.sh wasi/test.sh tests/posix/test.sh tests/posix/netdb.sh bindings/js/test.sh relay/test.sh relay/test_abuse.sh \
    tests/interop/test.sh tests/lan/test.sh tests/wisp/test.sh tests/v86/test.sh web/test.sh tools/demo/test.sh bench/sockpair/test.sh tests/soak/test.sh; do
    if [ -x "$part_test" ]; then
        suite=$(dirname "$part_test")
        base=$(basename "$part_test" .sh)
        [ "$base" != test ] && suite="$suite-${base#test_}" # relay/test_abuse.sh: relay-abuse
        run_suite "$suite" "$part_test" "$build"
    else
        skip_suite "$(dirname "$part_test")" "$part_test is missing or not executable"
    fi
done
# The page again with the relay at the MTU make demo uses (large packets, few messages).
if [ -x web/test.sh ]; then
    run_suite web-mtu65535 env WEB_TEST_MTU=65535 web/test.sh "$build"
fi

# Summary.
passed=0
failed=0
width=5
for n in "${names[@]}"; do
    if [ ${#n} -gt "$width" ]; then
        width=${#n}
    fi
done
echo
echo "${c_dim}==== summary${c_off}"
printf "%-${width}s  %-6s %8s  %s\n" suite result "time(s)" note
for i in "${!names[@]}"; do
    r=${results[$i]}
    if [ "$r" = pass ]; then
        passed=$((passed + 1))
        col=$c_ok
    else
        failed=$((failed + 1))
        col=$c_bad
    fi
    printf "%-${width}s  %s%-6s%s %8s  %s\n" "${names[$i]}" "$col" "$r" "$c_off" "${times[$i]}" "${notes[$i]}"
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
