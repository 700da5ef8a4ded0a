#!/usr/bin/env bash
# soak.sh: a soak through wtcp-relay with fault injection: two wtcp stacks (the npm package's
# wasm build in Node, relay clients) and Node's kernel TCP on the TUN side open, use and
# close connections at random both ways for SOAK_SECONDS, every byte checked
# (tests/soak/soak.mjs). Every 10 s it prints each process's counters, RSS, open file
# descriptors and wasm heap, and the relay's RSS and descriptors; at the end it judges:
# no data lost, no connection failed (deliberate aborts apart), and flat memory: for every
# process the median RSS (and wasm heap, and descriptors) of the last third of the samples
# stays within 10 % + 4 MiB (heap: 10 % + 1 MiB; descriptors: +8) of the middle third's.
#
# Usage: tests/soak/soak.sh BUILD_DIR [SECONDS]   (root; SOAK_SECONDS also sets the time;
#        SOAK_FAULTS the relay's fault options, default "--loss 1 --reorder 1 --duplicate 0.5")
# Everything runs in a network namespace of its own (loopback and the relay's TUN); the
# EXIT trap stops only the processes it started and removes the namespace. Prints "ok ..."
# or "FAIL ...: why" lines and "N passed, N failed"; exit status 1 when a check failed.
set -u
build=${1:-build}
build=${build%/}
seconds=${2:-${SOAK_SECONDS:-120}}
faults=${SOAK_FAULTS:---loss 1 --reorder 1 --duplicate 0.5}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
case $build in /*) ;; *) build=$root/$build ;; esac
relay=$build/wtcp-relay
soak=(node "$root/tests/soak/soak.mjs")
url=ws://127.0.0.1:8787

passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

missing=()
[ "$(id -u)" -eq 0 ] || missing+=("root (a network namespace and a TUN device)")
for f in "$relay" "$root/bindings/js/dist/wtcp.wasm" "$root/bindings/js/node_modules/ws/package.json"; do
    [ -f "$f" ] || missing+=("$f")
done
command -v node >/dev/null 2>&1 || missing+=(node)
if [ ${#missing[@]} -gt 0 ]; then
    bad "prerequisites" "missing ${missing[*]} (make relay wasm js-deps)"
    finish
fi

tmp=$(mktemp -d /tmp/wtcp-soak.XXXXXX)
chmod 755 "$tmp"
NS=wtcp-soak-$$
pids=()
cleanup() {
    local p
    trap '' INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    if ip netns list 2>/dev/null | grep -qw "$NS"; then
        for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$NS" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # wait_for SECONDS FILE PATTERN
    local end=$((SECONDS + $1))
    until grep -q "$3" "$2" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.2
    done
}
proc_rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

ip netns add "$NS" || { bad "namespace" "cannot create $NS"; finish; }
ip -n "$NS" link set lo up
# shellcheck disable=SC2086
ip netns exec "$NS" "$relay" --listen 127.0.0.1:8787 --seed 7 $faults 2>"$tmp/relay.log" &
relay_pid=$!
pids+=("$relay_pid")
if ! wait_for 10 "$tmp/relay.log" ' start version='; then
    bad "relay" "did not start: $(tail -3 "$tmp/relay.log")"
    finish
fi
# Two wtcp stacks, then the kernel side that also connects to both.
for i in 1 2; do
    ip netns exec "$NS" "${soak[@]}" wtcp "$url" "$seconds" 10.77.0.1 9000 "$((1000 + i))" >"$tmp/w$i.out" 2>"$tmp/w$i.err" &
    pids+=($!)
done
for i in 1 2; do
    wait_for 20 "$tmp/w$i.out" '^listening' || { bad "wtcp side $i" "did not start: $(head -c 300 "$tmp/w$i.err")"; finish; }
done
a1=$(sed -n 's/^address //p' "$tmp/w1.out")
a2=$(sed -n 's/^address //p' "$tmp/w2.out")
ip netns exec "$NS" "${soak[@]}" kernel - "$seconds" "$a1,$a2" 7000 3001 >"$tmp/k.out" 2>"$tmp/k.err" &
pids+=($!)
wait_for 10 "$tmp/k.out" '^listening' || { bad "kernel side" "did not start: $(head -c 300 "$tmp/k.err")"; finish; }
echo "     soak: $seconds s through the relay ($faults), wtcp at $a1 and $a2, kernel TCP at 10.77.0.1"
for p in "${pids[@]:1}"; do kill -USR1 "$p" 2>/dev/null; done # every side listens: go

# Samples: every 10 s the relay's own figures; the Node sides print theirs.
: >"$tmp/relay.samples"
start=$SECONDS
last=-10
while :; do
    all_done=1
    for f in w1 w2 k; do grep -q '^clients-done' "$tmp/$f.out" || all_done=0; done
    [ $all_done = 1 ] && break
    if [ $((SECONDS - start)) -gt $((seconds + 180)) ]; then
        bad "end" "the clients did not finish within 180 s of the end"
        break
    fi
    if [ $((SECONDS - start - last)) -ge 10 ]; then
        last=$((SECONDS - start))
        echo "relay t=$last rss=$(proc_rss "$relay_pid") fds=$(proc_fds "$relay_pid")" >>"$tmp/relay.samples"
        for f in w1 w2 k; do
            s=$(grep '^sample' "$tmp/$f.out" | tail -1)
            [ -n "$s" ] && echo "     $f: ${s#sample }"
        done
        echo "     relay: $(tail -1 "$tmp/relay.samples" | cut -d' ' -f2-)"
    fi
    sleep 1
done
sleep 2
for p in "${pids[@]:1}"; do kill -TERM "$p" 2>/dev/null; done
for f in w1 w2 k; do wait_for 10 "$tmp/$f.out" '^final'; done

# ---- the judgement
total_done=0
total_bytes=0
for f in w1 w2 k; do
    fin=$(grep '^final' "$tmp/$f.out" | tail -1)
    if [ -z "$fin" ]; then
        bad "$f" "no final line: $(tail -3 "$tmp/$f.err")"
        continue
    fi
    get() { echo "$fin" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    echo "     $f final: ${fin#final }"
    total_done=$((total_done + $(get done)))
    total_bytes=$((total_bytes + $(get bytes)))
    if [ "$(get failed)" -eq 0 ] && ! grep -q '^fail:' "$tmp/$f.out"; then
        ok "$f: $(get done) connections, $(get bytes) bytes checked, $(get aborted) aborted on purpose, none failed"
    else
        bad "$f" "$(get failed) failed: $(grep '^fail:' "$tmp/$f.out" | head -3 | tr '\n' ' ')"
    fi
done
[ "$total_done" -gt 0 ] && ok "soak: $total_done connections and $total_bytes bytes in $seconds s" ||
    bad "soak" "no connection completed"

# Flat memory: median of the last third against the middle third of each series.
flat() { # flat LABEL FILE FIELD SLACK_PCT SLACK_ABS
    python3 - "$@" <<'PY'
import statistics, sys
label, path, field, pct, absolute = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
vals = []
for line in open(path):
    kv = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
    if field in kv:
        vals.append(float(kv[field]))
if len(vals) < 6:
    print("skip %s %s: %d samples (too short a run to judge)" % (label, field, len(vals)))
    sys.exit(0)
n = len(vals) // 3
mid, last = statistics.median(vals[n:2 * n]), statistics.median(vals[2 * n:])
verdict = "ok" if last <= mid * (1 + pct / 100) + absolute else "grew"
print("%s %s %s: middle third %.0f, last third %.0f (%d samples)" % (verdict, label, field, mid, last, len(vals)))
PY
}
for f in w1 w2 k; do
    grep '^sample' "$tmp/$f.out" >"$tmp/$f.samples"
done
for spec in "w1 rss 10 4194304" "w1 heap 10 1048576" "w1 fds 0 8" "w2 rss 10 4194304" "w2 heap 10 1048576" \
    "w2 fds 0 8" "k rss 10 4194304" "k fds 0 8"; do
    set -- $spec
    r=$(flat "$1" "$tmp/$1.samples" "$2" "$3" "$4")
    case $r in
    ok*) ok "flat: ${r#ok }" ;;
    skip*) echo "     ${r}" ;;
    *) bad "flat" "${r#grew }" ;;
    esac
done
for spec in "rss 10 4194304" "fds 0 8"; do
    set -- $spec
    r=$(flat relay "$tmp/relay.samples" "$1" "$2" "$3")
    case $r in
    ok*) ok "flat: ${r#ok }" ;;
    skip*) echo "     ${r}" ;;
    *) bad "flat" "${r#grew }" ;;
    esac
done
grep -q -E 'AddressSanitizer|runtime error' "$tmp/relay.log" && bad "relay" "sanitizer report"
finish
