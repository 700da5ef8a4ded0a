// index.node.js: the package entry for Node: reads wtcp.wasm from disk and brings the
// `ws` package for the relay's WebSocket where Node has no global WebSocket (Node 20).

import { readFile } from 'node:fs/promises';
import { Buffer } from 'node:buffer';
import { setDefaultWasmSource, setUnzeroedAllocator } from './wasm.js';
import { setWebSocketProvider } from './links.js';

setDefaultWasmSource(async () => WebAssembly.compile(await readFile(new URL('../dist/wtcp.wasm', import.meta.url))));
// A plain Uint8Array (not a Buffer) over an unpooled ArrayBuffer of exactly n bytes.
setUnzeroedAllocator((n) => new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n));
setWebSocketProvider(async () => globalThis.WebSocket ?? (await import('ws')).WebSocket);

export * from './api.js';
