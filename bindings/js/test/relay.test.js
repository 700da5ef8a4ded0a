// relay.test.js: the relay WebSocket link against a small relay written here with `ws`
// on 127.0.0.1: the first message is the JSON config, then IPv4 packets routed by
// destination address, one per binary message (protocol 1) or length-prefixed, many per
// message (protocol 2, subprotocol "wtcp.2"). The real relay's side of protocol 2 is
// tested in relay/test.sh and, with this package, in tests/interop and web/test.sh.

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

/** Sends `data` to the echo server on port 7 of `host` and checks what comes back. */
async function echoes(stack, host, data) {
  const conn = await stack.connect({ host, port: 7 });
  const sending = (async () => {
    await conn.write(data);
    await conn.end();
  })();
  const back = await readAll(conn);
  await sending;
  return sameBytes(back, data);
}

/** Protocol 2 framing: each packet after its 2-byte big-endian length. */
const frame = (pkts) => Buffer.concat(pkts.flatMap((p) => [Buffer.from([p.length >> 8, p.length & 255]), Buffer.from(p)]));
function unframe(data) {
  const out = [];
  for (let off = 0; off + 2 <= data.length; ) {
    const n = (data[off] << 8) | data[off + 1];
    out.push(data.subarray(off + 2, off + 2 + n));
    off += 2 + n;
  }
  return out;
}

/** A toy relay that speaks protocol 2 to clients that offer "wtcp.2" and 1 to the others;
 * it notes the most packets it saw in one message from a client. */
async function startRelayV2() {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (offered) => (offered.has('wtcp.2') ? 'wtcp.2' : offered.has('wtcp') ? 'wtcp' : false),
  });
  servers.push(wss);
  await new Promise((resolve) => wss.once('listening', resolve));
  const clients = new Map(); // address -> { ws, v2 }
  const seen = { mostPerMessage: 0, offered: [] };
  let next = 2;
  wss.on('connection', (ws, req) => {
    const address = `10.77.0.${next++}`;
    const v2 = ws.protocol === 'wtcp.2';
    seen.offered.push(req.headers['sec-websocket-protocol'] ?? '');
    clients.set(address, { ws, v2 });
    const config = { version: v2 ? 2 : 1, address, prefix: 16, gateway: '10.77.0.1', mtu: 1500 };
    ws.send(JSON.stringify(v2 ? { ...config, max_message: 65535 } : config));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const pkts = v2 ? unframe(data) : [data];
      seen.mostPerMessage = Math.max(seen.mostPerMessage, pkts.length);
      for (const p of pkts) {
        const dst = clients.get(`${p[16]}.${p[17]}.${p[18]}.${p[19]}`);
        if (dst) dst.ws.send(dst.v2 ? frame([p]) : p, { binary: true });
      }
    });
    ws.on('close', () => clients.delete(address));
  });
  return { url: `ws://127.0.0.1:${wss.address().port}`, clients, seen };
}

describe('relay WebSocket link, protocol 2', () => {
  it('offers wtcp.2 first, batches what one turn sends, and talks to a version 1 client', async () => {
    const { url, seen } = await startRelayV2();
    const a = await createStack({ relay: url });
    const b = await createStack({ relay: url, relayVersion: 1 });
    expect([a.link.version, b.link.version]).toEqual([2, 1]);
    expect(seen.offered.map((h) => h.replace(/ /g, ''))).toEqual(['wtcp.2,wtcp', '']);
    echoServer(b, 7);
    expect(await echoes(a, b.address, pattern(2 << 20, 5))).toBe(true);
    expect(seen.mostPerMessage).toBeGreaterThan(1);
    a.close();
    b.close();
  });

  it('drops and counts a broken batch from the relay, and the link goes on', async () => {
    const { url, clients } = await startRelayV2();
    const a = await createStack({ relay: url });
    const b = await createStack({ relay: url });
    echoServer(b, 7);
    const drops = a.stats().linkDrops;
    const ws = clients.get(a.address).ws;
    ws.send(Buffer.from([0, 0, 1, 2]), { binary: true }); // a zero length
    ws.send(Buffer.from([0, 200, 1, 2, 3]), { binary: true }); // a length past the end
    ws.send(Buffer.alloc(0), { binary: true }); // an empty message
    const conn = await a.connect({ host: b.address, port: 7 });
    await conn.write(pattern(1000, 1));
    await conn.end();
    expect((await readAll(conn)).length).toBe(1000);
    expect(a.stats().linkDrops - drops).toBe(3);
    await expect(createStack({ relay: url, relayVersion: 3 })).rejects.toMatchObject({ code: 'EINVAL' });
    a.close();
    b.close();
  });
});

describe('relay WebSocket link', () => {
  it('takes the address from the config message and carries TCP between two clients', async () => {
    const url = await startRelay();
    const a = await createStack({ relay: url });
    const b = await createStack({ relay: new URL(url) });
    expect([a.address, a.prefix, a.gateway, a.mtu]).toEqual(['10.77.0.2', 16, '10.77.0.1', 1500]);
    expect(b.address).toBe('10.77.0.3');
    expect(a.link.kind).toBe('relay');
    echoServer(b, 7);
    expect(await echoes(a, b.address, pattern(2 << 20, 3))).toBe(true);
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
      version: 1,
      maxMessage: 0,
      address: '10.77.0.2',
      prefix: 16,
      gateway: '10.77.0.1',
      mtu: 1400,
      dns: null,
    });
    expect(parseRelayConfig('{"version":1,"address":"10.77.0.2","prefix":16,"dns":"10.77.0.1"}').dns).toBe('10.77.0.1');
    expect(() => parseRelayConfig('{"version":1,"address":"10.77.0.2","prefix":16,"dns":"nope"}')).toThrow(/bad address, gateway or dns/);
  });
});
