#!/usr/bin/env bash
# test.sh: the relay suite: wtcp-relay in network namespaces of its own, with the WASI commands as exec clients, curl/socat/Python as the network, and a raw WebSocket client for the protocol checks.
#
# Usage: relay/test.sh BUILD_DIR     (as root, after `make build/libwtcp.a wasi relay build/relay/unit`)
# Every test makes its own namespace (wtcp-relay-PID-N), runs the relay in it with
# `ip netns exec`, keeps all traffic on its loopback and TUN subnet, and the EXIT trap
# removes what it made (only the PIDs this script started, the namespaces it created).
# Prints "ok   ..." or "FAIL ...: why" per check, figures, and "N passed, N failed";
# exit status 1 when a check failed. RELAY_TEST_BIG (bytes, default 8 MiB) sets the size of
# the large transfers.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=${1%/}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
case $build in /*) ;; *) build=$root/$build ;; esac
relay=$build/wtcp-relay
relay_san=$build/relay/wtcp-relay-san
w=$build/wasi
wsc=(python3 "$root/relay/test/wsclient.py")
run=(node "$root/wasi/run.mjs")
big=${RELAY_TEST_BIG:-8388608}

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
for f in "$relay" "$relay_san" "$build/relay/unit" "$w/wtcp-httpd.wasm" "$w/wtcp-echo.wasm" "$w/wtcp-get.wasm"; do
    [ -x "$f" ] || [ -f "$f" ] || missing+=("$f")
done
for c in ip node curl socat nft tcpdump python3 openssl sha256sum timeout; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
[ -c /dev/net/tun ] || missing+=(/dev/net/tun)
if [ ${#missing[@]} -gt 0 ]; then
    bad "prerequisites" "missing ${missing[*]} (make deps build/libwtcp.a wasi relay build/relay/unit)"
    finish
fi

# ---- bookkeeping and cleanup: only what this script started or made
tmp=$(mktemp -d /tmp/wtcp-relay-test.XXXXXX)
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
        # Children of the relays started here (exec commands) live only in these namespaces.
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
    NS="wtcp-relay-$$-$nsn"
    ip netns add "$NS" || return 1
    namespaces+=("$NS")
    ip -n "$NS" link set lo up
}
# Commands run in the background and are waited for: a signal then interrupts the wait at
# once and the EXIT trap cleans up (a foreground child would delay it until it ended).
# (To start something in the background, call ip directly: $! must be the command.)
in_ns() {
    ip netns exec "$NS" "$@" <&0 & # <&0: keep the caller's stdin (else /dev/null)
    wait $!
}

RELAY_PID=
RELAY_LOG=
start_relay() { # start_relay NAME ARGS...: the relay in $NS, in the background
    RELAY_LOG=$tmp/$1.log
    shift
    ip netns exec "$NS" "$relay" "$@" 2>"$RELAY_LOG" &
    RELAY_PID=$!
    pids+=("$RELAY_PID")
}
stop_relay() { # stop_relay [SIGNAL]: signal the relay, wait; the exit status in $RELAY_STATUS
    kill "-${1:-TERM}" "$RELAY_PID" 2>/dev/null
    local i
    for i in $(seq 1 100); do kill -0 "$RELAY_PID" 2>/dev/null || break; sleep 0.1; done
    wait "$RELAY_PID" 2>/dev/null
    RELAY_STATUS=$?
}
wait_until() { # wait_until SECONDS COMMAND...: retry every 0.1 s
    local end=$((SECONDS + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
tun_up() { ip -n "$NS" -4 addr show dev "${1:-wtcp0}" 2>/dev/null | grep -q "inet 10.77.0.1/16"; }
tun_exists() { ip -n "$NS" link show dev "$1" >/dev/null 2>&1; }
port_open() { in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
http_code() { in_ns curl -s -m 5 -o /dev/null -w '%{http_code}' "$1"; }
http_ok() { [ "$(http_code "$1")" = 200 ]; }
metric() { # metric PORT 'name{labels}': the value, or -1 when it is missing
    in_ns curl -s -m 5 "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print -1 }'
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat" 2>/dev/null || echo 0; } # time on a CPU
now_ms() { date +%s%3N; }

mkdir -p "$tmp/www" "$tmp/out"
head -c "$big" /dev/urandom >"$tmp/www/big.bin"
head -c 1048576 /dev/urandom >"$tmp/www/mid.bin"
echo "hello from wtcp-httpd.wasm" >"$tmp/www/index.html"
chmod -R a+rX "$tmp/www"
chmod 777 "$tmp/out"
big_sha=$(sha "$tmp/www/big.bin")
mid_sha=$(sha "$tmp/www/mid.bin")
big_mib=$(awk -v b="$big" 'BEGIN { printf "%g", b / 1048576 }')

httpd=("${run[@]}" --dir "$tmp/www=/www" "$w/wtcp-httpd.wasm" 80 /www)

# ================================================================ 0. unit tests
if "$build/relay/unit" >"$tmp/unit.out" 2>&1; then
    ok "unit: $(tail -n1 "$tmp/unit.out") (IPv4 checks, checksum, address pool)"
else
    bad "unit" "$(tail -n1 "$tmp/unit.out")"
    show "$tmp/unit.out"
fi

# ================================================================ 1. curl <- wtcp-httpd.wasm
new_ns
start_relay t1 exec --metrics 127.0.0.1:9187 -- "${httpd[@]}"
if ! wait_until 10 tun_up || ! wait_until 15 http_ok http://10.77.0.2/index.html; then
    bad "1 httpd: relay exec with wtcp-httpd.wasm" "never answered on 10.77.0.2:80"
    show "$RELAY_LOG"
else
    body=$(in_ns curl -s -m 5 http://10.77.0.2/index.html)
    [ "$body" = "hello from wtcp-httpd.wasm" ] && ok "1 httpd: curl in the namespace gets index.html from 10.77.0.2" ||
        bad "1 httpd: index.html" "got '$body'"
    in_ns curl -sS -m 120 -o "$tmp/out/t1.bin" http://10.77.0.2/big.bin 2>"$tmp/t1.curl"
    if [ "$(sha "$tmp/out/t1.bin" 2>/dev/null)" = "$big_sha" ]; then
        # Throughput and the relay's CPU time (schedstat: nanoseconds) over 5 more runs.
        c0=$(cpu_ns "$RELAY_PID")
        t0=$(now_ms)
        rates=()
        for i in 1 2 3 4 5; do
            rates+=("$(in_ns curl -sS -m 120 -o /dev/null -w '%{speed_download}' http://10.77.0.2/big.bin)")
        done
        t1=$(now_ms)
        c1=$(cpu_ns "$RELAY_PID")
        median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 3p)
        rate=$(awk -v b="$median" 'BEGIN { printf "%.1f", b / 1048576 }')
        cpu=$(awk -v c=$((c1 - c0)) -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", 100 * c / 1e6 / ms }')
        per=$(awk -v c=$((c1 - c0)) -v b="$big" 'BEGIN { printf "%.2f", c / 1e6 / 5 / (b / 1048576) }')
        ok "1 httpd: $big_mib MiB byte-exact (sha256); 5 more: median $rate MiB/s, relay CPU ${cpu}% of one core (${per} ms per MiB)"
        echo "     figure: relay exec, curl <- wtcp-httpd.wasm (node:wasi), $big_mib MiB: median $rate MiB/s; relay CPU ${cpu}% while busy, ${per} ms per MiB"
    else
        bad "1 httpd: $big_mib MiB download" "sha256 differs or curl failed: $(head -c 200 "$tmp/t1.curl")"
        show "$RELAY_LOG"
    fi
    code=$(http_code http://10.77.0.2/no-such-file)
    [ "$code" = 404 ] && ok "1 httpd: a missing file gives 404" || bad "1 httpd: missing file" "status $code"
    for i in $(seq 1 20); do
        ip netns exec "$NS" curl -sS -m 60 -o "$tmp/out/par.$i" http://10.77.0.2/mid.bin 2>/dev/null &
        par[$i]=$!
    done
    good=0
    for i in $(seq 1 20); do
        wait "${par[$i]}" && [ "$(sha "$tmp/out/par.$i")" = "$mid_sha" ] && good=$((good + 1))
    done
    [ $good -eq 20 ] && ok "1 httpd: 20 parallel curls of 1 MiB, all byte-exact" ||
        bad "1 httpd: 20 parallel curls" "$good of 20 byte-exact"
    up=$(metric 9187 'wtcp_relay_packets_total{direction="up"}')
    drops=$(in_ns curl -s -m 5 http://127.0.0.1:9187/metrics | awk '/^wtcp_relay_drops_total/ { s += $2 } END { print s + 0 }')
    [ "$up" -gt 6000 ] && [ "$drops" -eq 0 ] &&
        ok "1 httpd: metrics count $up packets up and no drops" ||
        bad "1 httpd: metrics" "packets up $up, drops: $(in_ns curl -s -m 5 http://127.0.0.1:9187/metrics | awk '/^wtcp_relay_drops_total/ && $2 > 0' | tr '\n' ' ')"
fi
stop_relay TERM
if [ "$RELAY_STATUS" -eq 0 ] && ! tun_exists wtcp0 && grep -q 'exec-exit pid=[0-9]* status=0' "$RELAY_LOG"; then
    ok "1 httpd: SIGTERM: the command gets end of file and exits 0, the relay exits 0, wtcp0 is gone"
else
    bad "1 httpd: SIGTERM" "status $RELAY_STATUS"
    show "$RELAY_LOG"
fi

# ================================================================ 2. wtcp-get.wasm <- Python HTTP server
new_ns
ip netns exec "$NS" python3 -m http.server 8080 --bind 0.0.0.0 --directory "$tmp/www" >"$tmp/t2.http" 2>&1 &
pids+=($!)
if ! wait_until 10 port_open 8080; then
    bad "2 get: Python HTTP server" "did not start"
else
    rm -f "$tmp/out/t2.resp"
    t0=$(now_ms)
    in_ns timeout 180 "$relay" exec -- "${run[@]}" --dir "$tmp/out=/out" "$w/wtcp-get.wasm" -r \
        10.77.0.1:8080 'GET /big.bin HTTP/1.0\r\n\r\n' /out/t2.resp 2>"$tmp/t2.log"
    st=$?
    t1=$(now_ms)
    python3 - "$tmp/out/t2.resp" "$tmp/out/t2.body" <<'EOF'
import sys
d = open(sys.argv[1], 'rb').read() if __import__('os').path.exists(sys.argv[1]) else b''
head, _, body = d.partition(b'\r\n\r\n')
open(sys.argv[2], 'wb').write(body)
EOF
    if [ $st -eq 0 ] && [ "$(sha "$tmp/out/t2.body")" = "$big_sha" ]; then
        ms=$((t1 - t0))
        rate=$(awk -v b="$big" -v ms="$ms" 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }')
        ok "2 get: wtcp-get.wasm through the relay downloads $big_mib MiB byte-exact from 10.77.0.1:8080 ($rate MiB/s with start-up); the relay exits with its status 0"
        echo "     figure: relay exec, wtcp-get.wasm <- python http.server, $big_mib MiB: $rate MiB/s including node start-up"
    else
        bad "2 get: wtcp-get.wasm download" "exit status $st, sha256 $(sha "$tmp/out/t2.body" 2>/dev/null | head -c 12)"
        show "$tmp/t2.log"
    fi
fi

# ================================================================ 3. socat -> wtcp-echo.wasm
new_ns
start_relay t3 exec --listen 127.0.0.1:8787 -- "${run[@]}" "$w/wtcp-echo.wasm" 7
echo_ok() { [ "$(echo ping | in_ns timeout 5 socat -t 2 - TCP:10.77.0.2:7)" = ping ]; }
if wait_until 10 tun_up && wait_until 15 echo_ok; then
    ok "3 echo: socat in the namespace gets its line back from wtcp-echo.wasm at 10.77.0.2:7"
    head -c 3000000 /dev/urandom >"$tmp/t3.in"
    in_ns timeout 60 socat -t 10 - TCP:10.77.0.2:7 <"$tmp/t3.in" >"$tmp/t3.out" 2>"$tmp/t3.err"
    [ "$(sha "$tmp/t3.out")" = "$(sha "$tmp/t3.in")" ] && ok "3 echo: 3 MB through socat come back byte-exact" ||
        bad "3 echo: 3 MB" "got $(stat -c %s "$tmp/t3.out") bytes, different"
    out=$(in_ns "${wsc[@]}" ping ws://127.0.0.1:8787/ 2)
    [ "$out" = "address 10.77.0.3 sent 2 replies 2" ] &&
        ok "3 echo: exec with --listen serves a WebSocket client alongside ($out)" || bad "3 echo: exec and WebSocket together" "$out"
else
    bad "3 echo: wtcp-echo.wasm" "no echo"
    show "$RELAY_LOG"
fi
stop_relay TERM

# ================================================================ 4. faults: the relay's and nftables'
new_ns
start_relay t4a exec --loss 5 --reorder 5 --seed 42 --metrics 127.0.0.1:9187 -- "${httpd[@]}"
if wait_until 10 tun_up && wait_until 20 http_ok http://10.77.0.2/index.html; then
    t0=$(now_ms)
    in_ns curl -sS -m 300 -o "$tmp/out/t4a.bin" http://10.77.0.2/big.bin 2>"$tmp/t4a.curl"
    t1=$(now_ms)
    lost=$(metric 9187 'wtcp_relay_drops_total{direction="up",reason="fault_loss"}')
    lost_d=$(metric 9187 'wtcp_relay_drops_total{direction="down",reason="fault_loss"}')
    reord=$(metric 9187 'wtcp_relay_fault_reordered_total{direction="up"}')
    if [ "$(sha "$tmp/out/t4a.bin" 2>/dev/null)" = "$big_sha" ] && [ "$lost" -gt 0 ] && [ "$reord" -gt 0 ]; then
        ok "4 faults: --loss 5 --reorder 5: $big_mib MiB byte-exact in $((t1 - t0)) ms ($lost + $lost_d packets lost, $reord reordered up)"
    else
        bad "4 faults: relay loss and reordering" "sha256 or counters wrong (lost $lost, reordered $reord)"
        show "$tmp/t4a.curl"
    fi
else
    bad "4 faults: relay with --loss/--reorder" "httpd never answered"
    show "$RELAY_LOG"
fi
stop_relay TERM

new_ns
start_relay t4b exec --delay 15 --jitter 5 --duplicate 5 --seed 7 --metrics 127.0.0.1:9187 -- "${httpd[@]}"
if wait_until 10 tun_up && wait_until 20 http_ok http://10.77.0.2/index.html; then
    in_ns curl -sS -m 120 -o "$tmp/out/t4b.bin" http://10.77.0.2/mid.bin 2>"$tmp/t4b.curl"
    dup=$(metric 9187 'wtcp_relay_fault_duplicated_total{direction="up"}')
    del=$(metric 9187 'wtcp_relay_fault_delayed_total{direction="down"}')
    if [ "$(sha "$tmp/out/t4b.bin" 2>/dev/null)" = "$mid_sha" ] && [ "$dup" -gt 0 ] && [ "$del" -gt 0 ]; then
        ok "4 faults: --delay 15 --jitter 5 --duplicate 5: 1 MiB byte-exact ($dup duplicated, $del delayed down)"
    else
        bad "4 faults: delay, jitter, duplication" "sha256 or counters wrong (dup $dup, delayed $del)"
    fi
else
    bad "4 faults: relay with --delay/--jitter/--duplicate" "httpd never answered"
fi
stop_relay TERM

new_ns
start_relay t4c exec -- "${httpd[@]}"
if wait_until 10 tun_up && wait_until 20 http_ok http://10.77.0.2/index.html; then
    in_ns nft -f - <<'EOF'
table inet wtcp_relay_test {
    chain in { type filter hook input priority 0; iifname "wtcp0" numgen random mod 100 < 3 counter drop; }
    chain out { type filter hook output priority 0; oifname "wtcp0" numgen random mod 100 < 3 counter drop; }
}
EOF
    t0=$(now_ms)
    in_ns curl -sS -m 300 -o "$tmp/out/t4c.bin" http://10.77.0.2/big.bin 2>"$tmp/t4c.curl"
    t1=$(now_ms)
    nft_drops=$(in_ns nft list table inet wtcp_relay_test | awk '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }')
    if [ "$(sha "$tmp/out/t4c.bin" 2>/dev/null)" = "$big_sha" ] && [ "$nft_drops" -gt 0 ]; then
        ok "4 faults: nftables 3 % loss each way on wtcp0: $big_mib MiB byte-exact in $((t1 - t0)) ms ($nft_drops packets dropped)"
    else
        bad "4 faults: nftables loss" "sha256 differs or no drops ($nft_drops)"
        show "$tmp/t4c.curl"
    fi
else
    bad "4 faults: relay for the nftables run" "httpd never answered"
fi
stop_relay TERM

# ================================================================ 5. WebSocket: anti-spoofing, malformed packets, access, limits
# The relay here is the AddressSanitizer build, so the abuse also checks memory safety.
new_ns
relay_plain=$relay
relay=$relay_san
start_relay t5 --metrics 127.0.0.1:9187
if ! wait_until 10 tun_up || ! wait_until 10 port_open 8787; then
    bad "5 ws: relay" "did not start"
    show "$RELAY_LOG"
else
    ip netns exec "$NS" tcpdump -i wtcp0 -n -U -w "$tmp/t5.pcap" >"$tmp/t5.tcpdump" 2>&1 &
    tcpdump_pid=$!
    pids+=("$tcpdump_pid")
    wait_until 5 grep -q "listening on" "$tmp/t5.tcpdump"
    in_ns "${wsc[@]}" abuse ws://127.0.0.1:8787/ >"$tmp/t5.out" 2>&1
    st=$?
    sed 's/^/     | /' "$tmp/t5.out" | grep -v '^     | expect'
    [ $st -eq 0 ] && ok "5 ws: the client scenario (config, pings, fragments, bad packets, a second client) behaved" ||
        bad "5 ws: client scenario" "see the lines above"
    sleep 0.3
    kill -INT "$tcpdump_pid" 2>/dev/null
    wait "$tcpdump_pid" 2>/dev/null
    expect=$(sed -n 's/^expect //p' "$tmp/t5.out")
    wrong=
    for kv in $expect; do
        k=${kv%%=*}
        v=${kv#*=}
        got=$(metric 9187 "wtcp_relay_drops_total{direction=\"up\",reason=\"$k\"}")
        [ "$got" = "$v" ] || wrong="$wrong $k=$got(want $v)"
    done
    [ -n "$expect" ] && [ -z "$wrong" ] && ok "5 ws: drop counters by reason: $expect" ||
        bad "5 ws: drop counters" "${wrong:-no expectations}"
    up=$(metric 9187 'wtcp_relay_packets_total{direction="up"}')
    [ "$up" = 4 ] && ok "5 ws: exactly the 4 good packets went up" || bad "5 ws: packets up" "$up, want 4"
    tcpdump -r "$tmp/t5.pcap" -n 2>/dev/null >"$tmp/t5.txt"
    n=$(wc -l <"$tmp/t5.txt")
    stray=$(grep -v -E '^[0-9:.]+ IP 10\.77\.0\.([1-4]) > 10\.77\.0\.[1-4]: ICMP echo (request|reply)' "$tmp/t5.txt" | head -3)
    if [ "$n" -eq 8 ] && [ -z "$stray" ] && ! grep -q -E '10\.77\.0\.99|192\.0\.2\.1' "$tmp/t5.txt"; then
        ok "5 ws: tcpdump on wtcp0 saw only the 4 good echoes and their 4 replies; nothing forged or malformed"
    else
        bad "5 ws: tcpdump on wtcp0" "$n packets; unexpected: ${stray:-count}"
        show "$tmp/t5.txt"
    fi
    grep -q 'drop client=10.77.0.2 direction=up reason=spoofed' "$RELAY_LOG" &&
        ok "5 ws: the log names the first spoofed packet of the client" || bad "5 ws: log" "no drop line"
    # a message over --max-message is not a packet; a message over the MTU only a drop
    out=$(in_ns "${wsc[@]}" toobig ws://127.0.0.1:8787/ 70000)
    [ "${out%% *}" = "close" ] && [ "$(echo "$out" | cut -d' ' -f2)" = 1009 ] &&
        ok "5 ws: a 70000-byte message closes the connection with 1009" || bad "5 ws: message too big" "$out"
    out=$(in_ns "${wsc[@]}" ping ws://127.0.0.1:8787/ 3)
    [ "${out##* }" = 3 ] && ok "5 ws: the relay keeps serving new clients ($out)" || bad "5 ws: after abuse" "$out"
    in_ns curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:8787/ >"$tmp/t5.plain"
    [ "$(cat "$tmp/t5.plain")" = 426 ] && ok "5 ws: plain HTTP on the WebSocket port gets 426" || bad "5 ws: plain HTTP" "$(cat "$tmp/t5.plain")"
    # Protocol 2 (wtcp.2): batches, good and broken, beside a version 1 client; counted
    # per reason (the counters before, then after).
    declare -A before
    for k in bad_batch bad_checksum too_big; do
        before[$k]=$(metric 9187 "wtcp_relay_drops_total{direction=\"up\",reason=\"$k\"}")
    done
    msgs_up=$(metric 9187 'wtcp_relay_messages_total{direction="up"}')
    in_ns "${wsc[@]}" batch ws://127.0.0.1:8787/ >"$tmp/t5b.out" 2>&1
    st=$?
    sed 's/^/     | /' "$tmp/t5b.out" | grep -v '^     | expect'
    [ $st -eq 0 ] && ok "5 ws v2: batches of packets (20 at once, one at the size limit, broken ones) behaved" ||
        bad "5 ws v2: batch scenario" "see the lines above"
    wrong=
    for kv in $(sed -n 's/^expect //p' "$tmp/t5b.out"); do
        k=${kv%%=*}
        v=${kv#*=}
        got=$(metric 9187 "wtcp_relay_drops_total{direction=\"up\",reason=\"$k\"}")
        [ $((got - before[$k])) = "$v" ] || wrong="$wrong $k=+$((got - before[$k]))(want +$v)"
    done
    [ -z "$wrong" ] && ok "5 ws v2: each broken packet or batch counted by its reason" || bad "5 ws v2: counters" "$wrong"
    msgs=$(( $(metric 9187 'wtcp_relay_messages_total{direction="up"}') - msgs_up ))
    [ "$msgs" = 10 ] && ok "5 ws v2: 10 messages up (9 batches, 1 from the version 1 client)" || bad "5 ws v2: messages up" "$msgs, want 10"
    out=$(in_ns "${wsc[@]}" toobig ws://127.0.0.1:8787/ 70000 wtcp.2)
    [ "$(echo "$out" | cut -d' ' -f1-2)" = "close 1009" ] &&
        ok "5 ws v2: a 70000-byte batch closes the connection with 1009" || bad "5 ws v2: batch too big" "$out"
fi
stop_relay TERM
if [ "$RELAY_STATUS" -eq 0 ] && ! grep -q -E 'AddressSanitizer|runtime error' "$RELAY_LOG"; then
    ok "5 ws: the AddressSanitizer/UBSan build ran it all clean and exited 0"
else
    bad "5 ws: sanitizers" "status $RELAY_STATUS"
    grep -A12 -E 'AddressSanitizer|runtime error' "$RELAY_LOG" | head -20 | sed 's/^/     | /'
fi
relay=$relay_plain

# -- access: token, Origin
new_ns
printf '# tokens for the test\n\n  s3cret-token_1  \nother.token\n' >"$tmp/tokens"
start_relay t5tok --token-file "$tmp/tokens" --origin http://good.example --origin https://also.good
if wait_until 10 port_open 8787; then
    probe() { in_ns "${wsc[@]}" probe "$@" 2>&1 | head -1; }
    s1=$(probe ws://127.0.0.1:8787/ --origin http://good.example)
    s2=$(probe "ws://127.0.0.1:8787/?token=wrong" --origin http://good.example)
    s3=$(probe "ws://127.0.0.1:8787/?token=s3cret-token_1" --origin http://good.example)
    s4=$(probe ws://127.0.0.1:8787/ --origin https://also.good --protocol wtcp --protocol wtcp.token.other.token)
    s5=$(probe "ws://127.0.0.1:8787/?token=other.token" --origin http://evil.example)
    s6=$(probe "ws://127.0.0.1:8787/?token=other.token")
    s7=$(probe "ws://127.0.0.1:8787/?token=other.token" --origin http://good.example --protocol chat)
    [ "$s1" = "status 401" ] && [ "$s2" = "status 401" ] &&
        ok "5 access: no token or a wrong token: HTTP 401" || bad "5 access: bad token" "'$s1' '$s2'"
    [ "$s3" = "status 101" ] && [ "$s4" = "status 101" ] &&
        ok "5 access: the token as ?token= or as subprotocol wtcp.token.TOKEN: accepted" || bad "5 access: good token" "'$s3' '$s4'"
    [ "$s5" = "status 403" ] && [ "$s6" = "status 403" ] &&
        ok "5 access: an Origin not in the list, or none: HTTP 403" || bad "5 access: origin" "'$s5' '$s6'"
    [ "$s7" = "status 400" ] && ok "5 access: a subprotocol list without wtcp: HTTP 400" || bad "5 access: subprotocol" "'$s7'"
    full=$(in_ns "${wsc[@]}" probe "ws://127.0.0.1:8787/?token=wrong" --origin http://good.example | sed -n 's/^body //p')
    n401=$(grep -c 'refuse peer=127.0.0.1 reason=token status=401' "$RELAY_LOG")
    n403=$(grep -c 'refuse peer=127.0.0.1 reason=origin status=403' "$RELAY_LOG")
    ! grep -q -e s3cret -e other.token "$RELAY_LOG" && [ "$n401" -ge 2 ] && [ "$n403" -eq 2 ] &&
        ok "5 access: one log line per refusal ($n401 token, $n403 origin), tokens never logged; body: $full" ||
        bad "5 access: refusal log" "$n401 token lines, $n403 origin lines"
fi
stop_relay TERM

# -- limits: clients, idle, handshake, rate, queue; isolation switched off; wss
new_ns
start_relay t5lim --max-clients 2 --ping-interval 1 --idle-timeout 3 --handshake-timeout 2 \
    --queue 8 --metrics 127.0.0.1:9187 --metrics-path /metrics
if wait_until 10 port_open 8787; then
    ip netns exec "$NS" "${wsc[@]}" sleeper ws://127.0.0.1:8787/ 6 >"$tmp/t5.sleep1" 2>&1 &
    s1=$!
    ip netns exec "$NS" "${wsc[@]}" sleeper ws://127.0.0.1:8787/ 6 >"$tmp/t5.sleep2" 2>&1 &
    s2=$!
    pids+=("$s1" "$s2")
    wait_until 5 grep -q address "$tmp/t5.sleep2"
    wait_until 5 grep -q address "$tmp/t5.sleep1"
    out=$(in_ns "${wsc[@]}" probe ws://127.0.0.1:8787/ | head -1)
    [ "$out" = "status 503" ] && ok "5 limits: --max-clients 2: the third client gets HTTP 503" || bad "5 limits: max clients" "$out"
    # A client that reads nothing while the namespace floods it: its queue of 8 overflows.
    victim=$(sed -n 's/^address //p' "$tmp/t5.sleep1")
    in_ns python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20000):
    s.sendto(b'x' * 1400, ('$victim', 9))
"
    qf=$(metric 9187 'wtcp_relay_drops_total{direction="down",reason="queue_full"}')
    [ "$qf" -gt 0 ] && ok "5 limits: a client that does not read: its queue fills, $qf packets dropped (queue_full)" ||
        bad "5 limits: queue" "queue_full $qf"
    wait "$s1" "$s2" 2>/dev/null
    out=$(in_ns "${wsc[@]}" nopong ws://127.0.0.1:8787/)
    secs=$(echo "$out" | awk '{ print int($2) }')
    pings=$(echo "$out" | awk '{ print $4 }')
    [ "$secs" -ge 2 ] && [ "$secs" -le 5 ] && [ "$pings" -ge 1 ] &&
        ok "5 limits: a client that answers no ping is dropped after --idle-timeout 3 ($out)" || bad "5 limits: idle" "$out"
    out=$(in_ns "${wsc[@]}" patient ws://127.0.0.1:8787/ 4)
    [ "${out%% *}" = alive ] && ok "5 limits: a quiet client that answers pings stays ($out)" || bad "5 limits: pong keeps alive" "$out"
    out=$(in_ns "${wsc[@]}" silent 127.0.0.1 8787)
    secs=$(echo "$out" | awk '{ print int($2) }')
    [ "$secs" -ge 1 ] && [ "$secs" -le 4 ] && ok "5 limits: a connection that sends no handshake is closed (--handshake-timeout 2: $out)" ||
        bad "5 limits: handshake timeout" "$out"
    mp=$(in_ns curl -s -m 5 http://127.0.0.1:8787/metrics | grep -c '^wtcp_relay_')
    [ "$mp" -gt 20 ] && ok "5 limits: --metrics-path serves the metrics on the WebSocket port too" || bad "5 limits: metrics path" "$mp lines"
fi
stop_relay TERM

new_ns
start_relay t5rate --rate-pps 10 --metrics 127.0.0.1:9187
if wait_until 10 port_open 8787; then
    out=$(in_ns "${wsc[@]}" ping ws://127.0.0.1:8787/ 50)
    got=${out##* }
    rl=$(metric 9187 'wtcp_relay_drops_total{direction="up",reason="rate_limit"}')
    [ "$got" -ge 5 ] && [ "$got" -le 15 ] && [ "$rl" -ge 35 ] &&
        ok "5 limits: --rate-pps 10: $got of 50 pings in a burst answered, $rl dropped (rate_limit)" || bad "5 limits: rate" "$out, rate_limit $rl"
fi
stop_relay TERM

new_ns
start_relay t5peer --allow-peers
if wait_until 10 port_open 8787; then
    out=$(in_ns "${wsc[@]}" peers ws://127.0.0.1:8787/)
    set -- $out
    [ "$6" = "$2->$4" ] && ok "5 peers: with --allow-peers one client's packet reaches another ($out)" || bad "5 peers" "$out"
fi
stop_relay TERM

new_ns
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1
start_relay t5tls --cert "$tmp/cert.pem" --key "$tmp/key.pem"
if wait_until 10 port_open 8787; then
    out=$(in_ns "${wsc[@]}" probe wss://127.0.0.1:8787/ | tr '\n' ' ')
    case $out in
    "status 101 protocol - config {"*) ok "5 wss: TLS with --cert/--key: handshake and configuration over wss://" ;;
    *) bad "5 wss" "$out" ;;
    esac
else
    bad "5 wss" "relay did not start"
    show "$RELAY_LOG"
fi
stop_relay TERM

# ================================================================ 6. the daemon itself
help=$("$relay" --help)
st=$?
missing_opts=
for o in $(sed -n 's/^ *{"\([a-z-]*\)", *\(required\|no\)_argument.*/\1/p; s/^ *FAULT_OPTS("\([a-z]*\)".*/\1/p' relay/main.c); do
    grep -q -- "--$o\b" <<<"$help" || missing_opts="$missing_opts --$o"
done
nopts=$(sed -n 's/^ *{"\([a-z-]*\)", *\(required\|no\)_argument.*/\1/p; s/^ *FAULT_OPTS("\([a-z]*\)".*/\1/p' relay/main.c | wc -l)
[ $st -eq 0 ] && [ -z "$missing_opts" ] && [ "$nopts" -gt 25 ] && grep -q -F -- '--loss[-up|-down]' <<<"$help" && grep -q 'masquerade' <<<"$help" &&
    ok "6 cli: --help describes all $nopts options (fault ones with -up/-down) and the nft NAT rule" ||
    bad "6 cli: --help" "status $st, not described:$missing_opts"
"$relay" --version | grep -q '^wtcp-relay [0-9]' && ok "6 cli: --version" || bad "6 cli: --version" "$("$relay" --version 2>&1)"

new_ns
badopts=0
while IFS='|' read -r args want; do
    read -r -a a <<<"$args"
    in_ns "$relay" "${a[@]}" >/dev/null 2>"$tmp/t6.err"
    st=$?
    if [ $st -ne 2 ] || ! grep -q -- "$want" "$tmp/t6.err" || tun_exists wtcp0; then
        bad "6 cli: wtcp-relay $args" "status $st, stderr: $(head -c 200 "$tmp/t6.err")"
        badopts=$((badopts + 1))
    fi
done <<'EOF'
--bogus|unrecognized option
--mtu 100|576..65535
--mtu|requires an argument
--address 10.77.0.0/16|host address
--address 10.77.0.1/31|1..30
--address 10.77.0.300/16|not an IPv4 address
--listen 127.0.0.1|ADDR:PORT
--listen 127.0.0.1:99999|ADDR:PORT
--loss 101|percentage
--loss-up x|percentage
--delay -5|whole number
--cert /x|go together
--max-message 600|below the MTU
--idle-timeout 5 --ping-interval 5|longer than
--metrics-path metrics|starting with /
stray|unexpected argument
exec|no COMMAND
exec --token-file /x -- true|no WebSocket listener
EOF
[ $badopts -eq 0 ] && ok "6 cli: 18 bad command lines give exit status 2, a message naming the problem, and no TUN"

ip netns exec "$NS" python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 8787)); s.listen(); time.sleep(30)" &
blocker=$!
pids+=("$blocker")
wait_until 5 port_open 8787
in_ns "$relay" >/dev/null 2>"$tmp/t6.inuse"
st=$?
kill "$blocker" 2>/dev/null
wait "$blocker" 2>/dev/null
[ $st -eq 1 ] && grep -q 'cannot listen on 127.0.0.1:8787' "$tmp/t6.inuse" && ! tun_exists wtcp0 &&
    ok "6 errors: the WebSocket port in use: exit status 1, a message, and the TUN it made is gone" ||
    bad "6 errors: port in use" "status $st"
