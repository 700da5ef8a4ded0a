# guest-netns.sh: what the guest-LAN tests share (sourced by tests/lan/test.sh and
# tests/wisp/test.sh): the check counters and their summary line, two network namespaces of
# the test's own (R: the far side; G: the guest, with its own resolv.conf for its DHCP
# script), the clean-up trap (the PIDs it started, the namespaces, /etc/netns/NAME, the
# temporary directory, also on failure), and helpers to run and wait in them.

passed=0
failed=0
ok() {
    echo "ok   $1"
    passed=$((passed + 1))
}
bad() {
    echo "FAIL $1: $2"
    failed=$((failed + 1))
}
show() { tail -n "${2:-12}" "$1" 2>/dev/null | sed 's/^/     | /'; }
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# netns_setup NAME: namespaces NAME-PID-r and NAME-PID-g, $tmp, the trap.
netns_setup() {
    R=$1-$$-r
    G=$1-$$-g
    tmp=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 755 "$tmp"
    pids=()
    made_ns=()
    trap netns_cleanup EXIT
    trap 'exit 130' INT TERM
    local ns
    for ns in "$R" "$G"; do
        ip netns add "$ns" || { bad setup "ip netns add $ns"; finish; }
        made_ns+=("$ns")
        ip -n "$ns" link set lo up
    done
    # `ip netns exec G` mounts this over /etc/resolv.conf: the guest's DHCP script writes it.
    mkdir -p "/etc/netns/$G"
    : >"/etc/netns/$G/resolv.conf"
}
netns_cleanup() {
    local p ns
    trap '' INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    for ns in "${made_ns[@]}"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    rm -rf "$tmp"
}

inR() { ip netns exec "$R" "$@"; }
inG() { ip netns exec "$G" "$@"; }
bg() { # NAME COMMAND...: starts it in the background, output in $tmp/NAME.{out,err}
    local name=$1
    shift
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
}
wait_for() { # SECONDS FILE PATTERN
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        grep -q "$3" "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
