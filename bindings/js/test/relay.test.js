// relay.test.js: the relay WebSocket link against a small relay written here with `ws`
// on 127.0.0.1: the first message is the JSON config, then one IPv4 packet per binary
// message, routed by destination address.

import { describe, it, expect, afterEach } from 'vitest';
import { WebSocketServer } from 'ws';
import { createStack, parseRelayConfig } from 'wtcp';
import { pattern, sameBytes, echoServer, readAll, failure } from './helpers.js';

const servers = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A toy relay: hands out 10.77.0.2, .3, ... and forwards packets by destination. */
async function startRelay({ config } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise((resolve) => wss.once('listening', resolve));
  const byAddress = new Map();
  let next = 2;
  wss.on('connection', (ws) => {
    const address = `10.77.0.${next++}`;
    byAddress.set(address, ws);
    ws.send(config ?? JSON.stringify({ version: 1, address, prefix: 16, gateway: '10.77.0.1', mtu: 1500 }));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const dst = `${data[16]}.${data[17]}.${data[18]}.${data[19]}`;
      const src = `${data[12]}.${data[13]}.${data[14]}.${data[15]}`;
      if (src !== address) return; // anti-spoofing, as the real relay
      byAddress.get(dst)?.send(data, { binary: true });
    });
    ws.on('close', () => byAddress.delete(address));
  });
  return `ws://127.0.0.1:${wss.address().port}`;
}

describe('relay WebSocket link', () => {
  it('takes the address from the config message and carries TCP between two clients', async () => {
    const url = await startRelay();
    const a = await createStack({ relay: url });
    const b = await createStack({ relay: new URL(url) });
    expect([a.address, a.prefix, a.gateway, a.mtu]).toEqual(['10.77.0.2', 16, '10.77.0.1', 1500]);
    expect(b.address).toBe('10.77.0.3');
    expect(a.link.kind).toBe('relay');
    echoServer(b, 7);
    const conn = await a.connect({ host: b.address, port: 7 });
    const data = pattern(2 << 20, 3);
    const sending = (async () => {
      await conn.write(data);
      await conn.end();
    })();
    const back = await readAll(conn);
    await sending;
    expect(sameBytes(back, data)).toBe(true);
    // With a gateway, off-subnet addresses are routed to the relay (no ENETUNREACH).
    const far = a.connect({ host: '192.0.2.1', port: 80, timeout: 200 });
    expect(await failure(far)).toMatchObject({ code: 'ETIMEDOUT' });
    const closed = a.link.closed;
    a.close();
    expect((await closed).code).toBeGreaterThan(0);
    b.close();
  });

  it('rejects a bad config message with EPROTO, a dead relay with ECONNREFUSED', async () => {
    const bad = await startRelay({ config: JSON.stringify({ version: 2 }) });
    expect(await failure(createStack({ relay: bad }))).toMatchObject({ code: 'EPROTO' });
    const url = await startRelay();
    servers[servers.length - 1].close();
    await new Promise((r) => setTimeout(r, 50));
    expect(await failure(createStack({ relay: 'ws://127.0.0.1:1' }))).toMatchObject({ code: 'ECONNREFUSED' });
    void url;
    expect(() => parseRelayConfig('{"version":1,"address":"10.77.0.2","prefix":33}')).toThrow(/bad prefix/);
    expect(parseRelayConfig('{"version":1,"address":"10.77.0.2","prefix":16,"gateway":"10.77.0.1","mtu":1400}')).toEqual({
      address: '10.77.0.2',
      prefix: 16,
      gateway: '10.77.0.1',
      mtu: 1400,
    });
  });
});
