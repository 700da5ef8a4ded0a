#!/usr/bin/env bash
# posix.sh: what the BSD-sockets layer for WASI (wasi/posix, issue 16) costs next to the
# wtcp.h API it is built on, in the same run and side by side: the same relay, the same
# runtime (Node's node:wasi), the same files, the two servers taking turns run by run.
#
#   download   curl (in the namespace, to /dev/null, -w %{speed_download}) fetches a file of
#              BENCH_BYTES from
#                A  httpd_poll.wasm   poll() HTTP server on the layer (tests/posix/progs)
#                B  wtcp-httpd.wasm   the wtcp.h API on loop.c (wasi/httpd.c)
#                -  httpd_poll        the same program built natively, on the loopback (reference)
#   echo       a Python client sends BENCH_BYTES and reads them back (both at once, every
#              byte compared), timed from connect to the echo's end of stream, against
#                A  echo_select.wasm  select() echo server on the layer
#                B  wtcp-echo.wasm    the wtcp.h API
#                -  echo_select       natively, on the loopback (reference)
# Each wasm server runs under its own `wtcp-relay exec -- node wasi/run.mjs` (TUN wtcp0,
# 10.77.0.1/16, program 10.77.0.2 for A; wtcp1, 10.79.0.1/16, 10.79.0.2 for B), both started
# before the first run; runs go A B - A B - ... after one warm-up run of each (not counted).
# Table: median, min and max MB/s (10^6 bytes/s) over BENCH_RUNS, and the CPU time of the
# node process (every thread's time on a CPU, /proc/PID/task/*/schedstat, in ms per MiB
# moved; echo counts the MiB once) and of its relay; then layer/API as a ratio of the
# medians and as a cost in percent (throughput lost; node CPU added). On a small machine
# the relay, not node, may set the pace: then node's CPU per MiB shows the layer's cost
# better than the throughput does.
#
# Usage: bench/posix.sh [BUILD_DIR=build]   (as root; builds nothing: needs
#        BUILD_DIR/wtcp-relay, BUILD_DIR/wasi/wtcp-httpd.wasm and wtcp-echo.wasm,
#        BUILD_DIR/tests/posix/{wasm,native}/{httpd_poll,echo_select}, i.e.
#        `make relay wasi posix-progs`, or `make bench-posix`; node, curl, python3, ip)
# Environment: BENCH_BYTES (per run, default 32 MiB), BENCH_RUNS (counted runs per server,
# default 11, at least 1; a run takes 0.1 to 0.3 s, and fewer give noisy medians),
# BENCH_MTU (the relays' MTU, default 1500, as relay/test.sh), BENCH_ONLY=download|echo; BENCH_A_HTTPD, BENCH_A_ECHO: other builds of
# httpd_poll.wasm and echo_select.wasm as A (to weigh a change to the layer).
#
# Everything happens in one network namespace of its own, wtcp-bench-posix-PID (loopback
# up, the two TUNs); the EXIT trap removes it, the PIDs started here and the temporary
# directory, also on failure or Ctrl-C. Every wait is bounded.
set -u

