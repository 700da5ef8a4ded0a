// transfer.test.js: bulk data between two stacks over pair(): 16 MiB echoed byte-exact
// over a clean link and over a faulty one (seeded loss, duplication, reordering and
// corruption), and 200 connections at once.

import { describe, it, expect } from 'vitest';
import { pair } from 'wtcp';
import { pattern, sameBytes, echoServer, concat } from './helpers.js';

const MiB = 1 << 20;

async function echo(a, data, chunk = 256 * 1024) {
  const conn = await a.connect({ host: '10.0.0.2', port: 7 });
  const sending = (async () => {
    for (let off = 0; off < data.length; off += chunk) await conn.write(data.subarray(off, off + chunk));
    await conn.end();
  })();
  const parts = [];
  let n = 0;
  for await (const c of conn) {
    parts.push(c);
    n += c.length;
  }
  await sending;
  const info = conn.info();
  conn.close();
  return { received: concat(parts, n), info };
}

describe('bulk transfer over pair()', () => {
  it('echoes 16 MiB byte-exact', async () => {
    const [a, b] = await pair();
    echoServer(b, 7);
    const data = pattern(16 * MiB, 42);
    const t0 = performance.now();
    const { received, info } = await echo(a, data);
    const ms = performance.now() - t0;
    expect(received.length).toBe(data.length);
    expect(sameBytes(received, data)).toBe(true);
    expect(info.bytesAcked).toBe(data.length);
    console.log(`16 MiB echo: ${ms.toFixed(0)} ms, ${((2 * data.length * 8) / ms / 1000).toFixed(0)} Mbit/s of payload`);
    a.close();
    b.close();
  });

  it('echoes 16 MiB byte-exact through loss, duplication, reordering and corruption', async () => {
    const faults = { seed: 2024, loss: 0.01, duplicate: 0.01, reorder: 0.02, corrupt: 0.005 };
    const [a, b] = await pair({ faults });
    echoServer(b, 7);
    const data = pattern(16 * MiB, 7);
    const t0 = performance.now();
    const { received, info } = await echo(a, data);
    const ms = performance.now() - t0;
    expect(sameBytes(received, data)).toBe(true);
    const counts = a.link.faults.counts;
    expect(counts.lost).toBeGreaterThan(50);
    expect(counts.duplicated).toBeGreaterThan(50);
    expect(counts.reordered).toBeGreaterThan(50);
    expect(counts.corrupted).toBeGreaterThan(20);
    expect(info.retransmits).toBeGreaterThan(0);
    // Corrupted packets were caught by the checksums and counted.
    const drops = { ...a.stats().dropReasons };
    for (const [k, v] of Object.entries(b.stats().dropReasons)) drops[k] = (drops[k] ?? 0) + v;
    expect((drops['tcp: bad checksum'] ?? 0) + (drops['ip: bad header checksum'] ?? 0)).toBeGreaterThan(0);
    console.log(`16 MiB echo with faults: ${ms.toFixed(0)} ms, faults ${JSON.stringify(counts)}, retransmits ${info.retransmits}`);
    a.close();
    b.close();
  });

  for (const [N, backlog] of [
    [400, 511],
    [4000, 4096],
  ]) {
    it(`takes ${N} simultaneous connects to a listener with backlog ${backlog}, no SYN resent`, async () => {
      const [a, b] = await pair();
      const listener = b.listen({ port: 80, backlog });
      const accepted = [];
      const accepting = (async () => {
        while (accepted.length < N) {
          const c = await listener.accept();
          if (!c) break;
          accepted.push(c);
        }
      })();
      const conns = await Promise.all(Array.from({ length: N }, () => a.connect({ host: '10.0.0.2', port: 80 })));
      await accepting;
      expect(conns.length).toBe(N);
      expect(accepted.length).toBe(N);
      expect(a.stats().tcpRetransmits).toBe(0); // no SYN waited for a retransmission
      for (const c of conns) c.close();
      for (const c of accepted) c.close();
      listener.close();
      a.close();
      b.close();
    }, 60_000);
  }

  it('runs 200 connections at once, each echoing its own data', async () => {
    const [a, b] = await pair({ maxBacklog: 256, timeWait: 100 });
    b.listen({ port: 7, backlog: 256 }).close(); // the port is free again
    echoServer(b, 7);
    const N = 200;
    const conns = await Promise.all(Array.from({ length: N }, () => a.connect({ host: '10.0.0.2', port: 7 })));
    expect(new Set(conns.map((c) => c.localPort)).size).toBe(N);
    const results = await Promise.all(
      conns.map(async (conn, i) => {
        const data = pattern(20_000 + i * 100, i + 1);
        const sending = (async () => {
          await conn.write(data);
          await conn.end();
        })();
        const parts = [];
        for await (const c of conn) parts.push(c);
        await sending;
        conn.close();
        return sameBytes(concat(parts), data);
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(a.stats().handles).toBe(0);
    expect(a.stats().tcpActiveOpens).toBe(N);
    expect(b.stats().tcpPassiveOpens).toBe(N);
    a.close();
    b.close();
  });
});
