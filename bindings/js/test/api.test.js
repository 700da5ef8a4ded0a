// api.test.js: the JavaScript API's behaviour on two stacks in one process: listen,
// accept, connect, read, write, end, close, abort, half-close both ways, stale handles,
// errors with their codes, misuse, UDP, the raw packet link, figures and timers.

import { describe, it, expect, vi } from 'vitest';
import { pair, createStack, WtcpError, errnos } from 'wtcp';
import { instantiateCore } from '../lib/wasm.js';
import { readFile } from 'node:fs/promises';
import { pattern, readAll, failure, sleep, until, sameBytes, echoServer } from './helpers.js';

const text = (bytes) => new TextDecoder().decode(bytes);

describe('connections', () => {
  it('listen, accept, connect, write, read, end, close', async () => {
    const [a, b] = await pair();
    expect(a.address).toBe('10.0.0.1');
    expect(b.address).toBe('10.0.0.2');
    const listener = b.listen({ port: 80 });
    expect(listener.port).toBe(80);
    const accepted = listener.accept();
    const client = await a.connect({ host: '10.0.0.2', port: 80 });
    const server = await accepted;
    expect(client.remoteAddress).toBe('10.0.0.2');
    expect(client.remotePort).toBe(80);
    expect(client.localAddress).toBe('10.0.0.1');
    expect(server.remoteAddress).toBe('10.0.0.1');
    expect(server.remotePort).toBe(client.localPort);
    expect(server.localPort).toBe(80);

    await client.write('hello');
    expect(text(await server.read())).toBe('hello');
    await server.write(new TextEncoder().encode('world'));
    expect(text(await client.read())).toBe('world');

    await client.end();
    expect(await server.read()).toBe(null);
    await server.end();
    expect(await client.read()).toBe(null);
    client.close();
    server.close();
    listener.close();
    expect(await listener.accept().catch((e) => e.code)).toBe('EBADF');
    a.close();
    b.close();
  });

  it('half-close: the client ends, the server keeps writing', async () => {
    const [a, b] = await pair();
    const listener = b.listen({ port: 7 });
    const [client, server] = await Promise.all([a.connect({ host: '10.0.0.2', port: 7 }), listener.accept()]);
    await client.write('request');
    await client.end();
    expect(text(await readAll(server))).toBe('request');
    const reply = pattern(300_000);
    await server.write(reply);
    await server.end();
    expect(sameBytes(await readAll(client), reply)).toBe(true);
    expect(await failure(client.write('more'))).toMatchObject({ code: 'EPIPE' });
    a.close();
    b.close();
  });

  it('half-close: the server ends first, the client keeps writing', async () => {
    const [a, b] = await pair();
    const listener = b.listen({ port: 7 });
    const [client, server] = await Promise.all([a.connect({ host: '10.0.0.2', port: 7 }), listener.accept()]);
    await server.write('banner');
    await server.end();
    expect(text(await readAll(client))).toBe('banner');
    expect(client.info().state).toBe('CLOSE-WAIT');
    const upload = pattern(500_000, 9);
    await client.write(upload);
    await client.end();
    expect(sameBytes(await readAll(server), upload)).toBe(true);
    a.close();
    b.close();
  });

  it('close sends FIN after the data: the peer reads it all, then EOF', async () => {
    const [a, b] = await pair();
    const listener = b.listen({ port: 9 });
    const [client, server] = await Promise.all([a.connect({ host: '10.0.0.2', port: 9 }), listener.accept()]);
    const data = pattern(100_000, 3);
    await client.write(data);
    client.close();
    expect(sameBytes(await readAll(server), data)).toBe(true);
    a.close();
    b.close();
  });

  it('abort sends RST: the peer fails with ECONNRESET', async () => {
    const [a, b] = await pair();
    const listener = b.listen({ port: 9 });
    const [client, server] = await Promise.all([a.connect({ host: '10.0.0.2', port: 9 }), listener.accept()]);
    const pending = server.read();
    client.abort();
    const err = await failure(pending);
    expect(err).toBeInstanceOf(WtcpError);
    expect(err.code).toBe('ECONNRESET');
    expect(err.errno).toBe(errnos.ECONNRESET);
    expect(await failure(server.write('x'))).toMatchObject({ code: 'ECONNRESET' });
    a.close();
    b.close();
  });

  it('closing with unread data resets the connection (as Linux)', async () => {
    const [a, b] = await pair();
    const listener = b.listen({ port: 9 });
    const [client, server] = await Promise.all([a.connect({ host: '10.0.0.2', port: 9 }), listener.accept()]);
    await client.write('unread');
    await until(() => server.info().receiveBuffered > 0);
    server.close();
    expect(await failure(client.read())).toMatchObject({ code: 'ECONNRESET' });
    a.close();
    b.close();
  });

  it('async iteration, WHATWG streams and asyncDispose', async () => {
    const [a, b] = await pair();
    const listener = b.listen({ port: 5000 });
    (async () => {
      for await (const conn of listener) conn.readable.pipeTo(conn.writable).catch(() => {});
    })();
    const conn = await a.connect({ host: '10.0.0.2', port: 5000 });
    const data = pattern(1_000_000, 5);
    const writer = conn.writable.getWriter();
    const sending = (async () => {
      for (let off = 0; off < data.length; off += 100_000) await writer.write(data.subarray(off, off + 100_000));
      await writer.close();
    })();
    const parts = [];
    for await (const chunk of conn) parts.push(chunk);
    await sending;
    expect(sameBytes(Buffer.concat(parts), data)).toBe(true);
    await conn[Symbol.asyncDispose]();
    expect(await failure(conn.read())).toMatchObject({ code: 'EBADF' });
    await listener[Symbol.asyncDispose]();
    await a[Symbol.asyncDispose]();
    b[Symbol.dispose]();
    expect(a.closed && b.closed).toBe(true);
  });

  it('info() reports state, MSS, windows, RTT and byte counts', async () => {
    const [a, b] = await pair();
    echoServer(b, 7);
    const conn = await a.connect({ host: '10.0.0.2', port: 7 });
    conn.setNoDelay(true);
    await conn.write(pattern(50_000));
    let got = 0;
    while (got < 50_000) got += (await conn.read()).length;
    const info = conn.info();
    expect(info).toMatchObject({
      state: 'ESTABLISHED',
      localAddress: '10.0.0.1',
      remoteAddress: '10.0.0.2',
      remotePort: 7,
      mss: 1448,
      timestamps: true,
      sack: true,
      bytesReceived: 50_000,
    });
    // A lossless link resends nothing but a tail probe when the machine held the process
    // back past the 2 ms probe timeout; bytesSent counts resent bytes too (as Linux's).
    expect(info.retransmits).toBeLessThanOrEqual(a.stats().tcpLossProbes);
    expect(info.bytesSent).toBeGreaterThanOrEqual(50_000);
    expect(info.bytesSent).toBeLessThanOrEqual(50_000 + info.retransmits * info.mss);
    for (const k of ['cwnd', 'srtt', 'rto', 'sendWindow', 'receiveWindow', 'segmentsIn', 'segmentsOut']) {
      expect(typeof info[k]).toBe('number');
    }
    expect(info.rto).toBeGreaterThanOrEqual(200);
    await conn.end();
    expect(await conn.read()).toBe(null);
    // Both directions are done: the handle went back to the core, the last figures stay.
    expect(conn.info().bytesAcked).toBe(50_000);
    a.close();
    b.close();
  });

  it('reads wait for data; read(max) returns at most max bytes', async () => {
    const [a, b] = await pair();
    const listener = b.listen({ port: 1 });
    const [client, server] = await Promise.all([a.connect({ host: '10.0.0.2', port: 1 }), listener.accept()]);
    const pending = server.read(3);
    await sleep(20);
    await client.write('abcdef');
    expect(text(await pending)).toBe('abc');
    expect(text(await server.read())).toBe('def');
    a.close();
    b.close();
  });
});

