// index.browser.js: the package entry for browsers and bundlers: fetches wtcp.wasm from
// beside the module (bundlers such as Vite see the `new URL(..., import.meta.url)` and
// emit the file as an asset).

import { setDefaultWasmSource, compileResponse } from './wasm.js';

setDefaultWasmSource(() => compileResponse(fetch(new URL('../dist/wtcp.wasm', import.meta.url))));

export * from './api.js';
