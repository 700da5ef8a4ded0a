// batching.test.js: the fast paths between two stacks of pair(): whole batches of
// packets moved from one wasm memory into the other's inbox and fed to the core in one
// call, deliveries on microtasks while the link is busy, reads and writes served at
// once. Each must deliver the same bytes as the packet-by-packet path: with faults
// switched on and off mid-transfer, with loopback packets mixed into a batch, with
// onpacket replaced by a sniffer, and for many small messages; and timers must still
// run during a transfer.

import { describe, it, expect } from 'vitest';
import { pair, FaultInjector } from 'wtcp';
import { pattern, sameBytes, echoServer, concat, sleep } from './helpers.js';

const MiB = 1 << 20;

async function echo(stack, host, data, chunk = 64 * 1024) {
  const conn = await stack.connect({ host, port: 7 });
  const sending = (async () => {
    for (let off = 0; off < data.length; off += chunk) await conn.write(data.subarray(off, off + chunk));
    await conn.end();
  })();
  const parts = [];
  for await (const c of conn) parts.push(c);
  await sending;
  conn.close();
  return concat(parts);
}

describe('batches between the stacks of pair()', () => {
  it('faults switched on and off during a transfer leave the bytes exact', async () => {
    const [a, b] = await pair();
    echoServer(b, 7);
    const data = pattern(8 * MiB, 11);
    const running = echo(a, '10.0.0.2', data);
    await sleep(5);
    a.link.faults = new FaultInjector({ seed: 5, loss: 0.02, duplicate: 0.02, reorder: 0.05, corrupt: 0.01 });
    await sleep(100);
    const counts = a.link.faults.counts;
    a.link.faults = null;
    const received = await running;
    expect(counts.packets).toBeGreaterThan(100);
    expect(sameBytes(received, data)).toBe(true);
    a.close();
    b.close();
  });

  it('loopback packets in the same pump as packets for the peer both arrive', async () => {
    const [a, b] = await pair();
    echoServer(b, 7);
    echoServer(a, 7);
    const toPeer = pattern(4 * MiB, 3);
    const toSelf = pattern(4 * MiB, 4);
    const [r1, r2] = await Promise.all([echo(a, '10.0.0.2', toPeer), echo(a, '10.0.0.1', toSelf)]);
    expect(sameBytes(r1, toPeer)).toBe(true);
    expect(sameBytes(r2, toSelf)).toBe(true);
    expect(a.stats().linkDrops).toBe(0);
    a.close();
    b.close();
  });

  it('an onpacket that wraps the link sees every packet, one Uint8Array each', async () => {
    const [a, b] = await pair();
    echoServer(b, 7);
    const forward = a.onpacket;
    let seen = 0;
    let bytes = 0;
    a.onpacket = (p) => {
      expect(p).toBeInstanceOf(Uint8Array);
      expect(p[0] >> 4).toBe(4);
      seen++;
      bytes += p.length;
      forward(p);
    };
    const data = pattern(1 * MiB, 9);
    const received = await echo(a, '10.0.0.2', data);
    expect(sameBytes(received, data)).toBe(true);
    expect(seen).toBeGreaterThan(700); // 1 MiB at MSS 1460, plus ACKs
    expect(bytes).toBeGreaterThan(data.length);
    expect(a.stats().ipOut).toBe(seen);
    a.close();
    b.close();
  });

  it('a busy link still yields to the event loop: timers fire during a transfer', async () => {
    const [a, b] = await pair();
    echoServer(b, 7);
    const data = pattern(16 * MiB, 21);
    let done = false;
    let ticks = 0;
    const running = echo(a, '10.0.0.2', data).then((r) => ((done = true), r));
    const tick = () => {
      if (done) return;
      ticks++;
      setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const received = await running;
    expect(sameBytes(received, data)).toBe(true);
    expect(ticks).toBeGreaterThan(3);
    a.close();
    b.close();
  });

  it('small request/response messages arrive whole and in order', async () => {
    const [a, b] = await pair();
    const listener = b.listen({ port: 9 });
    const serving = (async () => {
      const conn = await listener.accept();
      for (let c; (c = await conn.read()) !== null; ) await conn.write(c.map((x) => x ^ 0xff));
      await conn.end();
    })();
    const conn = await a.connect({ host: '10.0.0.2', port: 9 });
    for (let i = 0; i < 2000; i++) {
      const msg = pattern(1 + (i % 200), i + 1);
      await conn.write(msg);
      let got = new Uint8Array(0);
      while (got.length < msg.length) got = concat([got, await conn.read()]);
      expect(got.length).toBe(msg.length);
      expect(sameBytes(got, msg.map((x) => x ^ 0xff))).toBe(true);
    }
    await conn.write(new Uint8Array(0)); // an empty write resolves at once
    await conn.end();
    expect(await conn.read()).toBe(null);
    await serving;
    conn.close();
    a.close();
    b.close();
  });
});
