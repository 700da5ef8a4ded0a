#!/usr/bin/env bash
# sizes.sh: prints the sizes of what the npm package ships: wtcp.wasm and the JS, raw and
# gzip -9 (what a browser downloads), and the browser entry bundled and minified (what an
# app built with a bundler carries) when esbuild is installed. Usage: tools/sizes.sh DIR
set -euo pipefail
cd "${1:-.}"
row() { # label, files...
    local label=$1
    shift
    printf '%-36s %8d B raw %8d B gzip\n' "$label" "$(cat "$@" | wc -c)" "$(cat "$@" | gzip -9 | wc -c)"
}
row "dist/wtcp.wasm" dist/wtcp.wasm
js=(lib/*.js)
row "lib/*.js, as shipped (${#js[@]} files)" "${js[@]}"
row "lib/*.d.ts" lib/*.d.ts
if [ -x node_modules/.bin/esbuild ]; then
    out=$(mktemp -d)
    node_modules/.bin/esbuild lib/index.browser.js --bundle --minify --format=esm --log-level=error \
        --loader:.wasm=empty --outfile="$out/wtcp.min.js"
    node_modules/.bin/esbuild lib/node.js --bundle --minify --format=esm --platform=node --log-level=error \
        --external:ws --outfile="$out/node.min.js"
    row "browser entry, bundled + minified" "$out/wtcp.min.js"
    row "wtcp/node, bundled + minified" "$out/node.min.js"
    rm -rf "$out"
fi
