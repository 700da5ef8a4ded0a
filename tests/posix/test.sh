#!/usr/bin/env bash
# test.sh: the BSD-sockets layer for WASI programs (issue 16). Each program in
# tests/posix/progs/ is built twice (tests/posix/posix.mk): natively against Linux's own
# sockets, and for wasm32-wasi against build/wasi/libwtcp-posix.a. Every check runs it both
# ways in a network namespace of its own: natively against peers on 127.0.0.1, and as wasm
# under `wtcp-relay exec -- node wasi/run.mjs` (the program at 10.77.0.2, its peers at
# 10.77.0.1), and compares what a user sees: stdout lines, files written, exit statuses,
# what curl, socat and Python saw.
#
# Usage: tests/posix/test.sh BUILD_DIR    (as root, after `make wasi relay` and the
#        programs: build/tests/posix/native/NAME, build/tests/posix/wasm/NAME.wasm)
# Environment: POSIX_BIG (bytes of the large transfers, default 32 MiB); POSIX_ONLY=native
# runs only the native half (a developer's aid; `make test` runs both); POSIX_KEEP=1 keeps
# the temporary directory (every program's output) and names it.
# tests/posix/errors.expected holds Linux's answers to errors.c's first section, as this
# kernel (6.x) gives them; the native run checks it still does.
#
# In the default mode the layer sends a wasm program's stdout to its stderr (its real
# stdout carries the packets): the wasm half reads the program's lines from there, minus
# its diagnostics (lines starting "NAME:" or "run.mjs:"). chat runs with `exec --fifo`,
# where the program's stdin/stdout are its own.
# Traffic stays on the loopback and TUN of namespaces made here (wtcp-posix-PID-N); the
# EXIT trap removes them, /etc/netns/NAME, the PIDs started here and the temporary
# directory, also on failure. Prints "ok ..."/"FAIL ...: why" and "N passed, N failed".
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
nat=$build/tests/posix/native
wasm=$build/tests/posix/wasm
peers=(python3 "$root/tests/posix/peers.py")
run=(node "$root/wasi/run.mjs")
big=${POSIX_BIG:-33554432}
only=${POSIX_ONLY:-}
progs=(echo_select httpd_poll http_get nbconnect udp_server udp_client rcvtimeo chat errors upload alarm_timeout)

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
show() { # the last lines of a file, indented, under a failure
    tail -n "${2:-12}" "$1" 2>/dev/null | sed 's/^/     | /'
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# ---- prerequisites
missing=()
[ "$(id -u)" -eq 0 ] || missing+=("root (namespaces and TUN devices)")
for c in ip node curl socat nft python3 sha256sum timeout ss; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
[ -x "$relay" ] || missing+=("$relay (make relay)")
for p in "${progs[@]}"; do
    [ -x "$nat/$p" ] || missing+=("$nat/$p")
done
[ -c /dev/net/tun ] || missing+=(/dev/net/tun)
if [ ${#missing[@]} -gt 0 ]; then
    bad "prerequisites" "missing ${missing[*]}"
    finish
fi
have_wasm() { # have_wasm NAME CHECK: the wasm build exists (else a FAIL that says so)
    if [ "$only" = native ]; then
        echo "skip $2 (wasm): POSIX_ONLY=native"
        return 1
    fi
    [ -f "$wasm/$1.wasm" ] && return 0
    if [ -f "$build/wasi/libwtcp-posix.a" ]; then
        bad "$2 (wasm)" "$wasm/$1.wasm is missing: it did not build against the layer (make $wasm/$1.wasm)"
    else
        bad "$2 (wasm)" "$wasm/$1.wasm is missing: no $build/wasi/libwtcp-posix.a yet (make wasi, then the programs)"
    fi
    return 1
}

# ---- bookkeeping and cleanup: only what this script started or made
tmp=$(mktemp -d /tmp/wtcp-posix-test.XXXXXX)
chmod 755 "$tmp"
pids=()
namespaces=()
cleanup() {
    local p ns
    trap '' INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    for ns in "${namespaces[@]}"; do
        # whatever still runs in a namespace made here was started here
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns exec "$ns" nft delete table inet wtcp_posix_test 2>/dev/null
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    [ -n "${POSIX_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsn=0
NS=
new_ns() { # a fresh namespace with loopback up, in $NS
    nsn=$((nsn + 1))
    NS="wtcp-posix-$$-$nsn"
    ip netns add "$NS" || return 1
    namespaces+=("$NS")
    ip -n "$NS" link set lo up
}
# Foreground commands run in the background and are waited for, so that a signal ends the
# script at once (stdin is kept: <&0).
in_ns() {
    ip netns exec "$NS" "$@" <&0 &
    wait $!
}
bg() { # bg LOG COMMAND...: in $NS in the background, stdout LOG.out, stderr LOG.err; PID in $BG
    local log=$1
    shift
    ip netns exec "$NS" "$@" >"$log.out" 2>"$log.err" </dev/null &
    BG=$!
    pids+=("$BG")
}
stop() { # stop PID: TERM, wait up to 5 s, KILL; the exit status in $STOPPED
    kill -TERM "$1" 2>/dev/null
    local i
    for i in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    STOPPED=$?
}
wait_until() { # wait_until SECONDS COMMAND...: retry every 0.1 s
    local end=$((SECONDS + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
has_line() { grep -q -- "$2" "$1" 2>/dev/null; }
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
now_ms() { date +%s%3N; }
free_port() { # a TCP and UDP port nothing in $NS uses
    local p
    while :; do
        p=$((20000 + RANDOM % 30000))
        ip netns exec "$NS" ss -Htuan 2>/dev/null | awk '{ print $5 }' | grep -q ":$p\$" || break
    done
    echo "$p"
}
tun_up() { ip -n "$NS" -4 addr show dev "${1:-wtcp0}" 2>/dev/null | grep -q "inet ${2:-10.77.0.1}/"; }

# WASM PROG ERRFILE ARG...: the relay command line in the array W: `wtcp-relay exec
# RELAY_OPTS -- node run.mjs RUN_OPTS PROG.wasm ARG...` with the program's stderr (and so
# its stdout, in the default mode) in ERRFILE, apart from the relay's log.
RELAY_OPTS=()
RUN_OPTS=()
W=()
wasm_cmd() {
    local prog=$1 err=$2
    shift 2
    W=("$relay" exec "${RELAY_OPTS[@]}" -- bash -c 'e=$1; shift; exec "$@" 2>"$e"' wrap "$err"
        "${run[@]}" "${RUN_OPTS[@]}" "$wasm/$prog.wasm" "$@")
}
# The user's view of a wasm program's output: its lines minus its own diagnostics.
user_lines() { grep -v -E "^($2|run\.mjs): " "$1" 2>/dev/null; }
same() { # same FILE1 FILE2: identical, else a diff under the failure
    cmp -s "$1" "$2" && return 0
    diff "$1" "$2" | head -20 | sed 's/^/     | /'
    return 1
}

# ---- data
mkdir -p "$tmp/www" "$tmp/out" "$tmp/etc-n" "$tmp/etc-w"
chmod 777 "$tmp/out"
head -c "$big" /dev/urandom >"$tmp/www/big.bin"
head -c 1048576 /dev/urandom >"$tmp/www/mid.bin"
echo "hello from httpd_poll" >"$tmp/www/index.html"
printf 'small file\n' >"$tmp/www/small.txt"
chmod -R a+rX "$tmp/www"
big_sha=$(sha "$tmp/www/big.bin")
mid_sha=$(sha "$tmp/www/mid.bin")
big_mib=$(awk -v b="$big" 'BEGIN { printf "%g", b / 1048576 }')
for i in 1 2 3 4; do head -c $((200000 + i * 12345)) /dev/urandom >"$tmp/socat.$i.in"; done

# ================================================================ 1. echo_select
# SIDE HOST LOG: 4 socat clients at once, then 50 Python clients at once, against the server
echo_clients() {
    local side=$1 host=$2 port=$3 log=$4 i good=0 spid=()
    for i in 1 2 3 4; do
        ip netns exec "$NS" timeout 30 socat -t 10 - "TCP:$host:$port" <"$tmp/socat.$i.in" >"$tmp/socat.$side.$i.out" 2>"$tmp/socat.$side.$i.err" &
        spid[$i]=$!
    done
    for i in 1 2 3 4; do
        wait "${spid[$i]}" && cmp -s "$tmp/socat.$i.in" "$tmp/socat.$side.$i.out" && good=$((good + 1))
    done
    [ $good -eq 4 ] && ok "1 echo_select ($side): 4 socat clients at once, each echo byte-exact" ||
        { bad "1 echo_select ($side): 4 socat clients" "$good of 4 byte-exact"; show "$tmp/socat.$side.1.err" 3; show "$log" 5; }
    local out
    out=$(in_ns timeout 60 "${peers[@]}" echo-clients "$host" "$port" 50 100000 2>"$tmp/echo50.$side.err")
    [ "$out" = "50 of 50 byte-exact" ] && ok "1 echo_select ($side): 50 concurrent Python clients, 100 kB each, byte-exact" ||
        { bad "1 echo_select ($side): 50 concurrent clients" "$out"; show "$tmp/echo50.$side.err" 5; show "$log" 5; }
}
# the server's own account: connections opened and closed, bytes echoed
echo_summary() {
    awk '/^open #/ { o++ } /^close #/ { c++; b += $4; if ($0 ~ /\(/) e++ }
         END { printf "opened %d, closed %d, %d bytes echoed, %d errors\n", o, c, b, e }' "$1"
}
n_echo=$((4 + 50))
echo_bytes=$(( $(cat "$tmp"/socat.?.in | wc -c) + 50 * 100000 ))
echo_want="opened $n_echo, closed $n_echo, $echo_bytes bytes echoed, 0 errors"

new_ns
port=$(free_port)
bg "$tmp/echo.n" "$nat/echo_select" "$port"
echo_pid=$BG
if wait_until 10 has_line "$tmp/echo.n.out" "^listening on $port\$"; then
    echo_clients native 127.0.0.1 "$port" "$tmp/echo.n.out"
    sleep 0.3
    sum_n=$(echo_summary "$tmp/echo.n.out")
    [ "$sum_n" = "$echo_want" ] && ok "1 echo_select (native): its output: $sum_n" ||
        { bad "1 echo_select (native): its output" "$sum_n, want $echo_want"; show "$tmp/echo.n.out" 5; }
else
    bad "1 echo_select (native)" "did not print 'listening on $port'"
    show "$tmp/echo.n.err"
fi
stop "$echo_pid"

if have_wasm echo_select "1 echo_select"; then
    new_ns
    port=$(free_port)
    wasm_cmd echo_select "$tmp/echo.w.prog" "$port"
    bg "$tmp/echo.w.relay" "${W[@]}"
    echo_pid=$BG
    if wait_until 10 tun_up && wait_until 20 has_line "$tmp/echo.w.prog" "^listening on $port\$"; then
        echo_clients wasm 10.77.0.2 "$port" "$tmp/echo.w.prog"
        sleep 0.5
        user_lines "$tmp/echo.w.prog" echo_select >"$tmp/echo.w.out"
        sum_w=$(echo_summary "$tmp/echo.w.out")
        [ "$sum_w" = "$echo_want" ] && ok "1 echo_select (wasm): its output: $sum_w, as native" ||
            { bad "1 echo_select (wasm): its output" "$sum_w, want $echo_want"; show "$tmp/echo.w.out" 5; }
    else
        bad "1 echo_select (wasm)" "did not print 'listening on $port'"
        show "$tmp/echo.w.prog"
        show "$tmp/echo.w.relay.err"
    fi
    stop "$echo_pid"
fi

# ================================================================ 2. httpd_poll
# SIDE HOST PORT LOG OUT: the checks, with the server's output up to the concurrent part
# copied to OUT (it must be the same both ways)
httpd_checks() {
    local side=$1 host=$2 port=$3 log=$4 snap=$5 u="http://$2:$3"
    local body conns head code i good=0 cpid=()
    body=$(in_ns curl -sS -m 10 "$u/index.html" 2>&1)
    [ "$body" = "hello from httpd_poll" ] && ok "2 httpd_poll ($side): curl gets index.html" ||
        { bad "2 httpd_poll ($side): index.html" "got '$body'"; show "$log" 5; }
    conns=$(in_ns curl -sS -m 20 -w '%{num_connects} %{http_code} %{size_download}\n' -o /dev/null "$u/small.txt" \
        -o /dev/null "$u/index.html" -o /dev/null "$u/" -o /dev/null "$u/small.txt" 2>&1 | tr '\n' ' ')
    [ "$conns" = "1 200 11 0 200 22 0 200 22 0 200 11 " ] &&
        ok "2 httpd_poll ($side): keep-alive: curl fetches 4 URLs over 1 connection" ||
        { bad "2 httpd_poll ($side): keep-alive" "curl says '$conns' (connects, status, size per URL)"; show "$log" 5; }
    head=$(in_ns curl -sS -m 10 -I "$u/mid.bin" 2>&1 | tr -d '\r' | grep -i -E '^(HTTP/|Content-Length:)' | tr '\n' ' ')
    [ "$head" = "HTTP/1.1 200 OK Content-Length: 1048576 " ] && ok "2 httpd_poll ($side): HEAD gives the status and Content-Length, no body" ||
        { bad "2 httpd_poll ($side): HEAD" "'$head'"; show "$log" 5; }
    code=$(in_ns curl -s -m 10 -o /dev/null -w '%{http_code}' "$u/no-such-file")
    [ "$code" = 404 ] && ok "2 httpd_poll ($side): a missing file gives 404" || bad "2 httpd_poll ($side): 404" "status $code"
    rm -f "$tmp/out/h.$side.big"
    in_ns curl -sS -m 120 -o "$tmp/out/h.$side.big" "$u/big.bin" 2>"$tmp/h.$side.curl"
    [ "$(sha "$tmp/out/h.$side.big")" = "$big_sha" ] && ok "2 httpd_poll ($side): $big_mib MiB byte-exact (sha256)" ||
        { bad "2 httpd_poll ($side): $big_mib MiB" "sha256 differs ($(stat -c %s "$tmp/out/h.$side.big" 2>/dev/null) bytes)"; show "$tmp/h.$side.curl" 3; show "$log" 5; }
    rm -f "$tmp/out/h.$side.big"
    sleep 0.2
    cp "$log" "$snap"
    for i in $(seq 1 50); do
        ip netns exec "$NS" curl -sS -m 60 -o "$tmp/out/h.$side.par.$i" "$u/mid.bin" 2>/dev/null &
        cpid[$i]=$!
    done
    for i in $(seq 1 50); do
        wait "${cpid[$i]}" && [ "$(sha "$tmp/out/h.$side.par.$i")" = "$mid_sha" ] && good=$((good + 1))
    done
    rm -f "$tmp/out/h.$side.par."*
    [ $good -eq 50 ] && ok "2 httpd_poll ($side): 50 concurrent curls of 1 MiB, all byte-exact" ||
        { bad "2 httpd_poll ($side): 50 concurrent curls" "$good of 50 byte-exact"; show "$log" 5; }
}

new_ns
port=$(free_port)
bg "$tmp/httpd.n" "$nat/httpd_poll" "$port" "$tmp/www"
httpd_pid=$BG
if wait_until 10 has_line "$tmp/httpd.n.out" "^listening on $port\$"; then
    httpd_checks native 127.0.0.1 "$port" "$tmp/httpd.n.out" "$tmp/httpd.n.snap"
else
    bad "2 httpd_poll (native)" "did not print 'listening on $port'"
    show "$tmp/httpd.n.err"
fi
stop "$httpd_pid"

if have_wasm httpd_poll "2 httpd_poll"; then
    new_ns
    port=$(free_port)
    RUN_OPTS=(--dir "$tmp/www=/www")
    wasm_cmd httpd_poll "$tmp/httpd.w.prog" "$port" /www
    RUN_OPTS=()
    bg "$tmp/httpd.w.relay" "${W[@]}"
    httpd_pid=$BG
    if wait_until 10 tun_up && wait_until 20 has_line "$tmp/httpd.w.prog" "^listening on $port\$"; then
        httpd_checks wasm 10.77.0.2 "$port" "$tmp/httpd.w.prog" "$tmp/httpd.w.snap0"
        user_lines "$tmp/httpd.w.snap0" httpd_poll | sed "s/^listening on $port\$/listening on PORT/" >"$tmp/httpd.w.snap"
        sed -i "s/^listening on [0-9]*\$/listening on PORT/" "$tmp/httpd.n.snap" 2>/dev/null
        if [ -f "$tmp/httpd.n.snap" ] && same "$tmp/httpd.n.snap" "$tmp/httpd.w.snap"; then
            ok "2 httpd_poll (wasm): its output for the requests in turn is the native one, line for line ($(wc -l <"$tmp/httpd.w.snap") lines)"
        else
            bad "2 httpd_poll (wasm): its output" "differs from the native run's (above: < native, > wasm)"
        fi
    else
        bad "2 httpd_poll (wasm)" "did not print 'listening on $port'"
        show "$tmp/httpd.w.prog"
        show "$tmp/httpd.w.relay.err"
    fi
    stop "$httpd_pid"
fi

# ================================================================ 3. http_get
# Names: filehost.test from a hosts file, dnshost.test (native) and wdnshost.test (wasm)
# from tests/lan/dns.py; nosuch.test nowhere (NXDOMAIN).
new_ns
port=$(free_port)
bg "$tmp/web" python3 -m http.server "$port" --bind 0.0.0.0 --directory "$tmp/www"
bg "$tmp/dns" python3 "$root/tests/lan/dns.py" 0.0.0.0 53 dnshost.test=127.0.0.1 wdnshost.test=10.77.0.1
mkdir -p "/etc/netns/$NS"
printf '127.0.0.1 localhost\n127.0.0.1 filehost.test\n' >"/etc/netns/$NS/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' >"/etc/netns/$NS/resolv.conf"
printf '# the guest hosts file\n10.77.0.1 filehost.test\n' >"$tmp/etc-w/hosts"
web_up() { in_ns curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/small.txt"; }
wait_until 10 web_up || { bad "3 http_get: python3 -m http.server" "did not start"; show "$tmp/web.err"; }

# get SIDE TAG URL OUTNAME: one run; stdout in $tmp/get.SIDE.TAG.out, status in $tmp/get.SIDE.TAG.rc
get() {
    local side=$1 tag=$2 url=$3 name=$4 rc
    rm -f "$tmp/out/$name"
    if [ "$side" = native ]; then
        in_ns timeout 120 "$nat/http_get" "$url" "$tmp/out/$name" >"$tmp/get.$side.$tag.out" 2>"$tmp/get.$side.$tag.err"
        rc=$?
    else
        in_ns timeout 120 "${W[@]}" 2>"$tmp/get.$side.$tag.relay" >/dev/null
        rc=$?
        user_lines "$tmp/get.$side.$tag.prog" http_get >"$tmp/get.$side.$tag.out"
        grep -E '^(http_get|run\.mjs): ' "$tmp/get.$side.$tag.prog" >"$tmp/get.$side.$tag.err"
    fi
    echo "$rc" >"$tmp/get.$side.$tag.rc"
}
want_big="status 200, $big bytes"
judge_big() { # SIDE TAG WHAT
    local f=$tmp/out/get.$1.$2
    if [ "$(cat "$tmp/get.$1.$2.rc")" = 0 ] && [ "$(cat "$tmp/get.$1.$2.out")" = "$want_big" ] && [ "$(sha "$f")" = "$big_sha" ]; then
        ok "3 http_get ($1): $3: $big_mib MiB byte-exact, prints '$want_big', exits 0"
    else
        bad "3 http_get ($1): $3" "exit $(cat "$tmp/get.$1.$2.rc"), stdout '$(head -c 200 "$tmp/get.$1.$2.out")', sha256 $(sha "$f" | head -c 12)"
        show "$tmp/get.$1.$2.err" 5
        [ -f "$tmp/get.$1.$2.relay" ] && show "$tmp/get.$1.$2.relay" 5
    fi
    rm -f "$f"
}
judge_fail() { # SIDE TAG WHAT STDOUT: a failure with exit status 1
    if [ "$(cat "$tmp/get.$1.$2.rc")" = 1 ] && [ "$(cat "$tmp/get.$1.$2.out")" = "$4" ] &&
        grep -q '^http_get: ' "$tmp/get.$1.$2.err"; then
        ok "3 http_get ($1): $3: exits 1 with '$(head -n1 "$tmp/get.$1.$2.err")'"
    else
        bad "3 http_get ($1): $3" "exit $(cat "$tmp/get.$1.$2.rc"), stdout '$(cat "$tmp/get.$1.$2.out")'"
        show "$tmp/get.$1.$2.err" 5
    fi
}

get native numeric "http://127.0.0.1:$port/big.bin" get.native.numeric
judge_big native numeric "a numeric address"
get native hosts "http://filehost.test:$port/big.bin" get.native.hosts
judge_big native hosts "filehost.test from /etc/hosts"
get native dns "http://dnshost.test:$port/big.bin" get.native.dns
judge_big native dns "dnshost.test through DNS"
get native 404 "http://127.0.0.1:$port/no-such-file" get.native.404
if [ "$(cat "$tmp/get.native.404.rc")" = 1 ] && grep -q '^status 404, [0-9]* bytes$' "$tmp/get.native.404.out"; then
    ok "3 http_get (native): a 404 prints '$(cat "$tmp/get.native.404.out")' and exits 1"
else
    bad "3 http_get (native): 404" "exit $(cat "$tmp/get.native.404.rc"), '$(cat "$tmp/get.native.404.out")'"
fi
get native nxdomain "http://nosuch.test:$port/" get.native.nx
judge_fail native nxdomain "an unknown name" ""
refused=$(free_port)
get native refused "http://127.0.0.1:$refused/" get.native.refused
judge_fail native refused "a closed port" ""

if have_wasm http_get "3 http_get"; then
    RUN_OPTS=(--dir "$tmp/out=/out")
    wasm_cmd http_get "$tmp/get.wasm.numeric.prog" "http://10.77.0.1:$port/big.bin" /out/get.wasm.numeric
    t0=$(now_ms)
    get wasm numeric "" get.wasm.numeric
    t1=$(now_ms)
    judge_big wasm numeric "a numeric address ($(awk -v b="$big" -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }') MiB/s with node's start-up)"
    RUN_OPTS=(--dir "$tmp/out=/out" --dir "$tmp/etc-w=/etc-guest" --env WTCP_HOSTS=/etc-guest/hosts)
    wasm_cmd http_get "$tmp/get.wasm.hosts.prog" "http://filehost.test:$port/big.bin" /out/get.wasm.hosts
    get wasm hosts "" get.wasm.hosts
    judge_big wasm hosts "filehost.test from the WTCP_HOSTS file"
    RELAY_OPTS=(--dns 10.77.0.1)
    RUN_OPTS=(--dir "$tmp/out=/out")
    wasm_cmd http_get "$tmp/get.wasm.dns.prog" "http://wdnshost.test:$port/big.bin" /out/get.wasm.dns
    get wasm dns "" get.wasm.dns
    judge_big wasm dns "wdnshost.test through DNS (--dns 10.77.0.1)"
    wasm_cmd http_get "$tmp/get.wasm.404.prog" "http://10.77.0.1:$port/no-such-file" /out/get.wasm.404
    get wasm 404 "" get.wasm.404
    if [ "$(cat "$tmp/get.wasm.404.rc")" = 1 ] && same "$tmp/get.native.404.out" "$tmp/get.wasm.404.out" &&
        cmp -s "$tmp/out/get.native.404" "$tmp/out/get.wasm.404"; then
        ok "3 http_get (wasm): a 404: the same line, exit status and body file as native"
    else
        bad "3 http_get (wasm): 404" "exit $(cat "$tmp/get.wasm.404.rc"), '$(cat "$tmp/get.wasm.404.out")'"
        show "$tmp/get.wasm.404.err" 5
    fi
    wasm_cmd http_get "$tmp/get.wasm.nxdomain.prog" "http://nosuch.test:$port/" /out/get.wasm.nx
    get wasm nxdomain "" get.wasm.nx
    judge_fail wasm nxdomain "an unknown name (NXDOMAIN)" ""
    wasm_cmd http_get "$tmp/get.wasm.refused.prog" "http://10.77.0.1:$refused/" /out/get.wasm.refused
    get wasm refused "" get.wasm.refused
    judge_fail wasm refused "a closed port" ""
    if grep -q 'Connection refused\|connection refused' "$tmp/get.wasm.refused.err" 2>/dev/null; then
        ok "3 http_get (wasm): the closed port's message names ECONNREFUSED's text"
    else
        bad "3 http_get (wasm): closed port message" "'$(head -n1 "$tmp/get.wasm.refused.err")'"
    fi
    RELAY_OPTS=()
    RUN_OPTS=()
fi

# ================================================================ 4. nbconnect
# a listener (connected), a closed port (refused), a port whose SYNs nftables drops on
# input, on loopback and the TUN alike (timeout)
new_ns
lport=$(free_port)
bg "$tmp/sink4" "${peers[@]}" sink 0.0.0.0 "$lport"
closed=$(free_port)
dropped=$(free_port)
in_ns nft -f - <<EOF
table inet wtcp_posix_test {
    chain in { type filter hook input priority 0; tcp dport $dropped counter drop; }
}
EOF
sink_up() { in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$lport"; }
wait_until 10 sink_up || { bad "4 nbconnect: the listener" "did not start"; show "$tmp/sink4.err"; }
nb() { # SIDE HOST PORT TIMEOUT [USER_TIMEOUT]: "LINE exit N" in $NB, the time in $NB_MS
    local t0 out rc side=$1
    shift
    t0=$(now_ms)
    if [ "$side" = native ]; then
        out=$(in_ns timeout 20 "$nat/nbconnect" "$@" 2>"$tmp/nb.err")
        rc=$?
    else
        wasm_cmd nbconnect "$tmp/nb.prog" "$@"
        in_ns timeout 30 "${W[@]}" >/dev/null 2>"$tmp/nb.relay"
        rc=$?
        out=$(user_lines "$tmp/nb.prog" nbconnect)
    fi
    NB_MS=$(($(now_ms) - t0))
    NB="$out exit $rc"
}
for side in native wasm; do
    if [ $side = native ]; then host=127.0.0.1; else have_wasm nbconnect "4 nbconnect" || continue; host=10.77.0.1; fi
    nb $side $host "$lport" 3000
    r=$NB
    [ "$r" = "connected exit 0" ] && ok "4 nbconnect ($side): a listener: connected (SO_ERROR 0, getpeername agrees)" ||
        { bad "4 nbconnect ($side): a listener" "'$r'"; show "$tmp/nb.err" 3; show "$tmp/nb.prog" 3; }
    nb $side $host "$closed" 3000
    r=$NB
    [ "$r" = "refused exit 1" ] && ok "4 nbconnect ($side): a closed port: refused (ECONNREFUSED)" ||
        { bad "4 nbconnect ($side): a closed port" "'$r'"; show "$tmp/nb.prog" 3; }
    nb $side $host "$dropped" 500
    r=$NB
    # the program's own start-up (node, for wasm) comes on top of its 500 ms
    [ "$r" = "timeout exit 1" ] && ok "4 nbconnect ($side): SYNs dropped: timeout after its 500 ms (the run took $NB_MS ms)" ||
        { bad "4 nbconnect ($side): SYNs dropped" "'$r'"; show "$tmp/nb.prog" 3; }
    # TCP_USER_TIMEOUT 1500 ms: the stack gives up on the SYNs, POLLOUT, SO_ERROR ETIMEDOUT
    nb $side $host "$dropped" 10000 1500
    r=$NB
    [ "$r" = "timed out exit 1" ] && [ "$NB_MS" -ge 1500 ] && [ "$NB_MS" -lt 6000 ] &&
        ok "4 nbconnect ($side): SYNs dropped, TCP_USER_TIMEOUT 1500 ms: SO_ERROR is ETIMEDOUT (the run took $NB_MS ms)" ||
        { bad "4 nbconnect ($side): SYNs dropped with TCP_USER_TIMEOUT" "'$r' after $NB_MS ms"; show "$tmp/nb.prog" 3; }
done
drops=$(in_ns nft list table inet wtcp_posix_test 2>/dev/null | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
[ "${drops:-0}" -gt 0 ] && ok "4 nbconnect: nftables dropped $drops SYNs to port $dropped" || bad "4 nbconnect: nftables" "dropped nothing"

# ================================================================ 5. UDP
# udp_server and udp_client against each other and against Python, both ways; the wasm
# client runs behind a second relay (wtcp1, 10.78.0.0/16) so that it can reach the wasm
# server too (the namespace forwards between the two TUNs).
new_ns
in_ns sysctl -q -w net.ipv4.ip_forward=1
uport=$(free_port)
pyport=$(free_port)
bg "$tmp/udpy" "${peers[@]}" udp-upper 0.0.0.0 "$pyport"
bg "$tmp/udps.n" "$nat/udp_server" "$uport"
udps_n=$BG
wait_until 10 has_line "$tmp/udps.n.out" "^listening on $uport\$" || { bad "5 udp (native): udp_server" "did not start"; show "$tmp/udps.n.err"; }
want_udp=$(printf 'reply: HELLO\nreply: WORLD 2')
askers() { # SIDE SERVER_HOST: the native client, Python, and the wasm client ask the server
    local out
    out=$(in_ns timeout 20 "$nat/udp_client" "$2" "$3" hello "world 2" 2>"$tmp/udpc.err")
    [ "$out" = "$want_udp" ] && ok "5 udp ($1 server): the native udp_client gets its replies" ||
        { bad "5 udp ($1 server): native udp_client" "'$out'"; show "$tmp/udpc.err" 3; }
    out=$(in_ns timeout 20 "${peers[@]}" udp-ask "$2" "$3" hello "world 2" 2>&1)
    [ "$out" = "$want_udp" ] && ok "5 udp ($1 server): a Python client gets its replies" ||
        bad "5 udp ($1 server): Python client" "'$out'"
}
askers native 127.0.0.1 "$uport"
out=$(in_ns timeout 20 "$nat/udp_client" 127.0.0.1 "$pyport" hello "world 2" 2>"$tmp/udpc.err")
[ "$out" = "$want_udp" ] && ok "5 udp (native client): a Python server answers it" ||
    { bad "5 udp (native client): Python server" "'$out'"; show "$tmp/udpc.err" 3; }
wasm_client() { # SERVER_HOST PORT WHAT: udp_client.wasm behind the second relay
    local out rc
    RELAY_OPTS=(--tun wtcp1 --address 10.78.0.1/16)
    wasm_cmd udp_client "$tmp/udpc.w.prog" "$1" "$2" hello "world 2"
    RELAY_OPTS=()
    in_ns timeout 30 "${W[@]}" >/dev/null 2>"$tmp/udpc.w.relay"
    rc=$?
    out=$(user_lines "$tmp/udpc.w.prog" udp_client)
    [ "$out" = "$want_udp" ] && [ $rc -eq 0 ] && ok "5 udp (wasm client): $3 answers it" ||
        { bad "5 udp (wasm client): $3" "exit $rc, '$out'"; show "$tmp/udpc.w.prog" 3; show "$tmp/udpc.w.relay" 3; }
}
if have_wasm udp_client "5 udp client"; then
    wasm_client 10.78.0.1 "$pyport" "a Python server"
    wasm_client 10.78.0.1 "$uport" "the native udp_server"
fi
out=$(in_ns timeout 10 "${peers[@]}" udp-ask 127.0.0.1 "$uport" quit 2>&1)
wait "$udps_n" 2>/dev/null
st=$?
grep -v '^listening on' "$tmp/udps.n.out" >"$tmp/udps.n.lines"
[ "$out" = "reply: QUIT" ] && [ $st -eq 0 ] && ok "5 udp (native server): 'quit' ends it with status 0; it counted $(wc -l <"$tmp/udps.n.lines") datagrams" ||
    { bad "5 udp (native server): quit" "'$out', status $st"; show "$tmp/udps.n.out" 3; }

if have_wasm udp_server "5 udp server"; then
    wasm_cmd udp_server "$tmp/udps.w.prog" "$uport"
    bg "$tmp/udps.w.relay" "${W[@]}"
    udps_w=$BG
    if wait_until 10 tun_up && wait_until 20 has_line "$tmp/udps.w.prog" "^listening on $uport\$"; then
        askers wasm 10.77.0.2 "$uport"
        if have_wasm udp_client "5 udp client to the wasm server"; then
            wasm_client 10.77.0.2 "$uport" "the wasm udp_server (through both relays)"
        fi
        out=$(in_ns timeout 10 "${peers[@]}" udp-ask 10.77.0.2 "$uport" quit 2>&1)
        for _ in $(seq 1 50); do kill -0 "$udps_w" 2>/dev/null || break; sleep 0.1; done
        stop "$udps_w"
        user_lines "$tmp/udps.w.prog" udp_server | grep -v '^listening on' >"$tmp/udps.w.lines"
        [ "$out" = "reply: QUIT" ] && [ "$STOPPED" -eq 0 ] && ok "5 udp (wasm server): 'quit' ends it, the relay exits 0" ||
            { bad "5 udp (wasm server): quit" "'$out', relay status $STOPPED"; show "$tmp/udps.w.relay.err" 3; }
        same "$tmp/udps.n.lines" "$tmp/udps.w.lines" &&
            ok "5 udp (wasm server): its output is the native server's, line for line" ||
            bad "5 udp (wasm server): its output" "differs from native (above: < native, > wasm)"
    else
        bad "5 udp (wasm server)" "did not print 'listening on $uport'"
        show "$tmp/udps.w.prog"
        show "$tmp/udps.w.relay.err"
        stop "$udps_w"
    fi
fi

# ================================================================ 6. rcvtimeo
new_ns
lport=$(free_port)
bg "$tmp/sink6" "${peers[@]}" sink 0.0.0.0 "$lport"
wait_until 10 sink_up
ms=300
early=10 # a timer may round down to the millisecond, no more
late=50
judge_timeo() { # SIDE FILE
    local e1 e2
    e1=$(sed -n 's/^recv elapsed: \([0-9-]*\) ms$/\1/p' "$2")
    e2=$(sed -n 's/^poll elapsed: \([0-9-]*\) ms$/\1/p' "$2")
    if [ -n "$e1" ] && [ -n "$e2" ] && [ "$e1" -ge $((ms - early)) ] && [ "$e1" -le $((ms + late)) ] &&
        [ "$e2" -ge $((ms - early)) ] && [ "$e2" -le $((ms + late)) ]; then
        ok "6 rcvtimeo ($1): SO_RCVTIMEO $ms ms fired after $e1 ms, poll's $ms ms after $e2 ms (within -$early/+$late ms)"
    else
        bad "6 rcvtimeo ($1): timing" "recv after '${e1}' ms, poll after '${e2}' ms, want $ms -$early/+$late"
        show "$2" 6
    fi
}
in_ns timeout 10 "$nat/rcvtimeo" 127.0.0.1 "$lport" $ms >"$tmp/timeo.n.out" 2>"$tmp/timeo.n.err"
rc_n=$?
grep -v 'elapsed' "$tmp/timeo.n.out" >"$tmp/timeo.n.lines"
if [ $rc_n -eq 0 ] && grep -q -x 'recv: EAGAIN' "$tmp/timeo.n.lines"; then
    ok "6 rcvtimeo (native): recv fails with EAGAIN, poll returns 0"
else
    bad "6 rcvtimeo (native)" "exit $rc_n"
    show "$tmp/timeo.n.out"
    show "$tmp/timeo.n.err"
fi
judge_timeo native "$tmp/timeo.n.out"
if have_wasm rcvtimeo "6 rcvtimeo"; then
    wasm_cmd rcvtimeo "$tmp/timeo.w.prog" 10.77.0.1 "$lport" $ms
    in_ns timeout 30 "${W[@]}" >/dev/null 2>"$tmp/timeo.w.relay"
    rc_w=$?
    user_lines "$tmp/timeo.w.prog" rcvtimeo >"$tmp/timeo.w.out"
    grep -v 'elapsed' "$tmp/timeo.w.out" >"$tmp/timeo.w.lines"
    if [ $rc_w -eq $rc_n ] && same "$tmp/timeo.n.lines" "$tmp/timeo.w.lines"; then
        ok "6 rcvtimeo (wasm): the same lines and exit status as native ($(tr '\n' ';' <"$tmp/timeo.w.lines"))"
    else
        bad "6 rcvtimeo (wasm)" "exit $rc_w (native $rc_n); lines differ (above: < native, > wasm)"
        show "$tmp/timeo.w.relay" 5
    fi
    judge_timeo wasm "$tmp/timeo.w.out"
fi

# ================================================================ 6b. upload, then exit
# A client writes 16 MiB and returns from main at once (with close() and without): the
# peer gets every byte, as the kernel delivers a dead process's data; the layer does it at
# exit (WTCP_LINGER_MS).
new_ns
uport=$(free_port)
for side in native wasm; do
    [ $side = wasm ] && { have_wasm upload "6b upload" || continue; }
    for how in close exit; do
        rm -f "$tmp/up.bin"
        bg "$tmp/upsink" socat -u TCP-LISTEN:$uport,reuseaddr OPEN:"$tmp/up.bin",creat,trunc
        upsink=$BG
        wait_until 10 in_ns bash -c "ss -ltn | grep -q :$uport"
        arg=()
        [ $how = close ] && arg=(close)
        if [ $side = native ]; then
            in_ns timeout 30 "$nat/upload" 127.0.0.1 $uport 16 "${arg[@]}" >"$tmp/up.out" 2>&1
        else
            wasm_cmd upload "$tmp/up.out" 10.77.0.1 $uport 16 "${arg[@]}"
            in_ns timeout 60 "${W[@]}" >/dev/null 2>"$tmp/up.relay"
        fi
        rc=$?
        wait_until 10 bash -c "! kill -0 $upsink 2>/dev/null"
        size=$(stat -c %s "$tmp/up.bin" 2>/dev/null || echo 0)
        [ $rc -eq 0 ] && [ "$size" -eq 16777216 ] && grep -q '^sent 16 MiB' "$tmp/up.out" &&
            ok "6b upload ($side, $how): 16 MiB written, main returns at once, the peer got all 16777216 bytes" ||
            { bad "6b upload ($side, $how)" "exit $rc, the peer got $size bytes"; show "$tmp/up.out" 4; }
        stop "$upsink"
    done
done

# ================================================================ 6c. alarm_timeout
# A read timeout the classic way (netcat's -w): alarm(1), a SIGALRM handler that longjmps.
# The layer raises SIGALRM from its pump; the elapsed time must be 1 s (-10/+100 ms).
new_ns
aport=$(free_port)
bg "$tmp/sink6c" "${peers[@]}" sink 0.0.0.0 "$aport"
wait_until 10 in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$aport"
judge_alarm() { # SIDE FILE RC
    local ms
    ms=$(sed -n 's/^timed out after \([0-9]*\) ms$/\1/p' "$2")
    [ "$3" -eq 3 ] && grep -q -x connected "$2" && [ -n "$ms" ] && [ "$ms" -ge 990 ] && [ "$ms" -le 1100 ] &&
        ok "6c alarm_timeout ($1): alarm(1) + longjmp ends the blocked recv after $ms ms" ||
        { bad "6c alarm_timeout ($1)" "exit $3, '${ms}' ms"; show "$2" 4; }
}
in_ns timeout 10 "$nat/alarm_timeout" 127.0.0.1 "$aport" 1 >"$tmp/alarm.n.out" 2>&1
judge_alarm native "$tmp/alarm.n.out" $?
if have_wasm alarm_timeout "6c alarm_timeout"; then
    wasm_cmd alarm_timeout "$tmp/alarm.w.out" 10.77.0.1 "$aport" 1
    in_ns timeout 20 "${W[@]}" >/dev/null 2>"$tmp/alarm.w.relay"
    judge_alarm wasm "$tmp/alarm.w.out" $?
fi

# ================================================================ 7. chat (a program with its own stdin and stdout)
new_ns
cport=$(free_port)
# A person types after reading the greeting: the program shows it while it waits on its
# stdin and the link at once (node:wasi's poll_oneoff answers that only when both are ready:
# posix.h, the layer waits in slices). No greeting within 5 s: "late" in FILE.late.
chat_input() { # chat_input OUTFILE
    wait_until 5 has_line "$1" '^welcome' || echo late >"$1.late"
    echo hello; sleep 0.3; echo "how are you"; sleep 0.3; printf 'no newline'; sleep 0.2
}
want_chat=$(printf 'connected\nwelcome\nHELLO\nHOW ARE YOU\nNO NEWLINE\nbye\nserver closed the connection')
bg "$tmp/chatsrv.n" "${peers[@]}" line-server 127.0.0.1 "$cport"
chatsrv=$BG
wait_until 10 has_line "$tmp/chatsrv.n.out" '^ready'
chat_input "$tmp/chat.n.out" | in_ns timeout 20 "$nat/chat" 127.0.0.1 "$cport" >"$tmp/chat.n.out" 2>"$tmp/chat.n.err"
rc=$?
[ $rc -eq 0 ] && [ "$(cat "$tmp/chat.n.out")" = "$want_chat" ] && [ ! -e "$tmp/chat.n.out.late" ] &&
    ok "7 chat (native): typed lines go out, the server's lines come back on stdout, EOF half-closes" ||
    { bad "7 chat (native)" "exit $rc$([ -e "$tmp/chat.n.out.late" ] && echo ', no greeting within 5 s')"; show "$tmp/chat.n.out"; show "$tmp/chat.n.err"; }
wait "$chatsrv" 2>/dev/null
if have_wasm chat "7 chat"; then
    if ! "$relay" --help 2>&1 | grep -q -- '--fifo'; then
        bad "7 chat (wasm)" "wtcp-relay has no --fifo option yet (exec --fifo: packets over FIFOs, the program's stdin/stdout its own)"
    else
        bg "$tmp/chatsrv.w" "${peers[@]}" line-server 0.0.0.0 "$cport"
        chatsrv=$BG
        wait_until 10 has_line "$tmp/chatsrv.w.out" '^ready'
        chat_input "$tmp/chat.w.out" | in_ns timeout 30 "$relay" exec --fifo -- "${run[@]}" "$wasm/chat.wasm" 10.77.0.1 "$cport" \
            >"$tmp/chat.w.out" 2>"$tmp/chat.w.err"
        rc=$?
        if [ $rc -eq 0 ] && [ "$(cat "$tmp/chat.w.out")" = "$want_chat" ] && [ ! -e "$tmp/chat.w.out.late" ]; then
            ok "7 chat (wasm, exec --fifo): the same stdout and exit status as native; the greeting shows while it waits on stdin and the socket"
        else
            bad "7 chat (wasm, exec --fifo)" "exit $rc$([ -e "$tmp/chat.w.out.late" ] && echo ', no greeting within 5 s: poll missed the socket while watching stdin')"
            show "$tmp/chat.w.out"
            show "$tmp/chat.w.err"
        fi
        linkdir=$(sed -n 's/.* link=\(\/[^ ]*\) .*/\1/p' "$tmp/chat.w.err" | head -1)
        [ -n "$linkdir" ] && [ ! -e "$linkdir" ] &&
            ok "7 chat (wasm, exec --fifo): the relay removed its FIFO directory ($linkdir) on exit" ||
            bad "7 chat (wasm, exec --fifo): the FIFO directory" "'$linkdir' is still there, or the relay did not name it"
        stop "$chatsrv"
    fi
fi

# ================================================================ 8. errors
# The first section must be Linux's answers (tests/posix/errors.expected) both ways; the
# "# unsupported" section: Linux supports those calls, the layer answers as documented
# (tests/posix/errors-unsupported.expected).
new_ns
lport=$(free_port)
bg "$tmp/sink8" "${peers[@]}" sink 0.0.0.0 "$lport"
wait_until 10 sink_up
in_ns timeout 20 "$nat/errors" 127.0.0.1 "$lport" >"$tmp/errors.n.out" 2>"$tmp/errors.n.err"
rc_n=$?
sed '/^# unsupported$/,$d' "$tmp/errors.n.out" >"$tmp/errors.n.first"
sed -n '/^# unsupported$/,$p' "$tmp/errors.n.out" | sed 1d >"$tmp/errors.n.unsup"
if [ $rc_n -eq 0 ] && same "$root/tests/posix/errors.expected" "$tmp/errors.n.first"; then
    ok "8 errors (native): $(wc -l <"$tmp/errors.n.first") checks give Linux's answers (tests/posix/errors.expected)"
else
    bad "8 errors (native)" "exit $rc_n; differs from errors.expected (above: < expected, > native)"
    show "$tmp/errors.n.err" 3
fi
if [ "$(sort -u <<<"$(sed 's/.*: //' "$tmp/errors.n.unsup")")" = ok ]; then
    ok "8 errors (native): Linux supports the $(wc -l <"$tmp/errors.n.unsup") calls of the unsupported section"
else
    bad "8 errors (native): the unsupported section" "$(tr '\n' ';' <"$tmp/errors.n.unsup")"
fi
if have_wasm errors "8 errors"; then
    wasm_cmd errors "$tmp/errors.w.prog" 10.77.0.1 "$lport"
    in_ns timeout 30 "${W[@]}" >/dev/null 2>"$tmp/errors.w.relay"
    rc_w=$?
    user_lines "$tmp/errors.w.prog" errors >"$tmp/errors.w.out"
    sed '/^# unsupported$/,$d' "$tmp/errors.w.out" >"$tmp/errors.w.first"
    sed -n '/^# unsupported$/,$p' "$tmp/errors.w.out" | sed 1d >"$tmp/errors.w.unsup"
    if [ $rc_w -eq 0 ] && same "$tmp/errors.n.first" "$tmp/errors.w.first"; then
        ok "8 errors (wasm): all $(wc -l <"$tmp/errors.w.first") checks give the errno Linux gives"
    else
        bad "8 errors (wasm)" "exit $rc_w; differs from native (above: < native, > wasm)"
        show "$tmp/errors.w.relay" 3
    fi
    if same "$root/tests/posix/errors-unsupported.expected" "$tmp/errors.w.unsup"; then
        ok "8 errors (wasm): unsupported calls answer as documented ($(sed 's/.*: //' "$tmp/errors.w.unsup" | sort -u | tr '\n' ' '))"
    else
        bad "8 errors (wasm): the unsupported section" "differs from errors-unsupported.expected (above: < expected, > wasm)"
    fi
fi

finish
