#!/usr/bin/env bash
# test.sh: every fuzz target (tests/fuzz/fuzz.mk) briefly and deterministically: its
# committed seeds and regression inputs (tests/fuzz/corpus/NAME, tests/fuzz/regress/NAME;
# tests/pkt for the script parser) are replayed, then a seeded libFuzzer run of a fixed
# number of inputs. Usage: tests/fuzz/test.sh BUILD_DIR   (FUZZ_RUNS scales the runs)
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
scale=${FUZZ_RUNS:-1}
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name runs: the number of inputs of the seeded run (about 5-10 s each on 2 cores)
for spec in input:300000 ether:200000 segments:25000 pktscript:40000 relay:300000 wasi_pipe:20000; do
    name=${spec%%:*}
    runs=$((${spec#*:} * scale))
    bin="$build/fuzz/fuzz_$name"
    if [ ! -x "$bin" ]; then
        echo "FAIL fuzz_$name: missing $bin (make $bin)"
        failed=$((failed + 1))
        continue
    fi
    seeds=()
    for d in "$here/corpus/$name" "$here/regress/$name"; do
        [ -d "$d" ] && seeds+=("$d")
    done
    [ "$name" = pktscript ] && seeds+=("$here/../pkt")
    log="$tmp/$name.log"
    start=$SECONDS
    ok=1
    if [ ${#seeds[@]} -gt 0 ] && ! "$bin" -runs=0 -artifact_prefix="$build/fuzz/crash-$name-" "${seeds[@]}" >"$log" 2>&1; then
        ok=0
        why="a seed or regression input fails"
    fi
    mkdir -p "$tmp/corpus-$name"
    if [ $ok = 1 ] && ! "$bin" -seed=1 -runs="$runs" -max_len=4096 -print_final_stats=1 -artifact_prefix="$build/fuzz/crash-$name-" \
        "$tmp/corpus-$name" "${seeds[@]}" >"$log" 2>&1; then
        ok=0
        why="the seeded run found a crash"
    fi
    if [ $ok = 1 ]; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
        echo "ok   fuzz_$name: ${#seeds[@]} seed folders replayed, $execs inputs, $cov ($((SECONDS - start)) s)"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz_$name: $why"
        grep -E 'ERROR|SUMMARY|#[0-9]+ in ' "$log" | head -20 | sed 's/^/     | /'
        ls "$build"/fuzz/crash-"$name"-* 2>/dev/null | sed "s/^/     | input kept: /"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