describe('errors', () => {
  it('connect to a closed port: ECONNREFUSED', async () => {
    const [a, b] = await pair();
    const err = await failure(a.connect({ host: '10.0.0.2', port: 81 }));
    expect(err).toBeInstanceOf(WtcpError);
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.message).toMatch(/10\.0\.0\.2:81/);
    expect(a.stats().handles).toBe(0);
    a.close();
    b.close();
  });

  it('connect with every packet dropped: ETIMEDOUT from the timeout option', async () => {
    const [a, b] = await pair({ faults: { loss: 1 } });
    b.listen({ port: 80 });
    const t0 = Date.now();
    const err = await failure(a.connect({ host: '10.0.0.2', port: 80, timeout: 300 }));
    expect(err.code).toBe('ETIMEDOUT');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(a.stats().handles).toBe(0);
    a.close();
    b.close();
  });

  it("connect with every packet dropped: ETIMEDOUT from the core's SYN retries", async () => {
    const [a, b] = await pair({ faults: { loss: 1 }, synRetries: 1 });
    b.listen({ port: 80 });
    const t0 = Date.now();
    const err = await failure(a.connect({ host: '10.0.0.2', port: 80 }));
    expect(err.code).toBe('ETIMEDOUT');
    // SYN at 0, again at 1 s (initial RTO), given up at 1 + 2 s.
    expect(Date.now() - t0).toBeGreaterThan(2500);
    a.close();
    b.close();
  }, 10_000);

  it('the fault injector drops everything once set to loss 1: ETIMEDOUT', async () => {
    const [a, b] = await pair({ faults: { seed: 3 }, dataRetries: 2 });
    const listener = b.listen({ port: 80 });
    const [client, server] = await Promise.all([a.connect({ host: '10.0.0.2', port: 80 }), listener.accept()]);
    await client.write('fine');
    expect(text(await server.read())).toBe('fine');
    a.link.faults.set({ loss: 1 });
    await client.write('lost');
    expect(await failure(client.read())).toMatchObject({ code: 'ETIMEDOUT' });
    expect(client.info().retransmits).toBeGreaterThanOrEqual(2);
    a.close();
    b.close();
  }, 10_000);

  it('ENETUNREACH for an address off the prefix with no gateway', async () => {
    const [a, b] = await pair();
    expect(await failure(a.connect({ host: '192.168.7.1', port: 80 }))).toMatchObject({ code: 'ENETUNREACH' });
    expect(await failure(a.connect({ host: '224.0.0.1', port: 80 }))).toMatchObject({ code: 'ENETUNREACH' });
    const u = a.udp.bind({ port: 53 });
    expect(() => u.send('x', '8.8.8.8', 53)).toThrow(expect.objectContaining({ code: 'ENETUNREACH' }));
    a.close();
    b.close();
  });

  it('closing the stack resets its connections and fails what is pending with EBADF', async () => {
    const [a, b] = await pair();
    const listener = b.listen({ port: 80 });
    const [client, server] = await Promise.all([a.connect({ host: '10.0.0.2', port: 80 }), listener.accept()]);
    const pendingRead = client.read();
    const pendingAccept = listener.accept();
    const serverRead = server.read();
    b.close();
    expect(await pendingAccept).toBe(null);
    expect(await failure(serverRead)).toMatchObject({ code: 'EBADF' });
    expect(await failure(pendingRead)).toMatchObject({ code: 'ECONNRESET' });
    expect(() => b.listen({ port: 1 })).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(await failure(b.connect({ host: '10.0.0.1', port: 1 }))).toMatchObject({ code: 'EBADF' });
    expect(() => b.input(new Uint8Array(20))).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => b.stats()).toThrow(/stack is closed/);
    b.close(); // twice is fine
    a.close();
  });

  it('the error table matches the core', async () => {
    const core = await instantiateCore();
    for (const [name, value] of Object.entries(errnos)) {
      expect(core.errname(value)).toBe(name);
      expect(new WtcpError(name).message).toBe(core.strerror(value));
    }
  });
});