in_ns "$relay" --tun averyveryverylongname >/dev/null 2>"$tmp/t6.long"
st=$?
[ $st -eq 1 ] && grep -q 'at most 15' "$tmp/t6.long" && ok "6 errors: a TUN name over 15 characters: exit status 1 and why" ||
    bad "6 errors: long TUN name" "status $st"
in_ns "$relay" --token-file "$tmp/nonexistent" >/dev/null 2>"$tmp/t6.tok"
st=$?
[ $st -eq 1 ] && grep -q 'token-file' "$tmp/t6.tok" && ok "6 errors: a missing token file: exit status 1 and why" || bad "6 errors: token file" "status $st"

start_relay t6term --tun wtcpterm
wait_until 10 tun_up wtcpterm
ip netns exec "$NS" "${wsc[@]}" waitclose ws://127.0.0.1:8787/ >"$tmp/t6.close" 2>&1 &
wc_pid=$!
pids+=("$wc_pid")
wait_until 5 grep -q address "$tmp/t6.close"
tun_exists wtcpterm && had=yes || had=no
stop_relay TERM
wait "$wc_pid" 2>/dev/null
if [ $had = yes ] && [ "$RELAY_STATUS" -eq 0 ] && ! tun_exists wtcpterm && grep -q '^close 1001' "$tmp/t6.close" &&
    grep -q 'exit status=0 tun=wtcpterm removed=yes' "$RELAY_LOG"; then
    ok "6 signals: SIGTERM closes the client with 1001, exits 0 and removes the TUN it created"
