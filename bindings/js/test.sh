#!/usr/bin/env bash
# test.sh BUILD_DIR: the npm package's test suite, run by tools/run-tests.sh (make test).
# Runs Vitest in Node over everything in test/ (API behaviour, transfers with and without
# faults, backpressure, Node http through wtcp/node, the relay link, packaging, types),
# prints the package sizes, and ends with one line "N passed, N failed" (tests).
# Needs dist/wtcp.wasm (make wasm) and node_modules (make js-deps).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
mkdir -p "$build"
cd "$here" || exit 2

fail() {
    echo "bindings/js: $1" >&2
    echo "0 passed, 1 failed"
    exit 1
}
[ -f dist/wtcp.wasm ] || fail "dist/wtcp.wasm is missing: run 'make wasm' at the repository root"
[ -x node_modules/.bin/vitest ] || fail "node_modules is missing: run 'make js-deps' at the repository root"

echo "== sizes (also in $build/js-sizes.txt)"
tools/sizes.sh . | tee "$build/js-sizes.txt"
echo

report="$build/js-vitest.json"
rm -f "$report"
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json="$report"
status=$?

if [ -f "$report" ]; then
    node -e '
        const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const failed = r.numFailedTests + (r.success || r.numFailedTests ? 0 : 1);
        console.log(`${r.numPassedTests} passed, ${failed} failed`);
    ' "$report"
else
    echo "0 passed, 1 failed"
    [ $status -ne 0 ] || status=1
fi
exit $status