describe('misuse', () => {
  it('write after end() is EPIPE; calls after close() are EBADF', async () => {
    const [a, b] = await pair();
    const listener = b.listen({ port: 80 });
    const [client] = await Promise.all([a.connect({ host: '10.0.0.2', port: 80 }), listener.accept()]);
    const ended = client.end();
    const err = await failure(client.write('late'));
    expect(err).toBeInstanceOf(WtcpError);
    expect(err.code).toBe('EPIPE');
    expect(err.message).toMatch(/after end/);
    await ended;
    client.close();
    client.close(); // twice is fine
    for (const op of [() => client.read(), () => client.write('x'), () => client.end()]) {
      expect(await failure(op())).toMatchObject({ code: 'EBADF', message: 'connection is closed' });
    }
    expect(() => client.info()).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => client.setNoDelay()).toThrow(expect.objectContaining({ code: 'EBADF' }));
    a.close();
    b.close();
  });

  it('bad arguments throw EINVAL with a clear message', async () => {
    const [a, b] = await pair();
    const cases = [
      [() => a.listen({ port: 70000 }), /port must be an integer/],
      [() => a.listen(80), /options object/],
      [() => a.listen({ port: 1, host: '10.0.0.9' }), /not an address of this stack/],
      [() => a.udp.bind({ port: -1 }), /port must be/],
      [() => a.input('not a packet'), null],
      [() => a.input(42), /packet must be/],
      [() => (a.onpacket = 'x'), /onpacket must be a function/],
    ];
    for (const [fn, message] of cases) {
      let err;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      if (message === null) continue; // strings are bytes: accepted (dropped by the core)
      expect(err).toBeInstanceOf(WtcpError);
      expect(['EINVAL', 'EADDRNOTAVAIL']).toContain(err.code);
      expect(err.message).toMatch(message);
    }
    expect(await failure(a.connect({ host: 'example.com', port: 80 }))).toMatchObject({
      code: 'EINVAL',
      message: expect.stringMatching(/dotted IPv4/),
    });
    expect(await failure(a.connect({ host: '10.0.0.2', port: 0 }))).toMatchObject({ code: 'EINVAL' });
    expect(await failure(a.connect({ host: '10.0.0.2', port: 80, timeout: -5 }))).toMatchObject({ code: 'EINVAL' });
    expect(await failure(createStack({}))).toMatchObject({ code: 'EINVAL' });
    expect(await failure(createStack({ address: '10.0.0.1', mtu: 100 }))).toMatchObject({ code: 'EINVAL' });
    expect(await failure(createStack({ address: '10.0.0.1', relay: 'ws://x' }))).toMatchObject({ code: 'EINVAL' });
    expect(await failure(pair({ faults: { loss: 2 } }))).toMatchObject({ code: 'EINVAL' });
    expect(() => a.listen({ port: 80 }) && a.listen({ port: 80 })).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    const conn = await failure(a.connect({ host: '10.0.0.2', port: 80 }));
    expect(conn.code).toBe('ECONNREFUSED');
    const listener = b.listen({ port: 80 });
    const c = await a.connect({ host: '10.0.0.2', port: 80 });
    expect(await failure(c.write(12345))).toMatchObject({ code: 'EINVAL' });
    expect(await failure(c.read(0))).toMatchObject({ code: 'EINVAL' });
    listener.close();
    a.close();
    b.close();
  });

  it('stale handles: calls on a closed connection fail with EBADF, its successor is unaffected', async () => {
    const [a, b] = await pair();
    echoServer(b, 7);
    const first = await a.connect({ host: '10.0.0.2', port: 7 });
    first.abort();
    const second = await a.connect({ host: '10.0.0.2', port: 7 });
    expect(await failure(first.write('stale'))).toMatchObject({ code: 'EBADF' });
    await second.write('fresh');
    expect(text(await second.read())).toBe('fresh');
    a.close();
    b.close();
  });

  it('stale handles in the core: a released handle is EBADF even after its slot is reused', async () => {
    const core = await instantiateCore();
    expect(core.create({ addr: 0x0a000001, prefix: 24 }, new Uint8Array(16))).toBe(0);
    const h1 = core.socket(1);
    expect(h1).toBeGreaterThan(0);
    expect(core.close(h1)).toBe(0);
    const h2 = core.socket(1);
    expect(h2 & 0xffff).toBe(h1 & 0xffff); // same slot
    expect(h2).not.toBe(h1); // new generation
    expect(core.bind(h1, 0, 80)).toBe(errnos.EBADF);
    expect(core.listen(h1, 1)).toBe(errnos.EBADF);
    expect(core.close(h1)).toBe(errnos.EBADF);
    expect(core.bind(h2, 0, 80)).toBe(0);
    core.destroy();
  });
});

