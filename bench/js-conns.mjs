// js-conns.mjs: many concurrent idle connections through the npm package with default
// options: one pair(), N connections opened (in waves of WAVE concurrent connects, each
// accepted by the server), then held idle while the wasm heap is measured
// (stack.stats().heapBytes: what the core holds through its allocator, both stacks).
// A failure on the way (ENOMEM, EMFILE, ...) is reported as a measured row with the
// number of connections reached, not a crash.
// Usage: node bench/js-conns.mjs [count=10000] [runs=1] [--json] [--max-sockets=N]
//        (--max-sockets sets both stacks' socket table; the default is the core's 16,384)
import { pair } from '../bindings/js/lib/index.node.js';
import { args, median, row, say } from './js-lib.mjs';

const count = Number(args[0] ?? 10000);
const runs = Number(args[1] ?? 1);
const WAVE = 100;
const group = 'conns-10k'; // bench.py's group and case
const kase = '10,000 idle connections';
const system = 'wtcp npm (Node)';
const maxSocketsArg = process.argv.find((a) => a.startsWith('--max-sockets='));
const options = maxSocketsArg ? { maxSockets: Number(maxSocketsArg.split('=')[1]) } : {};

async function once() {
  const [a, b] = await pair(options);
  const base = a.stats().heapBytes + b.stats().heapBytes;
  const server = b.listen({ port: 80, backlog: WAVE });
  const accepted = [];
  const accepting = (async () => {
    for await (const conn of server) accepted.push(conn);
  })().catch(() => {});
  const clients = [];
  let error = null;
  const t0 = performance.now();
  let t1 = t0; // end of the last wave that opened completely
  try {
    while (clients.length < count) {
      const n = Math.min(WAVE, count - clients.length);
      const wave = await Promise.allSettled(Array.from({ length: n }, () => a.connect({ host: b.address, port: 80, timeout: 5000 })));
      for (const r of wave) if (r.status === 'fulfilled') clients.push(r.value);
      const failed = wave.find((r) => r.status === 'rejected');
      if (failed) {
        error = failed.reason;
        break;
      }
      t1 = performance.now();
    }
  } catch (err) {
    error = err; // e.g. the stack refusing a socket synchronously
  }
  // Let the server side catch up with the last wave.
  for (let i = 0; i < 100 && accepted.length < clients.length; i++) await new Promise((r) => setTimeout(r, 10));
  const ms = (error ? t1 : performance.now()) - t0;
  const heap = a.stats().heapBytes + b.stats().heapBytes - base;
  const memory = a.stats().memoryBytes + b.stats().memoryBytes;
  // Why the server stopped answering, when it did (a full socket table drops SYNs).
  const drops = Object.entries(b.stats().dropReasons).map(([k, v]) => `${k}: ${v}`).join(', ');
  const result = { reached: clients.length, accepted: accepted.length, ms, heap, memory, error, drops };
  a.close();
  b.close();
  await accepting;
  return result;
}

const results = [];
for (let i = 0; i < runs; i++) {
  const r = await once();
  results.push(r);
  const err = r.error ? { error: `${r.error.code ?? ''} ${r.error.message}`.trim() + (r.drops ? ` (server drops: ${r.drops})` : '') } : {};
  row({ group, case: kase, system, metric: 'connections reached', unit: 'connections', value: r.reached, higher_is_better: true, ...err });
  if (r.reached) {
    row({ group, case: kase, system, metric: 'memory per idle connection (both ends)', unit: 'bytes', value: Math.round(r.heap / r.reached), higher_is_better: false });
    row({ group, case: kase, system, metric: 'time to open all', unit: 'ms', value: Math.round(r.ms), higher_is_better: false });
  }
}

say(`wtcp idle connections over pair() in Node 20 (wasm), ${maxSocketsArg ? `maxSockets ${options.maxSockets}` : 'default options'}, ${count} wanted, ${runs} run(s)\n`);
for (const r of results) {
  say(`reached ${r.reached} connections (${r.accepted} accepted) in ${r.ms.toFixed(0)} ms: ${(r.reached / (r.ms / 1e3)).toFixed(0)} opened/s`);
  if (r.reached) say(`wasm heap ${(r.heap / 2 ** 20).toFixed(1)} MiB for both ends: ${(r.heap / r.reached).toFixed(0)} B per connection (client + server end); linear memory ${(r.memory / 2 ** 20).toFixed(0)} MiB`);
  if (r.error) say(`stopped by: ${r.error.code ?? ''} ${r.error.message}${r.drops ? `; server drops: ${r.drops}` : ''}`);
}
if (runs > 1) say(`median heap per connection ${median(results.filter((r) => r.reached).map((r) => r.heap / r.reached)).toFixed(0)} B`);