else
    bad "6 signals: SIGTERM" "tun before: $had, status $RELAY_STATUS, client: $(cat "$tmp/t6.close")"
    show "$RELAY_LOG"
fi
start_relay t6int --tun wtcpint
wait_until 10 tun_up wtcpint
stop_relay INT
[ "$RELAY_STATUS" -eq 0 ] && ! tun_exists wtcpint && ok "6 signals: SIGINT too" || bad "6 signals: SIGINT" "status $RELAY_STATUS"

ip -n "$NS" tuntap add dev wtcppers mode tun
start_relay t6pers --tun wtcppers
wait_until 10 tun_up wtcppers
stop_relay TERM
[ "$RELAY_STATUS" -eq 0 ] && tun_exists wtcppers && grep -q 'created=no' "$RELAY_LOG" &&
    ok "6 signals: a persistent TUN that existed before is used and left in place" || bad "6 signals: existing TUN" "status $RELAY_STATUS"
ip -n "$NS" link del wtcppers # it still holds 10.77.0.1/16

if id nobody >/dev/null 2>&1; then
    start_relay t6user --user nobody
    wait_until 10 port_open 8787
    uid=$(awk '/^Uid:/ { print $2 "," $3 "," $4 "," $5 }' "/proc/$RELAY_PID/status" 2>/dev/null)
    out=$(in_ns "${wsc[@]}" ping ws://127.0.0.1:8787/ 2)
    stop_relay TERM
    nobody=$(id -u nobody)
    [ "$uid" = "$nobody,$nobody,$nobody,$nobody" ] && [ "${out##* }" = 2 ] && [ "$RELAY_STATUS" -eq 0 ] && ! tun_exists wtcp0 &&
        ok "6 privileges: --user nobody: runs as uid $nobody, still forwards ($out), and still removes its TUN" ||
        bad "6 privileges: --user" "uid $uid, $out, status $RELAY_STATUS"
fi

timeout 20 ip netns exec "$NS" "$relay" exec -- sh -c \
    'echo "$WTCP_ADDR $WTCP_PREFIX $WTCP_GATEWAY $WTCP_MTU" >'"$tmp/out/t6.env"'; exit 3' 2>"$tmp/t6.exec"
st=$?
[ $st -eq 3 ] && [ "$(cat "$tmp/out/t6.env")" = "10.77.0.2 16 10.77.0.1 1500" ] &&
    ok "6 exec: the command sees WTCP_ADDR/PREFIX/GATEWAY/MTU ($(cat "$tmp/out/t6.env")) and its exit status 3 is the relay's" ||
    bad "6 exec: environment and status" "status $st, env '$(cat "$tmp/out/t6.env" 2>/dev/null)'"
timeout 20 ip netns exec "$NS" "$relay" exec --mtu 9000 --address 10.9.8.7/24 -- sh -c \
    'echo "$WTCP_ADDR $WTCP_PREFIX $WTCP_GATEWAY $WTCP_MTU" >'"$tmp/out/t6.env2" 2>/dev/null
[ "$(cat "$tmp/out/t6.env2")" = "10.9.8.1 24 10.9.8.7 9000" ] &&
    ok "6 exec: --address 10.9.8.7/24 --mtu 9000 reach the command ($(cat "$tmp/out/t6.env2"))" ||
    bad "6 exec: options in the environment" "'$(cat "$tmp/out/t6.env2" 2>/dev/null)'"
timeout 20 ip netns exec "$NS" "$relay" exec -- /nonexistent/command 2>"$tmp/t6.nx"
st=$?
[ $st -eq 127 ] && grep -q 'No such file' "$tmp/t6.nx" && ! tun_exists wtcp0 &&
    ok "6 exec: a command that cannot run: status 127 and why" || bad "6 exec: missing command" "status $st"

finish
