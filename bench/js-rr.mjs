// js-rr.mjs: small-message latency-bound work over pair() in Node (the npm package's
// wasm build): 64-byte request/response round trips on one connection (ping-pong, the
// next request only after the response), and connection rate (connect, accept, close
// on both ends, one connection at a time). Each run uses a fresh pair().
// Usage: node bench/js-rr.mjs [seconds=2] [runs=5] [--json]
import { pair } from '../bindings/js/lib/index.node.js';
import { args, median, row, say } from './js-lib.mjs';

const seconds = Number(args[0] ?? 2);
const runs = Number(args[1] ?? 5);
// bench.py's groups and cases: rr and conn-rate, beside the native rows.
const SIZE = 64;

/** Reads exactly n bytes (64-byte messages normally arrive whole). */
async function readN(conn, n) {
  let got = 0;
  while (got < n) {
    const c = await conn.read(n - got);
    if (c === null) throw new Error('unexpected end of stream');
    got += c.length;
  }
}

async function roundTrips(ms) {
  const [a, b] = await pair();
  const server = b.listen({ port: 7 });
  (async () => {
    const conn = await server.accept();
    const reply = new Uint8Array(SIZE).fill(2);
    for (;;) {
      const c = await conn.read(SIZE);
      if (c === null) break;
      await conn.write(reply);
    }
    conn.close();
  })().catch(() => {}); // EBADF once the stacks are closed below
  const conn = await a.connect({ host: b.address, port: 7 });
  const req = new Uint8Array(SIZE).fill(1);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 256; i++) {
      await conn.write(req);
      await readN(conn, SIZE);
    }
    n += 256;
    t = performance.now();
  }
  const rate = n / ((t - t0) / 1e3);
  conn.close();
  a.close();
  b.close();
  return rate;
}

// TIME-WAIT keeps each closed connection's socket for 60 s (default options), and a
// stack has 1,024 sockets by default: each batch of PER_PAIR connections gets a fresh
// pair(), whose setup is not timed.
const PER_PAIR = 1000;

async function connectBatch() {
  const [a, b] = await pair();
  const server = b.listen({ port: 80 });
  (async () => {
    for await (const conn of server) conn.close();
  })().catch(() => {});
  const t0 = performance.now();
  for (let i = 0; i < PER_PAIR; i++) {
    const c = await a.connect({ host: b.address, port: 80 });
    await c.read(); // the server's FIN: it accepted and closed
    c.close();
  }
  const ms = performance.now() - t0;
  a.close();
  b.close();
  return ms;
}

async function connections(ms) {
  let n = 0;
  let spent = 0;
  while (spent < ms) {
    spent += await connectBatch();
    n += PER_PAIR;
  }
  return n / (spent / 1e3);
}

await roundTrips(500); // warm-up (V8 tiers the wasm up while it runs)
await connections(100);
const rr = [];
const cps = [];
for (let i = 0; i < runs; i++) {
  const r = await roundTrips(seconds * 1000);
  rr.push(r);
  row({ group: 'rr', case: '64-byte request/response', system: 'wtcp wasm (Node)', metric: 'round trips/s', unit: '1/s', value: Math.round(r), higher_is_better: true });
  const c = await connections(seconds * 1000);
  cps.push(c);
  row({ group: 'conn-rate', case: 'connect, accept, close', system: 'wtcp wasm (Node)', metric: 'connections/s', unit: '1/s', value: Math.round(c), higher_is_better: true });
}
say(`wtcp over pair() in Node 20 (wasm), median of ${runs} runs of ${seconds} s\n`);
say(`64-byte request/response, one connection   ${median(rr).toFixed(0).padStart(9)} round trips/s  (${(1e6 / median(rr)).toFixed(2)} µs each)`);
say(`connect + accept + close, one at a time    ${median(cps).toFixed(0).padStart(9)} connections/s`);
