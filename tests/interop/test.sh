#!/usr/bin/env bash
# test.sh: interoperability of the npm package (bindings/js, the wasm stack in Node) with
# Linux's TCP through wtcp-relay: Node's http server and client over wtcp/node against curl,
# Python's http.server and a kernel TCP sink, clean and under loss and reordering (the
# relay's faults and nftables), 200 Node stacks at once, the relay's token, and an ApacheBench
# load test (20,000 requests, 50 at a time) beside the same server on kernel TCP.
#
# Usage: tests/interop/test.sh BUILD_DIR   (as root, after `make relay build/relay/wtcp-relay-san
#                                           wasm js-deps`)
# Every test makes its own namespace (wtcp-interop-PID-N) with loopback up, runs the relay in
# it with `ip netns exec` (TUN wtcp0, 10.77.0.1/16, WebSocket on 127.0.0.1:8787) and the Node
# clients too, so all traffic stays in that namespace. The EXIT trap removes what the script
# made (only the PIDs it started, the namespaces it created, its temporary directory), also
# on failure or Ctrl-C. Prints "ok   ..." or "FAIL ...: why" per check, figures, and
# "N passed, N failed"; exit status 1 when a check failed.
# INTEROP_BIG (bytes, default 32 MiB) sets the size of the large transfers, INTEROP_FAULT_BIG
# (default: the same) that of the transfers under loss; a wtcp sender under the relay's 5 %
# loss and reordering moves only ~0.25-0.8 MiB/s (retransmission timeouts), so 32 MiB there
# take 40-140 s; a line "note: ..." says when one took longer than 60 s.
#
# Anti-spoofing is not repeated here: relay/test.sh test 5 sends forged and malformed
# packets over a raw WebSocket (what a modified client could send); the package's stack
# always uses the address the relay gave it, which test 5 here checks from the server side.
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
relay_san=$build/relay/wtcp-relay-san
peer=(node "$root/tests/interop/peer.mjs")
big=${INTEROP_BIG:-33554432}
fault_big=${INTEROP_FAULT_BIG:-$big}
url=ws://127.0.0.1:8787

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
for f in "$relay" "$relay_san" "$root/bindings/js/dist/wtcp.wasm" "$root/bindings/js/node_modules/ws/package.json"; do
    [ -f "$f" ] || missing+=("$f")
