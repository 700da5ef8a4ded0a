#!/usr/bin/env bash
# v86-download.sh: a v86 guest (tests/v86: Debian's i386 kernel, busybox) downloading a file
# from a web server on the relay's host, through wtcp (wtcp/v86: the guest LAN, NAT, the
# relay) beside v86's own network adapter (its "fetch" adapter: HTTP on port 80 fetched by
# the emulator's JavaScript) on the same guest and the same server, in the same run. The
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
sleep 0.5

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A result
for adapter in wtcp fetch; do
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
printf '%-44s %12s %12s %8s\n' "guest command" "wtcp" "v86 fetch" "ratio"
for sink in sha256sum null; do
    w=${result[wtcp/$sink]} f=${result[fetch/$sink]}
    ratio=$(awk -v w="$w" -v f="$f" 'BEGIN { if (w == "-" || f == "-" || f == 0) print "-"; else printf "%.2fx", w / f }')
    cmd="wget -O - URL | sha256sum"
    [ "$sink" = null ] && cmd="wget -O /dev/null URL"
    printf '%-44s %12s %12s %8s\n' "$cmd" "$w" "$f" "$ratio"
done
