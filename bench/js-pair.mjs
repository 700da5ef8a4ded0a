// js-pair.mjs: bulk transfer between two wtcp stacks over pair() in Node (the npm
// package's wasm build), next to the native core doing the same in one process.
// Usage: node bench/js-pair.mjs [MiB=64] [runs=5]   (after make wasm js-deps and make bench)
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pair } from '../bindings/js/lib/index.node.js';

const MiB = 1 << 20;
const size = Number(process.argv[2] ?? 64) * MiB;
const runs = Number(process.argv[3] ?? 5);

async function once() {
  const [a, b] = await pair();
  const server = b.listen({ port: 5001 });
  const sink = (async () => {
    for await (const conn of server) {
      let n = 0;
      for await (const chunk of conn) n += chunk.length;
      conn.close();
      return n;
    }
  })();
  const data = new Uint8Array(256 * 1024).map((_, i) => i * 31);
  const conn = await a.connect({ host: b.address, port: 5001 });
  const t0 = performance.now();
  for (let sent = 0; sent < size; sent += data.length) await conn.write(data);
  await conn.end();
  const got = await sink;
  const ms = performance.now() - t0;
  if (got !== size) throw new Error(`received ${got} of ${size} bytes`);
  conn.close();
  a.close();
  b.close();
  return ms;
}

const times = [];
for (let i = 0; i < runs; i++) times.push(await once());
times.sort((x, y) => x - y);
const med = times[Math.floor(runs / 2)];

let native = null;
const bin = fileURLToPath(new URL('../build/bench/throughput', import.meta.url));
if (existsSync(bin)) {
  const out = execFileSync(bin, [String(size / MiB), String(runs)], { encoding: 'utf8' });
  const row = out.split('\n').find((l) => l.startsWith('256 KiB'));
  if (row) native = Number(row.trim().split(/\s+/)[3]); // MB/s column
}

const mbps = size / med / 1e3; // MB/s (10^6 bytes)
console.log(`wtcp bulk transfer, ${size / MiB} MiB one way, 256 KiB buffers, MTU 1500, median of ${runs} runs\n`);
console.log('where                          MB/s    Gbit/s');
console.log(`Node 20, wasm, pair()   ${mbps.toFixed(0).padStart(12)} ${((mbps * 8) / 1000).toFixed(2).padStart(9)}`);
if (native !== null)
  console.log(`native C, same machine  ${native.toFixed(0).padStart(12)} ${((native * 8) / 1000).toFixed(2).padStart(9)}   (wasm/native ${(mbps / native).toFixed(2)})`);
else console.log('(native figure: run `make bench` first)');