done
for c in ip node curl nft python3 sha256sum timeout; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
[ -c /dev/net/tun ] || missing+=(/dev/net/tun)
if [ ${#missing[@]} -gt 0 ]; then
    bad "prerequisites" "missing ${missing[*]} (make deps relay build/relay/wtcp-relay-san wasm js-deps)"
    finish
fi

# ---- bookkeeping and cleanup: only what this script started or made
tmp=$(mktemp -d /tmp/wtcp-interop-test.XXXXXX)
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
        # Whatever is left inside the namespaces this script created.
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsn=0
NS=
new_ns() { # new_ns: a fresh namespace with loopback up, in $NS
    nsn=$((nsn + 1))
    NS="wtcp-interop-$$-$nsn"
    ip netns add "$NS" || return 1
    namespaces+=("$NS")
    ip -n "$NS" link set lo up
}
# Foreground commands run in the background and are waited for, so that a signal interrupts
# the wait at once and the EXIT trap cleans up.
in_ns() {
    ip netns exec "$NS" "$@" <&0 &
    wait $!
}
BG_PID=
bg() { # bg NAME COMMAND...: COMMAND in $NS in the background, output in $tmp/NAME.out/.err
    local name=$1
    shift
    ip netns exec "$NS" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    BG_PID=$!
    pids+=("$BG_PID")
}
MARK=0
stop_since() { # stop_since N: SIGTERM (then SIGKILL after 2 s) to the PIDs started since ${#pids[@]} was N
    local p i
    for p in "${pids[@]:$1}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]:$1}"; do
        for i in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    pids=("${pids[@]:0:$1}") # reaped: never signal those numbers again
}
forget() { # forget PID...: reaped by a wait, no longer ours to signal
    local p q keep=()
    for p in "${pids[@]}"; do
        for q in "$@"; do [ "$p" = "$q" ] && continue 2; done
        keep+=("$p")
    done
    pids=("${keep[@]}")
}

RELAY_PID=
RELAY_LOG=
start_relay() { # start_relay BINARY NAME ARGS...: the relay in $NS, in the background
    local bin=$1
    RELAY_LOG=$tmp/$2.log
    shift 2
    ip netns exec "$NS" "$bin" "$@" 2>"$RELAY_LOG" &
    RELAY_PID=$!
    pids+=("$RELAY_PID")
    MARK=${#pids[@]}
}
stop_relay() { # the exit status in $RELAY_STATUS; first stops what was started after the relay
    stop_since "$MARK"
    kill -TERM "$RELAY_PID" 2>/dev/null
    local i
    for i in $(seq 1 100); do kill -0 "$RELAY_PID" 2>/dev/null || break; sleep 0.1; done
    wait "$RELAY_PID" 2>/dev/null
    RELAY_STATUS=$?
    forget "$RELAY_PID"
}
wait_until() { # wait_until SECONDS COMMAND...: retry every 0.1 s
    local end=$((SECONDS + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
tun_up() { ip -n "$NS" -4 addr show dev wtcp0 2>/dev/null | grep -q "inet 10.77.0.1/16"; }
port_open() { in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
relay_up() { wait_until 10 tun_up && wait_until 10 port_open 8787; }
metric() { # metric 'name{labels}': the value, or -1 when it is missing (metrics on 9187)
    in_ns curl -s -m 5 http://127.0.0.1:9187/metrics | awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print -1 }'
}
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
sink_saw() { [ "$(grep -c '^bytes' "$2" 2>/dev/null)" -ge "$1" ]; } # sink_saw N FILE: N transfers ended
now_ms() { date +%s%3N; }
mibs() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f", (ms > 0 ? b / 1048576 / (ms / 1000) : 0) }'; } # bytes, ms
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
field() { # field KEY FILE: the value after KEY on each line of FILE
    awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$2"
}

# start_servers TAG FILE: in $NS, Node's http server over wtcp (a relay client, serving FILE
# as /data on port 80; its address in $ADDR), Python's http.server on 0.0.0.0:8080 (for
# $tmp/www) and a kernel TCP sink on 0.0.0.0:9000 (Linux side). Returns 1 when one did not
# come up.
ADDR=
WHY=
start_servers() { # (not in a subshell: it records PIDs; why it failed in $WHY)
    local tag=$1
    bg "$tag.serve" "${peer[@]}" serve "$url" "$2" 80
    bg "$tag.http" python3 -m http.server 8080 --bind 0.0.0.0 --directory "$tmp/www"
    bg "$tag.sink" "${peer[@]}" linux-sink 0.0.0.0 9000
    if ! wait_until 20 grep -q '^address ' "$tmp/$tag.serve.out"; then
        WHY="the wtcp http server did not start: $(head -c 300 "$tmp/$tag.serve.err")"
        return 1
    fi
    ADDR=$(sed -n 's/^address //p' "$tmp/$tag.serve.out")
    if ! wait_until 10 grep -q '^listening' "$tmp/$tag.sink.out"; then
        WHY="the sink did not start: $(head -c 300 "$tmp/$tag.sink.err")"
        return 1
    fi
    if ! wait_until 10 port_open 8080; then
        WHY="python http.server did not start: $(head -c 300 "$tmp/$tag.http.err")"
        return 1
    fi
    if ! wait_until 10 in_ns curl -sf -m 5 -o /dev/null "http://$ADDR/whoami"; then
        WHY="the wtcp http server at $ADDR does not answer"
        return 1
    fi
}

mkdir -p "$tmp/www" "$tmp/out"
head -c "$big" /dev/urandom >"$tmp/www/big.bin"
chmod -R a+rX "$tmp/www"
big_sha=$(sha "$tmp/www/big.bin")
big_mib=$(awk -v b="$big" 'BEGIN { printf "%g", b / 1048576 }')
if [ "$fault_big" = "$big" ]; then
    ln "$tmp/www/big.bin" "$tmp/www/fault.bin"
else
    head -c "$fault_big" /dev/urandom >"$tmp/www/fault.bin"
    chmod a+r "$tmp/www/fault.bin"
fi
fault_sha=$(sha "$tmp/www/fault.bin")
fault_mib=$(awk -v b="$fault_big" 'BEGIN { printf "%g", b / 1048576 }')

# ================================================================ 1, 2: clean transfers
new_ns
start_relay "$relay" clean --metrics 127.0.0.1:9187
if ! relay_up; then
    bad "1 relay" "did not start"
    show "$RELAY_LOG"
elif ! start_servers clean "$tmp/www/big.bin"; then
    bad "1 servers" "$WHY"
    show "$RELAY_LOG"
else
    # 1. Linux TCP (curl) <- Node's http server on the wasm stack, three times.
    rates=()
    good=0
    for i in 1 2 3; do
        r=$(in_ns curl -sS -m 120 -o "$tmp/out/t1.bin" -w '%{speed_download}' "http://$ADDR/data" 2>"$tmp/t1.curl")
        [ "$(sha "$tmp/out/t1.bin")" = "$big_sha" ] && good=$((good + 1))
        rates+=("$r")
        rm -f "$tmp/out/t1.bin"
    done
    rate1=$(awk -v b="$(median "${rates[@]}")" 'BEGIN { printf "%.1f", b / 1048576 }')
    [ $good -eq 3 ] &&
        ok "1 linux<-wtcp: curl fetches $big_mib MiB from Node's http server over wtcp/node at $ADDR, 3 times byte-exact (median $rate1 MiB/s)" ||
        bad "1 linux<-wtcp: curl <- Node http over wtcp" "$good of 3 byte-exact; $(head -c 300 "$tmp/t1.curl")"

    # 2a. The wasm stack (Node's http client over wtcp/node's Agent) <- Python's http.server.
    in_ns timeout 120 "${peer[@]}" get "$url" http://10.77.0.1:8080/big.bin 3 >"$tmp/t2get.out" 2>"$tmp/t2get.err"
    st=$?
    shas=$(field sha256 "$tmp/t2get.out" | sort | uniq -c | awk '{ print $1 " " $2 }')
    mapfile -t ms < <(field ms "$tmp/t2get.out")
    if [ $st -eq 0 ] && [ "$shas" = "3 $big_sha" ]; then
        rate2a=$(mibs "$big" "$(median "${ms[@]}")")
        ok "2 wtcp<-linux: Node's http client over wtcp downloads $big_mib MiB from python3 http.server at 10.77.0.1, 3 times byte-exact (median $rate2a MiB/s)"
    else
        rate2a=-
        bad "2 wtcp<-linux: download from python http.server" "status $st, sha256s: ${shas:-none}"
        show "$tmp/t2get.err"
    fi

    # 2b. The wasm stack (raw wtcp connection) -> a kernel TCP sink.
    : >"$tmp/clean.sink.out"
    in_ns timeout 120 "${peer[@]}" put "$url" 10.77.0.1 9000 "$tmp/www/big.bin" 3 >"$tmp/t2put.out" 2>"$tmp/t2put.err"
    st=$?
    wait_until 5 sink_saw 3 "$tmp/clean.sink.out"
    shas=$(field sha256 "$tmp/clean.sink.out" | sort | uniq -c | awk '{ print $1 " " $2 }')
    mapfile -t ms < <(field ms "$tmp/t2put.out")
    if [ $st -eq 0 ] && [ "$shas" = "3 $big_sha" ]; then
        rate2b=$(mibs "$big" "$(median "${ms[@]}")")
        ok "2 wtcp->linux: the wasm stack uploads $big_mib MiB to a kernel TCP sink at 10.77.0.1, 3 times byte-exact (median $rate2b MiB/s)"
    else
        rate2b=-
        bad "2 wtcp->linux: upload to the sink" "status $st, sink saw: ${shas:-nothing}"
        show "$tmp/t2put.err"
    fi
    # 2c. The same download in wire protocol 1 (one packet per message), beside the
    # protocol 2 clients above: the relay serves both.
    PEER_STACK_OPTIONS='{"relayVersion":1}' in_ns timeout 120 "${peer[@]}" get "$url" http://10.77.0.1:8080/big.bin 1 >"$tmp/t2v1.out" 2>"$tmp/t2v1.err"
    st=$?
    v1=$(grep -c 'version=1' "$RELAY_LOG")
    v2=$(grep -c 'version=2' "$RELAY_LOG")
    if [ $st -eq 0 ] && [ "$(field sha256 "$tmp/t2v1.out")" = "$big_sha" ] && [ "$v1" -ge 1 ] && [ "$v2" -ge 2 ]; then
        ok "2 protocols: a protocol 1 client downloads $big_mib MiB byte-exact ($(mibs "$big" "$(field ms "$tmp/t2v1.out")") MiB/s) on the relay that served $v2 protocol 2 clients"
    else
        bad "2 protocols: a protocol 1 client" "status $st, clients: $v1 of version 1, $v2 of version 2"
        show "$tmp/t2v1.err"
    fi
    drops=$(in_ns curl -s -m 5 http://127.0.0.1:9187/metrics | awk '/^wtcp_relay_drops_total/ { s += $2 } END { print s + 0 }')
    echo "     figure: through wtcp-relay, $big_mib MiB, median of 3: curl <- wtcp (Node http server) $rate1 MiB/s;" \
        "wtcp <- python http.server $rate2a MiB/s; wtcp -> kernel TCP sink $rate2b MiB/s (relay drops: $drops)"
fi
stop_relay

# ================================================================ 3: the same under loss and reordering
# The three transfers run at once (each on its own relay client): a wtcp sender under 5 %
# random loss is paced by retransmission timeouts, not by the CPU.
faulty() { # faulty LABEL NFT(yes|no) RELAY-ARGS...
    local label=$1 nft=$2 t0 t1 st_c st_g st_p c g p okc okg okp detail n sc sg sp slow
    shift 2
    new_ns
    start_relay "$relay" "f$nsn" --metrics 127.0.0.1:9187 "$@"
    if ! relay_up; then
        bad "3 $label: relay" "did not start"
        show "$RELAY_LOG"
        stop_relay
        return
    fi
    if ! start_servers "f$nsn" "$tmp/www/fault.bin"; then
        bad "3 $label: servers" "$WHY"
        stop_relay
        return
    fi
    if [ "$nft" = yes ]; then
        in_ns nft -f - <<'EOF'
table inet wtcp_interop_test {
    chain in { type filter hook input priority 0; iifname "wtcp0" numgen random mod 100 < 3 counter drop; }
    chain out { type filter hook output priority 0; oifname "wtcp0" numgen random mod 100 < 3 counter drop; }
}
EOF
    fi
    t0=$(now_ms)
    ip netns exec "$NS" timeout 280 curl -sS -o "$tmp/out/f.curl.bin" -w '%{time_total}' "http://$ADDR/data" >"$tmp/f.curl.out" 2>"$tmp/f.curl.err" &
    c=$!
    ip netns exec "$NS" timeout 280 "${peer[@]}" get "$url" http://10.77.0.1:8080/fault.bin >"$tmp/f.get.out" 2>"$tmp/f.get.err" &
    g=$!
    ip netns exec "$NS" timeout 280 "${peer[@]}" put "$url" 10.77.0.1 9000 "$tmp/www/fault.bin" >"$tmp/f.put.out" 2>"$tmp/f.put.err" &
    p=$!
    pids+=("$c" "$g" "$p")
    wait "$c"
    st_c=$?
    wait "$g"
    st_g=$?
    wait "$p"
    st_p=$?
    t1=$(now_ms)
    forget "$c" "$g" "$p"
    wait_until 5 grep -q '^bytes' "$tmp/f$nsn.sink.out"
    [ $st_c -eq 0 ] && [ "$(sha "$tmp/out/f.curl.bin")" = "$fault_sha" ] && okc=1 || okc=0
    [ $st_g -eq 0 ] && [ "$(field sha256 "$tmp/f.get.out")" = "$fault_sha" ] && okg=1 || okg=0
    [ $st_p -eq 0 ] && [ "$(field sha256 "$tmp/f$nsn.sink.out")" = "$fault_sha" ] && okp=1 || okp=0
    if [ "$nft" = yes ]; then
        n=$(in_ns nft list table inet wtcp_interop_test | awk '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }')
        detail="$n packets dropped by nftables"
        [ "$n" -gt 0 ] || okc=0
    else
        local lu ld ru
        lu=$(metric 'wtcp_relay_drops_total{direction="up",reason="fault_loss"}')
        ld=$(metric 'wtcp_relay_drops_total{direction="down",reason="fault_loss"}')
        ru=$(metric 'wtcp_relay_fault_reordered_total{direction="up"}')
        detail="the relay lost $lu up + $ld down, reordered $ru up"
        [ "$lu" -gt 0 ] && [ "$ld" -gt 0 ] && [ "$ru" -gt 0 ] || okc=0
    fi
    # Seconds each (curl's own time; the Node clients' from request to last byte).
    sc=$(awk -v s="$(cat "$tmp/f.curl.out")" 'BEGIN { printf "%.1f", s }')
    sg=$(awk -v ms="$(field ms "$tmp/f.get.out")" 'BEGIN { printf "%.1f", ms / 1000 }')
    sp=$(awk -v ms="$(field ms "$tmp/f.put.out")" 'BEGIN { printf "%.1f", ms / 1000 }')
    if [ $okc$okg$okp = 111 ]; then
        ok "3 $label: curl <- wtcp, wtcp <- python, wtcp -> sink, $fault_mib MiB each at once, all byte-exact in $(((t1 - t0) / 1000)) s ($detail)"
        echo "     figure: $label, $fault_mib MiB each:" \
            "curl <- wtcp $sc s ($(mibs "$fault_big" "$(awk -v s="$sc" 'BEGIN { print s * 1000 }')") MiB/s)," \
            "wtcp <- python $sg s ($(mibs "$fault_big" "$(awk -v s="$sg" 'BEGIN { print s * 1000 }')") MiB/s)," \
            "wtcp -> sink $sp s ($(mibs "$fault_big" "$(awk -v s="$sp" 'BEGIN { print s * 1000 }')") MiB/s, $(field retransmits "$tmp/f.put.out") retransmissions)"
        slow=$(awk -v a="$sc" -v b="$sg" -v c="$sp" 'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c; if (m > 60) print m }')
        [ -z "$slow" ] || echo "     note: $label: the slowest transfer of $fault_mib MiB took $slow s (> 60 s)"
    else
        bad "3 $label" "byte-exact: curl<-wtcp $okc (status $st_c), wtcp<-python $okg (status $st_g), wtcp->sink $okp (status $st_p); $detail"
        show "$tmp/f.curl.err" 3
        show "$tmp/f.get.err" 3
        show "$tmp/f.put.err" 3
        show "$RELAY_LOG" 5
    fi
    stop_relay
    rm -f "$tmp/out/f.curl.bin"
}
faulty "faults: relay --loss 5 --reorder 5 --seed 11" no --loss 5 --reorder 5 --seed 11
faulty "faults: nftables 3 % loss each way on wtcp0" yes

# ================================================================ 5: 200 Node stacks at once
# (under the AddressSanitizer/UBSan build of the relay)
new_ns
start_relay "$relay_san" many --metrics 127.0.0.1:9187
if ! relay_up; then
    bad "5 many: relay" "did not start"
    show "$RELAY_LOG"
else
    bg many.http "${peer[@]}" linux-http 0.0.0.0 8080
    wait_until 10 grep -q '^listening' "$tmp/many.http.out"
    in_ns timeout 180 "${peer[@]}" many "$url" 200 http://10.77.0.1:8080/whoami >"$tmp/t5.out" 2>"$tmp/t5.err"
    st=$?
    line=$(head -1 "$tmp/t5.out")
    logged=$(grep -o 'connect client=[0-9.]*' "$RELAY_LOG" | sort -u | wc -l)
    if [ $st -eq 0 ] && [ "$line" != "${line#stacks 200 distinct 200 ok 200 }" ] && [ "$logged" -eq 200 ]; then
        ok "5 many: 200 Node stacks, each with its own relay WebSocket, got 200 distinct addresses and each read 'hello ITS-ADDRESS' from Node's http server at 10.77.0.1 ($(echo "$line" | awk '{ print $8 }') ms)"
    else
        bad "5 many: 200 stacks" "status $st, '$line', $logged distinct addresses in the relay log"
        show "$tmp/t5.out" 5
        show "$tmp/t5.err" 5
    fi
    peak=$(sed -n 's/.* connect client=.* clients=\([0-9]*\).*/\1/p' "$RELAY_LOG" | sort -n | tail -1)
    [ "${peak:-0}" -eq 200 ] && ok "5 many: the relay had all 200 clients at once (log: clients=$peak)" ||
        bad "5 many: at once" "peak clients=$peak"
fi
stop_relay
if [ "$RELAY_STATUS" -eq 0 ] && ! grep -q -E 'AddressSanitizer|runtime error' "$RELAY_LOG"; then
    ok "5 many: the AddressSanitizer/UBSan relay served them clean and exited 0"
else
    bad "5 many: sanitizers" "status $RELAY_STATUS"
    grep -A12 -E 'AddressSanitizer|runtime error' "$RELAY_LOG" | head -20 | sed 's/^/     | /'
fi

# ================================================================ 6: the relay's token and the package
new_ns
printf '# interop test\ninterop-Tok.1\n' >"$tmp/tokens"
start_relay "$relay_san" token --token-file "$tmp/tokens"
if ! relay_up; then
    bad "6 token: relay" "did not start"
    show "$RELAY_LOG"
else
    bg token.http "${peer[@]}" linux-http 0.0.0.0 8080
    wait_until 10 grep -q '^listening' "$tmp/token.http.out"
    refused() { # refused WHAT OUTPUT: a WtcpError within 5 s that names the 401, not the token
        local ms
        ms=$(echo "$2" | awk '{ print $5 }')
        case $2 in
        *interop-Tok*) bad "6 token: $1" "the error message shows the token: '$2'" ;;
        "refused WtcpError ECONNREFUSED ms "*401*)
            if [ "$ms" -lt 5000 ]; then ok "6 token: $1: createStack rejects at once (${ms} ms) with WtcpError ECONNREFUSED: '${2#* message }'"; else bad "6 token: $1" "took $ms ms"; fi ;;
        *) bad "6 token: $1" "got '$2'" ;;
        esac
    }
    refused "no token" "$(in_ns timeout 20 "${peer[@]}" token "$url/" 2>&1)"
    refused "a wrong token" "$(in_ns timeout 20 "${peer[@]}" token "$url/?token=interop-Tok.2" 2>&1)"
    out=$(in_ns timeout 20 "${peer[@]}" token "$url/?token=interop-Tok.1" 2>&1)
    out2=$(in_ns timeout 20 "${peer[@]}" token "$url/" wtcp,wtcp.token.interop-Tok.1 2>&1)
    case "$out|$out2" in
    "accepted address 10.77.0."*"|accepted address 10.77.0."*) ok "6 token: accepted as ?token= ($out) and as subprotocol wtcp.token.TOKEN (${out2% ms*})" ;;
    *) bad "6 token: the right token" "'$out' '$out2'" ;;
    esac
    in_ns timeout 60 "${peer[@]}" many "$url/?token=interop-Tok.1" 1 http://10.77.0.1:8080/whoami >"$tmp/t6.out" 2>&1
    line=$(head -1 "$tmp/t6.out")
    [ "$line" != "${line#stacks 1 distinct 1 ok 1 }" ] && ok "6 token: with ?token= the stack carries an HTTP exchange with 10.77.0.1" ||
        bad "6 token: traffic with the token" "$(head -3 "$tmp/t6.out" | tr '\n' ' ')"
    n401=$(grep -c 'reason=token status=401' "$RELAY_LOG")
    [ "$n401" -eq 2 ] && ! grep -q 'interop-Tok' "$RELAY_LOG" && ok "6 token: the relay logged the 2 refusals (401), never the token" ||
        bad "6 token: relay log" "$n401 refusal lines"
fi
stop_relay
[ "$RELAY_STATUS" -eq 0 ] && ! grep -q -E 'AddressSanitizer|runtime error' "$RELAY_LOG" &&
    ok "6 token: the AddressSanitizer/UBSan relay ran it clean and exited 0" ||
    bad "6 token: sanitizers" "status $RELAY_STATUS: $(grep -m1 -E 'AddressSanitizer|runtime error' "$RELAY_LOG")"


# ================================================================ 7: ApacheBench
# A load test as a user runs one: ab (apache2-utils), 20,000 requests 50 at a time, one
# connection each (HTTP/1.0: the server closes first, so every connection ends in TIME-WAIT
# on the wtcp side), against Node's http over wtcp/node through the relay; then 5,000 with
# keep-alive (-k). Every request must complete with no failure. The same Node http server on
# kernel TCP (loopback, in the namespace) runs the same load beside it for the rate.
AB_N=${INTEROP_AB_N:-20000}
AB_KN=${INTEROP_AB_KN:-5000}
ab_run() { # ab_run TAG ARGS...: ab in $NS; "complete N failed F non2xx X rps R" or why it broke
    local tag=$1 st
    shift
    in_ns timeout 600 ab -q -s 30 -r "$@" >"$tmp/$tag.ab" 2>&1
    st=$?
    awk -v st=$st '
        /^Complete requests:/ { c = $3 } /^Failed requests:/ { f = $3 } /^Non-2xx responses:/ { x = $3 }
        /^Requests per second:/ { r = $4 }
        END { printf "complete %s failed %s non2xx %s rps %s status %s\n", c + 0, f + 0, x + 0, r + 0, st }' "$tmp/$tag.ab"
}
ab_check() { # ab_check LABEL EXPECTED RESULT
    local label=$1 n=$2 res=$3
    case $res in
    "complete $n failed 0 non2xx 0 rps "*" status 0") ok "7 ab: $label: $n requests, none failed, $(echo "$res" | awk '{ print $8 }') requests/s" ;;
    *) bad "7 ab: $label" "$res" ;;
    esac
}
ab_rps() { echo "$1" | awk '{ print $8 }'; }
new_ns
start_relay "$relay" ab
if ! relay_up; then
    bad "7 relay" "did not start"
    show "$RELAY_LOG"
else
    bg ab.serve "${peer[@]}" serve "$url" "$tmp/www/big.bin" 80
    bg ab.linux "${peer[@]}" linux-http 127.0.0.1 8081
    if ! wait_until 20 grep -q '^address ' "$tmp/ab.serve.out" || ! wait_until 10 grep -q '^listening' "$tmp/ab.linux.out"; then
        bad "7 servers" "$(head -c 300 "$tmp/ab.serve.err") $(head -c 300 "$tmp/ab.linux.err")"
    else
        A7=$(sed -n 's/^address //p' "$tmp/ab.serve.out")
        wait_until 10 in_ns curl -sf -m 5 -o /dev/null "http://$A7/whoami"
        w=$(ab_run ab-wtcp -n "$AB_N" -c 50 "http://$A7/whoami")
        l=$(ab_run ab-linux -n "$AB_N" -c 50 "http://127.0.0.1:8081/whoami")
        ab_check "Node http over wtcp/node via the relay, -c 50" "$AB_N" "$w"
        [ "$w" = "${w#*failed 0 }" ] && show "$tmp/ab-wtcp.ab" && show "$tmp/ab.serve.err"
        ab_check "the same Node http server on kernel TCP, -c 50" "$AB_N" "$l"
        wk=$(ab_run ab-wtcp-k -k -n "$AB_KN" -c 50 "http://$A7/whoami")
        lk=$(ab_run ab-linux-k -k -n "$AB_KN" -c 50 "http://127.0.0.1:8081/whoami")
        ab_check "keep-alive (-k) over wtcp/node" "$AB_KN" "$wk"
        ab_check "keep-alive (-k) on kernel TCP" "$AB_KN" "$lk"
        echo "     ab rates (requests/s): wtcp $(ab_rps "$w") vs kernel $(ab_rps "$l"); keep-alive wtcp $(ab_rps "$wk") vs kernel $(ab_rps "$lk")"
    fi
fi
stop_relay

finish