build=${1:-build}
build=${build%/}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
case $build in /*) ;; *) build=$root/$build ;; esac
relay=$build/wtcp-relay
wasm=$build/tests/posix/wasm
nat=$build/tests/posix/native
bytes=${BENCH_BYTES:-33554432}
runs=${BENCH_RUNS:-11}
mtu=${BENCH_MTU:-1500}
only=${BENCH_ONLY:-}
a_httpd=${BENCH_A_HTTPD:-$wasm/httpd_poll.wasm}
a_echo=${BENCH_A_ECHO:-$wasm/echo_select.wasm}

die() {
    echo "posix-bench: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root (a network namespace, TUN devices)"
[ "$runs" -ge 1 ] 2>/dev/null || die "BENCH_RUNS must be a number >= 1"
[ "$bytes" -ge 1048576 ] 2>/dev/null || die "BENCH_BYTES must be a number >= 1048576"
case $only in "" | download | echo) ;; *) die "BENCH_ONLY is download or echo" ;; esac
for f in "$relay" "$build/wasi/wtcp-httpd.wasm" "$build/wasi/wtcp-echo.wasm" "$a_httpd" "$a_echo" \
    "$nat/httpd_poll" "$nat/echo_select"; do
    [ -f "$f" ] || die "missing $f (make relay wasi posix-progs)"
done
for c in ip node curl python3 timeout; do command -v "$c" >/dev/null 2>&1 || die "missing $c"; done
[ -c /dev/net/tun ] || die "missing /dev/net/tun"

tmp=$(mktemp -d /tmp/wtcp-posix-bench.XXXXXX)
chmod 755 "$tmp"
ns=wtcp-bench-posix-$$
pids=()
made_ns=
cleanup() {
    local p
    trap '' INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ -n "$made_ns" ]; then
        # whatever still runs in the namespace made here was started here (the relays' node)
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns" || die "cannot create namespace $ns"
made_ns=1
ip -n "$ns" link set lo up

in_ns() { # a foreground command in the namespace, waited for in the background (Ctrl-C stays prompt)
    ip netns exec "$ns" "$@" &
    wait $!
}
bg() { # bg NAME COMMAND...: in the namespace, stdout NAME.out, stderr NAME.err; PID in $BG
    local name=$1
    shift
    ip netns exec "$ns" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
    BG=$!
    pids+=("$BG")
}
stop() { # stop PID: TERM, up to 5 s, KILL
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
wait_until() { # wait_until SECONDS COMMAND...: retry every 0.1 s
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
has_line() { grep -q -- "$2" "$1" 2>/dev/null; }
# CPU time of a process in ns: the time on a CPU of each of its threads (schedstat's first
# field), summed (node's threads live as long as it does).
cpu_ns() { cat "/proc/$1/task/"*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
# the one child of a relay (ip netns exec execs the relay itself, and the relay node)
child_of() {
    local c
    c=$(cat "/proc/$1/task/"*/children 2>/dev/null | tr ' ' '\n' | grep -m1 .)
    [ -n "$c" ] || c=$(ps -o pid= --ppid "$1" 2>/dev/null | awk 'NR == 1 { print $1 }')
    [ -n "$c" ] && [ "$(cat "/proc/$c/comm" 2>/dev/null)" = node ] && echo "$c"
}
now_ms() { date +%s%3N; }

mkdir -p "$tmp/www"
head -c "$bytes" /dev/urandom >"$tmp/www/data.bin"
chmod -R a+rX "$tmp/www"
mib=$(awk -v b="$bytes" 'BEGIN { printf "%g", b / 1048576 }')

# The echo client: connects, sends FILE (a thread) and shuts its side down, reads until the
# server's end of stream comparing every byte, prints "BYTES SECONDS".
cat >"$tmp/echo_client.py" <<'EOF'
import socket, sys, threading, time
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(path, "rb").read()
s = socket.create_connection((host, port), timeout=10)
s.settimeout(20)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
err = []
def sender():
    try:
        view = memoryview(data)
        for off in range(0, len(data), 65536):
            s.sendall(view[off:off + 65536])
        s.shutdown(socket.SHUT_WR)
    except Exception as e:
        err.append(e)
t0 = time.monotonic()
th = threading.Thread(target=sender)
th.start()
got = 0
bad = False
while True:
    b = s.recv(262144)
    if not b:
        break
    if data[got:got + len(b)] != b:
        bad = True
    got += len(b)
t1 = time.monotonic()
th.join(10)
if err or bad or got != len(data):
    sys.exit("echo: got %d of %d bytes%s%s" % (got, len(data), ", data differs" if bad else "", ", send: %s" % err[0] if err else ""))
print(got, t1 - t0)
EOF

# ---------------------------------------------------------------- servers
# start_exec NAME TUN ADDR PROGRAM.wasm ARG...: a wasm server under its own relay; sets
# R_PID (the relay) and N_PID (its node) once the program answers its first packets.
start_exec() {
    local name=$1 tun=$2 addr=$3
    shift 3
    bg "$name" "$relay" exec --tun "$tun" --address "$addr/16" --mtu "$mtu" -- \
        node "$root/wasi/run.mjs" --dir "$tmp/www=/www" "$@"
    R_PID=$BG
    wait_until 10 has_line "$tmp/$name.err" "connect client=" ||
        die "$name: relay exec did not start: $(tail -5 "$tmp/$name.err")"
    wait_until 5 child_of "$R_PID" || die "$name: no node process under the relay"
    N_PID=$(child_of "$R_PID")
}
# Per side (A, B; N the native one): rates[KIND/SIDE] the rates of the counted runs,
# ncpu/rcpu the node's and the relay's CPU ns over them, idle the side's node's CPU ns
# during the other side's runs.
declare -A rates ncpu rcpu idle rpid npid
note_cpu() { # note_cpu WHEN(0|1): both sides' CPU ns before/after a run
    local p
    for p in A B; do
        [ -n "${npid[$p]:-}" ] || continue
        eval "c_${p}_$1=\$(cpu_ns \"\${npid[$p]}\") r_${p}_$1=\$(cpu_ns \"\${rpid[$p]}\")"
    done
}
account() { # account SIDE: add up the run of SIDE (after note_cpu 0 and 1)
    local s=$1 o
    [ "$s" = A ] && o=B || o=A
    if [ -n "${npid[$s]:-}" ]; then
        eval "ncpu[$s]=\$(( ${ncpu[$s]:-0} + c_${s}_1 - c_${s}_0 ))"
        eval "rcpu[$s]=\$(( ${rcpu[$s]:-0} + r_${s}_1 - r_${s}_0 ))"
    fi
    [ -n "${npid[$o]:-}" ] && eval "idle[$o]=\$(( ${idle[$o]:-0} + c_${o}_1 - c_${o}_0 ))"
    return 0
}