describe('UDP', () => {
  it('bind, send, receive and iterate datagrams', async () => {
    const [a, b] = await pair();
    const server = b.udp.bind({ port: 53 });
    const client = a.udp.bind();
    expect(client.port).toBeGreaterThan(0);
    client.send('ping', '10.0.0.2', 53);
    const d = await server.receive();
    expect(text(d.data)).toBe('ping');
    expect(d).toMatchObject({ address: '10.0.0.1', port: client.port });
    server.send(d.data, d.address, d.port);
    expect(text((await client.receive()).data)).toBe('ping');
    for (let i = 0; i < 5; i++) client.send(`n${i}`, '10.0.0.2', 53);
    const got = [];
    for await (const dg of server) {
      got.push(text(dg.data));
      if (got.length === 5) break;
    }
    expect(got).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(() => client.send(new Uint8Array(2000), '10.0.0.2', 53)).toThrow(expect.objectContaining({ code: 'EMSGSIZE' }));
    const pending = server.receive();
    server.close();
    expect(await pending).toBe(null);
    expect(() => server.send('x', '10.0.0.1', 1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    a.close();
    b.close();
  });
});

describe('raw packet link', () => {
  it('input() and onpacket carry packets, packets is an async iterable', async () => {
    const a = await createStack({ address: '192.168.5.1', prefix: 24 });
    const b = await createStack({ address: '192.168.5.2', prefix: 24, onpacket: (p) => queueMicrotask(() => a.closed || a.input(p)) });
    expect(a.link).toBe(null);
    // a's packets through the async iterable, b's through the callback.
    (async () => {
      for await (const p of a.packets) {
        expect(p[0] >> 4).toBe(4); // IPv4
        if (!b.closed) b.input(p);
      }
    })();
    expect(() => (a.onpacket = () => {})).toThrow(/either onpacket or packets/);
    echoServer(b, 2000);
    const conn = await a.connect({ host: '192.168.5.2', port: 2000 });
    await conn.write('over a raw link');
    expect(text(await conn.read())).toBe('over a raw link');
    expect(a.stats().ipOut).toBeGreaterThan(0);
    b.close();
    a.close();
  });

  it('a stack reaches its own address (loopback), with no link at all', async () => {
    const s = await createStack({ address: '10.5.0.1', wasm: await readFile(new URL('../dist/wtcp.wasm', import.meta.url)) });
    echoServer(s, 80);
    const conn = await s.connect({ host: '10.5.0.1', port: 80 });
    await conn.write('to myself');
    await conn.end();
    expect(text(await readAll(conn))).toBe('to myself');
    expect(s.stats().linkDrops).toBe(0);
    s.close();
  });

  it('malformed input is dropped and counted by reason', async () => {
    const s = await createStack({ address: '10.1.0.1' });
    s.input(new Uint8Array([0x45, 0, 0, 20]));
    const junk = new Uint8Array(40);
    junk[0] = 0x60; // IPv6
    s.input(junk);
    await sleep(0);
    const st = s.stats();
    expect(st.drops).toBe(2);
    expect(Object.keys(st.dropReasons).length).toBeGreaterThan(0);
    s.close();
  });
});

describe('timers and memory', () => {
  it('timers follow the core deadline; nothing runs while idle', async () => {
    const [a, b] = await pair({ timeWait: 50 });
    echoServer(b, 7);
    const conn = await a.connect({ host: '10.0.0.2', port: 7 });
    await conn.write('tick');
    await conn.read();
    await conn.end();
    expect(await conn.read()).toBe(null);
    await sleep(200); // delayed ACKs, FIN handshake, TIME-WAIT (50 ms) all over
    const realSetTimeout = globalThis.setTimeout;
    const timeouts = vi.spyOn(globalThis, 'setTimeout');
    const immediates = vi.spyOn(globalThis, 'setImmediate');
    await new Promise((resolve) => realSetTimeout(resolve, 300));
    expect(timeouts).not.toHaveBeenCalled();
    expect(immediates).not.toHaveBeenCalled();
    timeouts.mockRestore();
    immediates.mockRestore();

    // A SYN that gets no answer: the retransmission timer is set at the initial RTO (1 s).
    const spy = vi.spyOn(globalThis, 'setTimeout');
    b.close();
    const pending = a.connect({ host: '10.0.0.2', port: 7, timeout: 1500 });
    const err = await failure(pending);
    expect(err.code).toBe('ETIMEDOUT');
    const delays = spy.mock.calls.map(([, ms]) => ms);
    expect(delays.some((ms) => ms >= 900 && ms <= 1000)).toBe(true);
    spy.mockRestore();
    a.close();
  });

  it('a link delay shows in the measured RTT', async () => {
    const [a, b] = await pair({ faults: { delay: 25 } });
    echoServer(b, 7);
    const conn = await a.connect({ host: '10.0.0.2', port: 7 });
    for (let i = 0; i < 5; i++) {
      await conn.write('ping');
      await conn.read();
    }
    const { srtt } = conn.info();
    expect(srtt).toBeGreaterThanOrEqual(45);
    expect(srtt).toBeLessThan(200);
    a.close();
    b.close();
  });

  it('nothing leaks: connections closed give their memory back; handles return to zero', async () => {
    const [a, b] = await pair({ timeWait: 20 });
    echoServer(b, 7);
    const cycle = async () => {
      for (let round = 0; round < 5; round++) {
        const conns = await Promise.all(Array.from({ length: 20 }, () => a.connect({ host: '10.0.0.2', port: 7 })));
        await Promise.all(
          conns.map(async (c) => {
            await c.write(pattern(10_000));
            await c.end();
            await readAll(c);
            c.close();
          }),
        );
      }
      await sleep(150); // TIME-WAIT of 20 ms
    };
    // A first cycle lets the socket table grow to what 100 connections need (it keeps its
    // size); a second one must give back every byte it took.
    await cycle();
    const baseA = a.stats().heapBytes;
    const baseB = b.stats().heapBytes;
    await cycle();
    expect(a.stats().handles).toBe(0);
    expect(b.stats().handles).toBe(1); // the listener
    expect(a.stats().heapBytes).toBe(baseA);
    expect(b.stats().heapBytes).toBe(baseB);
    a.close();
    b.close();
  });
});
