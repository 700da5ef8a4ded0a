// backpressure.test.js: a writer whose peer never reads stops at the peer's window plus
// the two buffers, memory stays bounded, and it resumes when the peer reads.

import { describe, it, expect } from 'vitest';
import { pair } from 'wtcp';
import { pattern, sleep, sameBytes, concat } from './helpers.js';

const KiB = 1024;

describe('backpressure', () => {
  it('a writer stops at window plus buffers while the peer does not read, then resumes', async () => {
    const sendBuffer = 128 * KiB;
    const receiveBuffer = 128 * KiB;
    const [a, b] = await pair({ sendBuffer, receiveBuffer });
    const listener = b.listen({ port: 80 });
    const [client, server] = await Promise.all([a.connect({ host: '10.0.0.2', port: 80 }), listener.accept()]);

    const total = 8 << 20;
    const data = pattern(total, 11);
    let taken = 0;
    const writing = (async () => {
      for (let off = 0; off < total; off += 16 * KiB) {
        await client.write(data.subarray(off, off + 16 * KiB));
        taken = off + 16 * KiB;
      }
      await client.end();
    })();

    // Let it run until it stalls.
    let last = -1;
    while (taken !== last) {
      last = taken;
      await sleep(100);
    }
    expect(taken).toBeGreaterThanOrEqual(receiveBuffer);
    expect(taken).toBeLessThanOrEqual(sendBuffer + receiveBuffer + 32 * KiB);
    const serverInfo = server.info();
    expect(serverInfo.receiveBuffered).toBeGreaterThan(receiveBuffer - 16 * KiB);
    expect(serverInfo.receiveWindow).toBeLessThan(16 * KiB); // the window closed
    const clientInfo = client.info();
    expect(clientInfo.sendBuffered).toBeGreaterThan(0);
    // Memory stays bounded: the core holds its buffers and little else.
    const heapA = a.stats().heapBytes;
    const heapB = b.stats().heapBytes;
    await sleep(300);
    expect(taken).toBe(last); // still stalled: persist probes, no more data
    expect(a.stats().heapBytes).toBe(heapA);
    expect(b.stats().heapBytes).toBe(heapB);
    expect(a.stats().memoryBytes).toBeLessThan(8 << 20);

    // The peer reads: the window reopens and the writer finishes.
    const parts = [];
    let n = 0;
    for await (const c of server) {
      parts.push(c);
      n += c.length;
    }
    await writing;
    expect(n).toBe(total);
    expect(sameBytes(concat(parts, n), data)).toBe(true);
    a.close();
    b.close();
  });

  it('a ReadableStream pulls only when read: unread data keeps the window closed', async () => {
    const [a, b] = await pair({ receiveBuffer: 64 * KiB });
    const listener = b.listen({ port: 80 });
    const [client, server] = await Promise.all([a.connect({ host: '10.0.0.2', port: 80 }), listener.accept()]);
    const stream = server.readable; // created, but nobody reads it yet
    let taken = 0;
    const writing = (async () => {
      for (let i = 0; i < 64; i++) {
        await client.write(new Uint8Array(8 * KiB).fill(i));
        taken += 8 * KiB;
      }
      await client.end();
    })();
    await sleep(300);
    expect(taken).toBeLessThan(512 * KiB);
    expect(server.info().receiveBuffered).toBeGreaterThan(32 * KiB);
    let n = 0;
    for await (const chunk of stream) n += chunk.length;
    await writing;
    expect(n).toBe(512 * KiB);
    a.close();
    b.close();
  });
});
