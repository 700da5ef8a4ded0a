#!/usr/bin/env bash
# test.sh: the WASI suite (no relay needed): the packet scripts under node:wasi, and the commands against a native peer over pipes.
#
# Usage: wasi/test.sh BUILD_DIR        (after `make wasi BUILD_DIR/wasi/peer BUILD_DIR/wtcp-pktrun`)
# Prints one line per test ("ok   ..." or "FAIL ...: why"), throughput figures, and ends with
# "N passed, N failed"; exit status 1 when a test failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=${1%/}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
case $build in /*) ;; *) build=$root/$build ;; esac
w=$build/wasi
run=(node "$root/wasi/run.mjs")
peer=$w/peer

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
show() { # indent a file's first lines under a failure
    sed -n '1,15s/^/     | /p' "$1"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

missing=()
for f in "$w/wtcp-echo.wasm" "$w/wtcp-httpd.wasm" "$w/wtcp-get.wasm" "$w/wtcp-pktrun.wasm" \
    "$w/wtcp-example.wasm" "$w/libwtcp.a" "$w/include/wtcp.h" "$peer" "$build/wtcp-pktrun"; do
    [ -e "$f" ] || missing+=("$f")
done
if ! command -v node >/dev/null 2>&1; then
    missing+=(node)
fi
if [ ${#missing[@]} -gt 0 ]; then
    bad "prerequisites" "missing ${missing[*]} (run: make wasi $build/wasi/peer $build/wtcp-pktrun)"
    echo "$passed passed, $failed failed"
    exit 1
fi

# ---- (a) the packet scripts: the same results natively and under node:wasi
shopt -s nullglob
pkts=(tests/pkt/*.pkt)
shopt -u nullglob
if [ ${#pkts[@]} -eq 0 ]; then
    bad "pktrun.wasm" "no scripts in tests/pkt/"
else
    "$build/wtcp-pktrun" -q "${pkts[@]}" >"$tmp/pkt-native" 2>&1
    "${run[@]}" --dir tests/pkt "$w/wtcp-pktrun.wasm" -q "${pkts[@]}" >"$tmp/pkt-wasi" 2>&1
    native=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/pkt-native")
    wasi=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/pkt-wasi")
    if [ -z "$native" ]; then
        bad "pktrun.wasm" "the native runner printed no summary"
        show "$tmp/pkt-native"
    elif [ "$native" != "$wasi" ]; then
        bad "pktrun.wasm: ${#pkts[@]} scripts" "native '$native', wasi '${wasi:-no summary}'"
        diff <(awk '{print $1, $2}' "$tmp/pkt-native") <(awk '{print $1, $2}' "$tmp/pkt-wasi") | head -20
    elif ! diff -q "$tmp/pkt-native" "$tmp/pkt-wasi" >/dev/null; then
        bad "pktrun.wasm: ${#pkts[@]} scripts" "same counts ($native) but different output"
        diff "$tmp/pkt-native" "$tmp/pkt-wasi" | head -20
    else
        ok "pktrun.wasm: ${#pkts[@]} scripts give the native results, line for line ($native)"
    fi
fi

# Two scripts that must fail, one while parsing and one while running: the runner's error
# paths (longjmp, through wasi/shim under Debian's wasi-libc) must work in WebAssembly too.
mkdir -p "$tmp/pkt"
printf '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...\n' >"$tmp/pkt/bad-parse.pkt"
cat >"$tmp/pkt/bad-run.pkt" <<'EOF'
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > . 0:0(0) ack 1
EOF
"$build/wtcp-pktrun" -q "$tmp/pkt/bad-parse.pkt" "$tmp/pkt/bad-run.pkt" >"$tmp/bad-native" 2>&1
"${run[@]}" --dir "$tmp/pkt" "$w/wtcp-pktrun.wasm" -q "$tmp/pkt/bad-parse.pkt" "$tmp/pkt/bad-run.pkt" \
    >"$tmp/bad-wasi" 2>&1
if grep -q '^0 passed, 2 failed$' "$tmp/bad-native" && diff -q "$tmp/bad-native" "$tmp/bad-wasi" >/dev/null; then
    ok "pktrun.wasm: a parse error and a failing script are reported as natively"
else
    bad "pktrun.wasm: failing scripts" "outputs differ"
    diff "$tmp/bad-native" "$tmp/bad-wasi" | head -20
fi

# ---- the example: libwtcp.a embedded in a user program
if "${run[@]}" "$w/wtcp-example.wasm" >"$tmp/example" 2>&1 &&
    grep -q '^received: HELLO FROM A WASI PROGRAM$' "$tmp/example"; then
    ok "example.wasm: two stacks in one WASI program exchange a greeting"
else
    bad "example.wasm" "unexpected output"
    show "$tmp/example"
fi

# ---- (b) wtcp-httpd.wasm against the peer
www=$tmp/www
mkdir -p "$www/sub" "$tmp/secret"
head -c 1048576 /dev/urandom >"$www/1m.bin"
head -c 8388608 /dev/urandom >"$www/8m.bin"
printf 'index of sub\n' >"$www/sub/index.html"
printf 'secret\n' >"$tmp/secret/key.txt"
ln -s "$tmp/secret" "$www/out" # a symbolic link leading out of the served directory
httpd=("${run[@]}" --env WTCP_VERBOSE=1 --dir "$www=/www" "$w/wtcp-httpd.wasm" 80 /www)

# http_check NAME LINE-REGEX: one line of the peer's output must match.
http_line() { grep -E "^$1 " "$tmp/http.out"; }
rate() { # peer line -> "N MB/s in N ms"
    awk '{ printf "%.0f MB/s, %.1f ms", $7, $6 }' <<<"$1"
}

if "$peer" http 80 "$tmp/body" /1m.bin /missing.txt "HEAD /1m.bin" /../secret/key.txt \
    /%2e%2e/secret/key.txt /sub/ /8m.bin /1m.bin /out/key.txt -- "${httpd[@]}" >"$tmp/http.out" 2>"$tmp/http.err"; then
    peer_ok=1
else
    peer_ok=0
fi
if [ $peer_ok -eq 1 ] && [ "$(wc -l <"$tmp/http.out")" -eq 9 ]; then
    ok "httpd: 9 requests on one keep-alive connection, then a clean close and exit status 0"
else
    bad "httpd: keep-alive session" "peer failed"
    show "$tmp/http.err"
    show "$tmp/http.out"
fi
l=$(http_line 0)
if [[ $l == "0 GET /1m.bin 200 1048576 "* ]] && cmp -s "$tmp/body.0" "$www/1m.bin"; then
    ok "httpd: GET 1 MiB file, byte-exact ($(rate "$l"))"
else
    bad "httpd: GET 1 MiB file" "got '${l:-nothing}'"
fi
l=$(http_line 1)
if [[ $l == "1 GET /missing.txt 404 "* ]]; then ok "httpd: missing file -> 404"; else bad "httpd: missing file" "got '${l:-nothing}'"; fi
l=$(http_line 2)
if [[ $l == "2 HEAD /1m.bin 200 0 "* ]]; then ok "httpd: HEAD -> 200, no body"; else bad "httpd: HEAD" "got '${l:-nothing}'"; fi
l=$(http_line 3)
if [[ $l =~ ^3\ GET\ /\.\./secret/key\.txt\ (403|404)\  ]] && ! grep -q secret "$tmp/body.3"; then
    ok "httpd: /../ escape -> ${BASH_REMATCH[1]}"
else
    bad "httpd: /../ escape" "got '${l:-nothing}'"
fi
l=$(http_line 4)
if [[ $l =~ ^4\ GET\ /%2e%2e/secret/key\.txt\ (403|404)\  ]] && ! grep -q secret "$tmp/body.4"; then
    ok "httpd: /%2e%2e/ escape -> ${BASH_REMATCH[1]}"
else
    bad "httpd: /%2e%2e/ escape" "got '${l:-nothing}'"
fi
l=$(http_line 5)
if [[ $l == "5 GET /sub/ 200 "* ]] && cmp -s "$tmp/body.5" "$www/sub/index.html"; then
    ok "httpd: directory -> its index.html"
else
    bad "httpd: directory index" "got '${l:-nothing}'"
fi
l=$(http_line 6)
if [[ $l == "6 GET /8m.bin 200 8388608 "* ]] && cmp -s "$tmp/body.6" "$www/8m.bin"; then
    ok "httpd: GET 8 MiB file, byte-exact ($(rate "$l"))"
else
    bad "httpd: GET 8 MiB file" "got '${l:-nothing}'"
fi
l=$(http_line 7)
if [[ $l == "7 GET /1m.bin 200 1048576 "* ]] && cmp -s "$tmp/body.7" "$www/1m.bin"; then
    ok "httpd: GET 1 MiB again on the same connection, byte-exact ($(rate "$l"))"
else
    bad "httpd: GET 1 MiB again" "got '${l:-nothing}'"
fi
l=$(http_line 8)
if [[ $l =~ ^8\ GET\ /out/key\.txt\ (403|404)\  ]] && ! grep -q secret "$tmp/body.8"; then
    ok "httpd: a symbolic link out of the directory -> ${BASH_REMATCH[1]}"
else
    bad "httpd: symbolic link out of the directory" "got '${l:-nothing}'"
fi

# Pipelined requests on one connection, answered in order; HTTP/1.0 closes after its answer.
printf 'A' >"$www/a.txt"
printf 'BB' >"$www/b.txt"
answer() { # STATUS-LINE LENGTH CONNECTION BODY: one expected response
    printf 'HTTP/1.1 %s\r\nServer: wtcp-httpd\r\nContent-Type: text/plain; charset=utf-8\r\n' "$1"
    printf 'Content-Length: %s\r\nConnection: %s\r\n\r\n%s' "$2" "$3" "$4"
}
{ answer "200 OK" 1 keep-alive A; answer "200 OK" 2 keep-alive ""; answer "200 OK" 2 close BB; } >"$tmp/pipe.want"
if "$peer" raw 80 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b.txt HTTP/1.1\r\n\r\nGET /b.txt HTTP/1.0\r\n\r\nGET /a.txt HTTP/1.1\r\n\r\n' \
    "$tmp/pipe.out" -- "${httpd[@]}" >"$tmp/pipe.err" 2>&1 && cmp -s "$tmp/pipe.out" "$tmp/pipe.want"; then
    ok "httpd: 4 pipelined requests -> 3 answers in order, closed after the HTTP/1.0 one"
else
    bad "httpd: pipelined requests" "unexpected answers"
    show "$tmp/pipe.err"
    show "$tmp/pipe.out"
fi
if "$peer" raw 80 'POST /a.txt HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc' "$tmp/post.out" -- "${httpd[@]}" \
    >"$tmp/post.err" 2>&1 && head -1 "$tmp/post.out" | grep -q '^HTTP/1.1 405 ' &&
    grep -q '^Allow: GET, HEAD' "$tmp/post.out"; then
    ok "httpd: POST -> 405 with Allow"
else
    bad "httpd: POST" "no 405"
    show "$tmp/post.out"
fi
if "$peer" raw 80 'garbage\r\n\r\n' "$tmp/garbage.out" -- "${httpd[@]}" >"$tmp/garbage.err" 2>&1 &&
    head -1 "$tmp/garbage.out" | grep -q '^HTTP/1.1 400 '; then
    ok "httpd: a request line that is not HTTP -> 400"
else
    bad "httpd: garbage request" "no 400"
    show "$tmp/garbage.out"
fi

# ---- wtcp-echo.wasm
if "$peer" echo 7 3000000 -- "${run[@]}" --env WTCP_VERBOSE=1 "$w/wtcp-echo.wasm" 7 >"$tmp/echo.out" 2>&1; then
    ok "echo: 3,000,000 bytes echoed and verified, clean close, exit status 0"
else
    bad "echo" "peer failed"
    show "$tmp/echo.out"
fi

# ---- wtcp-get.wasm against the peer's server
dl=$tmp/dl
mkdir -p "$dl"
printf 'GET /1m.bin HTTP/1.1\r\nHost: 10.77.0.1\r\n\r\n' >"$dl/request.txt"
get=("${run[@]}" --env WTCP_VERBOSE=1 --dir "$dl=/dl" "$w/wtcp-get.wasm")
if "$peer" serve 8080 "$www/1m.bin" -- "${get[@]}" 10.77.0.1:8080 /dl/request.txt /dl/out.bin \
    >"$tmp/get.out" 2>&1 && [ -f "$dl/out.bin" ] &&
    [ "$(head -c 15 "$dl/out.bin")" = "HTTP/1.1 200 OK" ] &&
    tail -c 1048576 "$dl/out.bin" | cmp -s - "$www/1m.bin"; then
    ok "get: 1 MiB download from the peer (request from a file), byte-exact"
else
    bad "get: 1 MiB download" "peer or comparison failed"
    show "$tmp/get.out"
fi
if "$peer" serve 8080 "$www/8m.bin" -- "${get[@]}" -r 10.77.0.1:8080 'GET / HTTP/1.0\r\n\r\n' /dl/out8.bin \
    >"$tmp/get8.out" 2>&1 && tail -c 8388608 "$dl/out8.bin" | cmp -s - "$www/8m.bin"; then
    ok "get: 8 MiB download (request as an argument, -r), byte-exact"
else
    bad "get: 8 MiB download" "peer or comparison failed"
    show "$tmp/get8.out"
fi
if "$peer" --status 1 idle -- "${get[@]}" 10.77.0.1:9 - /dl/refused.bin >"$tmp/refused.out" 2>&1 &&
    grep -q 'connection refused' "$tmp/refused.out"; then
    ok "get: closed port -> 'connection refused', exit status 1"
else
    bad "get: closed port" "no refusal"
    show "$tmp/refused.out"
fi

# ---- malformed framing on stdin: a clear message and a non-zero exit, never a bare trap
# framing NAME PRINTF-FORMAT EXPECTED-TEXT
framing() {
    local name=$1 data=$2 want=$3 rc
    printf "$data" | "${run[@]}" "$w/wtcp-echo.wasm" 7 >"$tmp/frame.out" 2>"$tmp/frame.err"
    rc=$?
    if [ $rc -ne 0 ] && grep -q "bad packet framing" "$tmp/frame.err" && grep -q -- "$want" "$tmp/frame.err" &&
        ! grep -qi 'trap\|RuntimeError' "$tmp/frame.err"; then
        ok "framing: $name -> exit $rc, '$want'"
    else
        bad "framing: $name" "exit $rc"
        show "$tmp/frame.err"
    fi
}
framing "length beyond the input at EOF" '\000\060abcdefghij' "only 10 followed"
framing "half a length at EOF" '\000' "after 1 byte"
framing "zero length" '\000\000\105' "zero-length frame"
framing "length over the MTU" '\377\377' "exceeds the MTU"
framing "garbage text" 'hello, these are not packets\n' "exceeds the MTU"
framing "a frame that is not IPv4" '\000\024AAAAAAAAAAAAAAAAAAAA' "not one IPv4 packet"

# ---- the end of stdin is a clean exit; bad settings and usage are reported
if printf '' | "${run[@]}" "$w/wtcp-echo.wasm" 7 >"$tmp/eof.out" 2>&1; then
    ok "end of stdin -> exit status 0"
else
    bad "end of stdin" "non-zero exit"
    show "$tmp/eof.out"
fi
printf '' | "${run[@]}" --env WTCP_ADDR=10.77.0.300 "$w/wtcp-echo.wasm" 7 >"$tmp/env.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "WTCP_ADDR='10.77.0.300' is not an IPv4 address" "$tmp/env.out"; then
    ok "bad WTCP_ADDR -> message, exit $rc"
else
    bad "bad WTCP_ADDR" "exit $rc"
    show "$tmp/env.out"
fi
"${run[@]}" "$w/wtcp-httpd.wasm" 80 </dev/null >"$tmp/usage.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q '^usage: wtcp-httpd PORT DIR' "$tmp/usage.out"; then
    ok "bad usage -> usage text, exit 2"
else
    bad "bad usage" "exit $rc"
    show "$tmp/usage.out"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