# one_curl URL: prints the rate (bytes/s), dies unless every byte came
one_curl() {
    local r n
    read -r r n < <(in_ns curl -sS -m 300 --speed-limit 100000 --speed-time 10 -o /dev/null -w '%{speed_download} %{size_download}\n' "$1" 2>"$tmp/curl.err")
    [ "${n:-0}" = "$bytes" ] || die "curl $1: got ${n:-nothing} of $bytes bytes: $(cat "$tmp/curl.err")"
    echo "$r"
}
one_echo() { # one_echo HOST PORT: prints the rate (bytes/s, one way)
    local out n t
    out=$(in_ns timeout 180 python3 "$tmp/echo_client.py" "$1" "$2" "$tmp/www/data.bin" 2>"$tmp/echo.err") ||
        die "echo $1:$2: $(tail -3 "$tmp/echo.err")"
    read -r n t <<<"$out"
    awk -v n="$n" -v t="$t" 'BEGIN { printf "%.0f\n", n / t }'
}
# round KIND COUNTED: one A, one B, one native run (KIND download|echo)
round() {
    local kind=$1 counted=$2 s r
    for s in A B N; do
        note_cpu 0
        case $kind/$s in
        download/A) r=$(one_curl "http://10.77.0.2/data.bin") ;;
        download/B) r=$(one_curl "http://10.79.0.2/data.bin") ;;
        download/N) r=$(one_curl "http://127.0.0.1:8080/data.bin") ;;
        echo/A) r=$(one_echo 10.77.0.2 7) ;;
        echo/B) r=$(one_echo 10.79.0.2 7) ;;
        echo/N) r=$(one_echo 127.0.0.1 7007) ;;
        esac
        [ -n "$r" ] || exit 1
        note_cpu 1
        [ "$counted" = 1 ] || continue
        rates[$kind/$s]="${rates[$kind/$s]:-} $r"
        [ "$s" = N ] || account "$s"
    done
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minof() { printf '%s\n' "$@" | sort -g | head -1; }
maxof() { printf '%s\n' "$@" | sort -g | tail -1; }
per_mib() { # per_mib NS: ms of CPU per MiB over the counted runs
    awk -v t="$1" -v b="$bytes" -v n="$runs" 'BEGIN { printf "%.2f", t / 1e6 / (b * n / 1048576) }'
}

rows=()
result() { # result KIND SIDE LABEL: one table row, and the medians/CPU kept for the ratios
    local kind=$1 s=$2 label=$3 v med nc rc
    # shellcheck disable=SC2086
    set -- ${rates[$kind/$s]}
    med=$(median "$@")
    nc=-
    rc=-
    if [ "$s" != N ]; then
        nc=$(per_mib "${ncpu[$s]:-0}")
        rc=$(per_mib "${rcpu[$s]:-0}")
        eval "med_${kind}_$s=$med cpu_${kind}_$s=$nc"
    fi
    v=$(awk -v a="$med" -v b="$(minof "$@")" -v c="$(maxof "$@")" -v l="$label" -v nc="$nc" -v rc="$rc" \
        'BEGIN { printf "%-52s %8.1f %8.1f %8.1f %12s %12s", l, a / 1e6, b / 1e6, c / 1e6, nc, rc }')
    rows+=("$v")
}
ratio_row() { # ratio_row KIND LABEL
    local kind=$1
    eval "local a=\$med_${kind}_A b=\$med_${kind}_B ca=\$cpu_${kind}_A cb=\$cpu_${kind}_B"
    rows+=("$(awk -v a="$a" -v b="$b" -v ca="$ca" -v cb="$cb" -v l="$2" 'BEGIN {
        printf "%-52s %8.3f  (layer costs %.1f %% of the throughput; node CPU per MiB %+.1f %%)", l, a / b, 100 * (1 - a / b), (cb > 0 ? 100 * (ca / cb - 1) : 0) }')")
}

