#!/usr/bin/env bash
# test.sh: a bounded, seeded libFuzzer run of the input path (deterministic: fixed seed and
# run count), after replaying the seed corpus. Usage: tests/fuzz/test.sh BUILD_DIR
set -u
build=${1:-build}
bin="$build/fuzz/fuzz_input"
if [ ! -x "$bin" ]; then
    echo "missing $bin (make $bin)"
    echo "0 passed, 1 failed"
    exit 1
fi
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
runs=${FUZZ_RUNS:-300000}
if "$bin" -seed=1 -runs="$runs" -max_len=4096 -print_final_stats=1 "$corpus" >"$corpus.log" 2>&1; then
    grep -E "^(Done|stat::number_of_executed_units)" "$corpus.log" | head -2
    echo "1 passed, 0 failed"
    rm -f "$corpus.log"
    exit 0
fi
tail -60 "$corpus.log"
rm -f "$corpus.log"
echo "0 passed, 1 failed"
exit 1
