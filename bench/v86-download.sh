#!/usr/bin/env bash
# v86-download.sh: a v86 guest (tests/v86: Debian's i386 kernel, busybox) downloading a file,
# through wtcp (wtcp/v86: the guest LAN, NAT, the relay) beside v86's own network adapter
# (its "fetch" adapter: HTTP on port 80 fetched by the emulator's JavaScript), and through
# wtcp over Wisp beside v86's own wisp adapter (the same @mercuryworkshop/wisp-js server on
# loopback), on the same guest and the same web server, in the same run. The
# guest runs `wget -O - URL | sha256sum` (or `> /dev/null`) and the time is taken from
# typing the command to its end; medians of BENCH_RUNS (default 5) after one warm-up run.
#
# Usage: bench/v86-download.sh [BUILD_DIR=build]   (as root; builds the guest if missing;
#        needs build/wtcp-relay, wasm, js-deps, seabios)
# Environment: BENCH_BYTES (default 32 MiB), BENCH_RUNS (default 5).
set -u
build=${1:-build}
build=${build%/}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
case $build in /*) ;; *) build=$root/$build ;; esac
bytes=${BENCH_BYTES:-33554432}
runs=${BENCH_RUNS:-5}
[ "$(id -u)" -eq 0 ] || { echo "v86-download: needs root" >&2; exit 1; }
"$root/tests/v86/build-guest.sh" "$build/v86" || exit 1

ns=wtcp-v86bench-$$
tmp=$(mktemp -d /tmp/wtcp-v86bench.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
    local p
    trap '' INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns" || exit 1
ip -n "$ns" link set lo up
inR() { ip netns exec "$ns" "$@"; }
head -c "$bytes" /dev/urandom >"$tmp/data.bin"
sum=$(sha256sum <"$tmp/data.bin" | cut -d' ' -f1)
mkdir -p "$tmp/www"
ln "$tmp/data.bin" "$tmp/www/data.bin"
inR "$build/wtcp-relay" --tun wtcp0 --address 10.77.0.1/16 --listen 127.0.0.1:8787 >"$tmp/relay.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 50; i++)); do inR ip -4 addr show wtcp0 2>/dev/null | grep -q 10.77.0.1 && break; sleep 0.1; done
for port in 8000 80; do
    inR python3 -m http.server "$port" --bind 10.77.0.1 --directory "$tmp/www" >"$tmp/web$port.log" 2>&1 &
    pids+=($!)
done
# For the Wisp rows: @mercuryworkshop/wisp-js's server on loopback, the web server again on a
# veth address of the namespace's own.
ip -n "$ns" link add far0 type veth peer name far1
ip -n "$ns" addr add 10.88.0.1/24 dev far0
ip -n "$ns" link set far0 up
ip -n "$ns" link set far1 up
inR python3 -m http.server 8000 --bind 10.88.0.1 --directory "$tmp/www" >"$tmp/web-far.log" 2>&1 &
pids+=($!)
inR node "$root/tests/wisp/server.mjs" 127.0.0.1 5001 >"$tmp/wisp.log" 2>&1 &
pids+=($!)
sleep 0.5

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A result
for adapter in wtcp fetch wtcp-wisp v86-wisp; do
    for sink in sha256sum null; do
        out=$(inR node "$root/tests/v86/guest.mjs" ws://127.0.0.1:8787 "$build/v86" "$sum" --adapter "$adapter" \
            --runs $((runs + 1)) --sink "$sink" 2>&1)
        ms=$(echo "$out" | sed -n 's/^figure: download ms //p' | cut -d' ' -f2-)
        if [ -z "$ms" ]; then
            echo "v86-download: $adapter/$sink failed:" >&2
            echo "$out" | tail -5 >&2
            result[$adapter/$sink]=-
            continue
        fi
        # shellcheck disable=SC2086
        m=$(median $ms)
        result[$adapter/$sink]=$(awk -v b="$bytes" -v ms="$m" 'BEGIN { printf "%.2f", b / (ms / 1000) / 1e6 }')
    done
done
echo "v86 guest download: $((bytes / 1048576)) MiB, median of $runs after a warm-up, MB/s = 10^6 bytes/s; $(nproc) CPUs, Node $(node --version)"
ratio() { awk -v w="$1" -v f="$2" 'BEGIN { if (w == "-" || f == "-" || f == 0) print "-"; else printf "%.2fx", w / f }'; }
printf '%-30s %10s %10s %7s   %10s %10s %7s\n' "guest command" "wtcp" "v86 fetch" "ratio" "wtcp/Wisp" "v86 Wisp" "ratio"
for sink in sha256sum null; do
    cmd="wget -O - URL | sha256sum"
    [ "$sink" = null ] && cmd="wget -O /dev/null URL"
    w=${result[wtcp/$sink]} f=${result[fetch/$sink]} ww=${result[wtcp-wisp/$sink]} vw=${result[v86-wisp/$sink]}
    printf '%-30s %10s %10s %7s   %10s %10s %7s\n' "$cmd" "$w" "$f" "$(ratio "$w" "$f")" "$ww" "$vw" "$(ratio "$ww" "$vw")"
done
echo "(wtcp: through the relay; v86 fetch: v86's fetch adapter, port 80; wtcp/Wisp and v86 Wisp: the same"
echo " wisp-js server on loopback, to the same web server on 10.88.0.1)"