phase() { # phase KIND: start the three servers, warm up, run, stop them
    local kind=$1
    npid=()
    rpid=()
    ncpu=()
    rcpu=()
    idle=()
    if [ "$kind" = download ]; then
        start_exec httpd-A wtcp0 10.77.0.1 "$a_httpd" 80 /www
        rpid[A]=$R_PID npid[A]=$N_PID
        start_exec httpd-B wtcp1 10.79.0.1 "$build/wasi/wtcp-httpd.wasm" 80 /www
        rpid[B]=$R_PID npid[B]=$N_PID
        bg httpd-N "$nat/httpd_poll" 8080 "$tmp/www"
        local nat_pid=$BG
        wait_until 10 has_line "$tmp/httpd-N.out" "^listening on 8080" || die "native httpd_poll did not start: $(cat "$tmp/httpd-N.err")"
        for u in http://10.77.0.2/missing http://10.79.0.2/missing; do
            wait_until 20 in_ns curl -s -o /dev/null -m 1 "$u" || die "no answer from $u"
        done
    else
        start_exec echo-A wtcp0 10.77.0.1 "$a_echo" 7
        rpid[A]=$R_PID npid[A]=$N_PID
        start_exec echo-B wtcp1 10.79.0.1 "$build/wasi/wtcp-echo.wasm" 7
        rpid[B]=$R_PID npid[B]=$N_PID
        bg echo-N "$nat/echo_select" 7007
        local nat_pid=$BG
        wait_until 10 has_line "$tmp/echo-N.out" "^listening on 7007" || die "native echo_select did not start: $(cat "$tmp/echo-N.err")"
        for a in 10.77.0.2 10.79.0.2; do # a connection that opens, then closes
            wait_until 20 in_ns timeout 2 bash -c "exec 3<>/dev/tcp/$a/7" || die "no echo server answers on $a:7"
        done
    fi
    round "$kind" 0 # warm-up: each side once (JIT tiers, first buffers), not counted
    for _ in $(seq 1 "$runs"); do round "$kind" 1; done
    local pre=echo s
    [ "$kind" = download ] && pre=httpd
    for s in A B; do
        kill -0 "${rpid[$s]}" 2>/dev/null || die "$kind: the relay of $s ended during the runs: $(tail -5 "$tmp/$pre-$s.err")"
        idle_note="$idle_note $kind/$s: $(per_mib "${idle[$s]:-0}")"
    done
    stop "${rpid[A]}"
    stop "${rpid[B]}"
    stop "$nat_pid"
}

idle_note=
t0=$(now_ms)
if [ "$only" != echo ]; then
    phase download
    result download A "download  A  curl <- httpd_poll.wasm (layer)"
    result download B "download  B  curl <- wtcp-httpd.wasm (wtcp.h API)"
    result download N "download  -  curl <- httpd_poll (native, loopback)"
fi
if [ "$only" != download ]; then
    phase echo
    result echo A "echo      A  client <-> echo_select.wasm (layer)"
    result echo B "echo      B  client <-> wtcp-echo.wasm (wtcp.h API)"
    result echo N "echo      -  client <-> echo_select (native, loopback)"
fi
[ "$only" != echo ] && ratio_row download "download  layer/API (A/B, medians)"
[ "$only" != download ] && ratio_row echo "echo      layer/API (A/B, medians)"

[ "$a_httpd$a_echo" = "$wasm/httpd_poll.wasm$wasm/echo_select.wasm" ] || echo "A: $a_httpd, $a_echo"
echo "WASI sockets layer vs wtcp.h API: $mib MiB per run, $runs runs each after a warm-up, A B alternating;"
echo "relay exec (MTU $mtu) + node:wasi, Node $(node --version), $(nproc) CPUs, $(((($(now_ms) - t0) + 500) / 1000)) s"
printf '%-52s %8s %8s %8s %12s %12s\n' "" "median" "min" "max" "node CPU" "relay CPU"
printf '%-52s %8s %8s %8s %12s %12s\n' "" "MB/s" "MB/s" "MB/s" "ms/MiB" "ms/MiB"
for r in "${rows[@]}"; do echo "$r"; done
echo "(CPU: every thread's time on a CPU, /proc/PID/task/*/schedstat, over the counted runs; echo counts each MiB once."
echo " The idle wasm server's node meanwhile, ms per MiB of the other's runs:$idle_note)"
