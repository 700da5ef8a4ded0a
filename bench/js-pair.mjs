// js-pair.mjs: bulk transfer between two wtcp stacks over pair() in Node (the npm
// package's wasm build), next to the native core doing the same in one process
// (build/bench/throughput, its 256 KiB / MTU 1500 row). Runs alternate, wasm then
// native, so both see the same machine load; the ratio is taken per pair of runs.
// Usage: node bench/js-pair.mjs [MiB=64] [runs=5] [--json]
//        (after make wasm js-deps, and make build/bench/throughput for the native side)
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pair } from '../bindings/js/lib/index.node.js';
import { args, median, row, say } from './js-lib.mjs';

const MiB = 1 << 20;
const mib = Number(args[0] ?? 64);
const size = mib * MiB;
const runs = Number(args[1] ?? 5);
const group = 'bulk-1proc';
const kase = 'one direction'; // bench.py's case (bulk between two stacks in one process)

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
  return size / ms / 1e3; // MB/s (10^6 bytes)
}

const bin = fileURLToPath(new URL('../build/bench/throughput', import.meta.url));
function native() {
  if (!existsSync(bin)) return null;
  const out = execFileSync(bin, [String(mib), '1'], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.startsWith('256 KiB'));
  return line ? Number(line.trim().split(/\s+/)[3]) : null; // its MB/s column
}

// Warm-up: V8 starts wasm in its baseline compiler (Liftoff) and tiers hot functions up
// to TurboFan while they run; the first ~200 MiB are slower (first run ~0.75x).
for (let i = 0; i < 3; i++) await once();
const wasm = [];
const nat = [];
const ratio = [];
for (let i = 0; i < runs; i++) {
  const w = await once();
  const n = native();
  wasm.push(w);
  // In bench.py's table the native row of the same case is the sockpair harness in one
  // process (its ratio column divides by it); this script's own native figure is the
  // throughput.c row, printed below without --json.
  row({ group, case: kase, system: 'wtcp wasm (Node)', metric: 'goodput', unit: 'Gbit/s', value: Number(((w * 8) / 1000).toFixed(3)), higher_is_better: true });
  if (n !== null) {
    nat.push(n);
    ratio.push(w / n);
  }
}

const mbps = median(wasm);
say(`wtcp bulk transfer, ${mib} MiB one way, 256 KiB buffers, MTU 1500, median of ${runs} runs after 3 warm-up runs\n`);
say('where                          MB/s    Gbit/s');
say(`Node 20, wasm, pair()   ${mbps.toFixed(0).padStart(12)} ${((mbps * 8) / 1000).toFixed(2).padStart(9)}`);
if (nat.length) {
  const n = median(nat);
  say(`native C, same machine  ${n.toFixed(0).padStart(12)} ${((n * 8) / 1000).toFixed(2).padStart(9)}   (wasm/native ${median(ratio).toFixed(2)}, median of per-run ratios)`);
} else say('(native figure: run `make build/bench/throughput` first)');
