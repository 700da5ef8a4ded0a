#!/usr/bin/env bash
# check-core.sh: the core's portability and purity checks: warning-free C11 under gcc and
# clang, a wasm32-wasi compile, no writable globals (.data/.bss), no I/O, clock or threads.
# Usage: tools/check-core.sh CC CLANG WASI_CC WASI_SYSROOT "FLAGS" SRC...
set -u
cc=$1 clang=$2 wasi_cc=$3 sysroot=$4 flags=$5
shift 5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, then command
    local name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        echo "  ok   $name"
    else
        echo "  FAIL $name"
        sed 's/^/       /' "$tmp/out" | head -40
        fail=1
    fi
}
compile_all() { # compiler, extra flags...
    local c=$1
    shift
    for src in "${SRCS[@]}"; do
        local obj=${src//\//_}
        $c $flags "$@" -c "$src" -o "$tmp/${obj%.c}.o" || return 1
    done
}
SRCS=("$@")
check "gcc -std=c11 -Wall -Wextra -Werror -pedantic" compile_all "$cc" -O2
check "clang -std=c11 -Wall -Wextra -Werror -pedantic" compile_all "$clang" -O2
check "clang --target=wasm32-wasi (sysroot $sysroot)" compile_all "$wasi_cc" -O2 --target=wasm32-wasi --sysroot="$sysroot"
no_globals() {
    compile_all "$cc" -O0 || return 1
    local bad
    # Symbols in writable sections. (.data.rel.ro, where tables of const pointers go,
    # is read-only after relocation and not counted.)
    bad=$(objdump -t "$tmp"/*.o | awk '$0 ~ /[ \t](\.data|\.bss|\*COM\*)[ \t]/ && $NF !~ /^\./ {print}')
    if [ -n "$bad" ]; then
        echo "writable globals found:"
        echo "$bad"
        return 1
    fi
}
check "no writable globals (objdump: no .data/.bss symbols)" no_globals
no_io() {
    compile_all "$cc" -O0 || return 1
    local bad
    nm --defined-only "$tmp"/*.o | awk 'NF == 3 {print $3}' | sort -u >"$tmp/defined"
    bad=$(nm -u "$tmp"/*.o | awk 'NF == 2 {print $2}' | sort -u | comm -23 - "$tmp/defined" |
        grep -Ev '^(memcpy|memmove|memset|memcmp|malloc|free|realloc|calloc|__stack_chk_fail)$' || true)
    if [ -n "$bad" ]; then
        echo "the core calls outside libc's memory functions:"
        echo "$bad"
        return 1
    fi
}
check "no I/O, clock or threads (only memory functions from libc)" no_io
exit $fail
