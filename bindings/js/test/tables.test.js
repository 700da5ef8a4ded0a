// tables.test.js: the tables JavaScript shares with the C core come from the core (SO, EV,
// STATES, INFO_FIELDS, CONGESTION in lib/wasm.js, read from wtcp.wasm at load), and this
// test fails when they and wtcp.h or the type declarations disagree; and the socket
// options they carry (keepalive, user timeout, congestion) act on real connections.

import { describe, it, expect } from 'vitest';
import { pair } from 'wtcp';
import { instantiateCore, SO, EV, STATES, INFO_FIELDS, CONGESTION } from '../lib/wasm.js';
import { readFile } from 'node:fs/promises';
import { failure, echoServer } from './helpers.js';

const header = await readFile(new URL('../../../include/wtcp.h', import.meta.url), 'utf8');
const decls = await readFile(new URL('../lib/index.d.ts', import.meta.url), 'utf8');

/** X(NAME, VALUE) lines of one of wtcp.h's X-macro lists. */
function xmacro(name) {
  const lines = [];
  for (const line of header.slice(header.indexOf(`#define ${name}(X)`)).split('\n').slice(1)) {
    const m = line.match(/^\s*X\((\w+),\s*(\d+)\)/);
    if (m) lines.push([m[1], Number(m[2])]);
    if (!line.trimEnd().endsWith('\\')) break;
  }
  return lines;
}

describe('tables shared with the core', () => {
  it('socket options, events and states are wtcp.h\'s', async () => {
    await instantiateCore();
    expect(Object.entries(SO)).toEqual(xmacro('WTCP_SOCKOPT_MAP'));
    expect(Object.entries(EV)).toEqual(xmacro('WTCP_EVENT_MAP').map(([n, bit]) => [n, 1 << bit]));
    expect(Object.keys(SO)).toContain('TCP_USER_TIMEOUT');
    expect(STATES[4]).toBe('ESTABLISHED');
    expect(STATES.length).toBe(11);
    expect(CONGESTION).toEqual({ cubic: 1, newreno: 2 });
    expect(Object.isFrozen(SO)).toBe(true);
  });

  it("info() has exactly the fields ConnectionInfo declares, in the core's order", async () => {
    const [a, b] = await pair();
    echoServer(b, 7);
    const conn = await a.connect({ host: b.address, port: 7 });
    const info = conn.info();
    expect(Object.keys(info)).toEqual(INFO_FIELDS);
    const block = decls.slice(decls.indexOf('export interface ConnectionInfo {'));
    const declared = [...block.slice(0, block.indexOf('\n}')).matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]);
    expect(declared).toEqual(INFO_FIELDS);
    expect(info).toMatchObject({ state: 'ESTABLISHED', congestion: 'cubic', caState: 'open', timestamps: true });
    conn.close();
    a.close();
    b.close();
  });
});

describe('socket options through the API', () => {
  it('connect({ congestion }) and the stack option choose the algorithm', async () => {
    const [a, b] = await pair({ a: { congestion: 'newreno' } });
    echoServer(b, 7);
    const c1 = await a.connect({ host: b.address, port: 7 });
    expect(c1.info().congestion).toBe('newreno');
    c1.setCongestion('cubic');
    expect(c1.info().congestion).toBe('cubic');
    const c3 = await a.connect({ host: b.address, port: 7, congestion: 'cubic' });
    expect(c3.info().congestion).toBe('cubic');
    expect(() => c3.setCongestion('bbr')).toThrow(/not one of cubic, newreno/);
    await expect(a.connect({ host: b.address, port: 7, congestion: 'vegas' })).rejects.toMatchObject({ code: 'EINVAL' });
    a.close();
    b.close();
  });

  it('keepAlive probes a silent peer and fails with ETIMEDOUT after the count', async () => {
    const [a, b] = await pair({ faults: { seed: 3 } });
    echoServer(b, 7);
    const conn = await a.connect({ host: b.address, port: 7, keepAlive: { idle: 1, interval: 1, count: 2 } });
    const t0 = performance.now();
    a.link.faults.set({ loss: 1 }); // the peer vanishes
    const err = await failure(conn.read());
    const s = (performance.now() - t0) / 1000;
    expect(err).toMatchObject({ code: 'ETIMEDOUT' });
    expect(s).toBeGreaterThan(2.5); // idle 1 s, then 2 probes 1 s apart, then the verdict
    expect(s).toBeLessThan(6);
    a.close();
    b.close();
  }, 10000);

  it('setUserTimeout ends a connection whose data stays unacknowledged', async () => {
    const [a, b] = await pair({ faults: { seed: 4 } });
    echoServer(b, 7);
    const conn = await a.connect({ host: b.address, port: 7 });
    conn.setUserTimeout(600);
    a.link.faults.set({ loss: 1 });
    const t0 = performance.now();
    conn.write(new Uint8Array(1000)).catch(() => {});
    const err = await failure(conn.read());
    const ms = performance.now() - t0;
    expect(err).toMatchObject({ code: 'ETIMEDOUT' });
    expect(ms).toBeGreaterThan(500);
    expect(ms).toBeLessThan(3000);
    expect(() => conn.setUserTimeout(-1)).toThrow();
    a.close();
    b.close();
  }, 10000);

  it('setKeepAlive checks its arguments', async () => {
    const [a, b] = await pair();
    echoServer(b, 7);
    const conn = await a.connect({ host: b.address, port: 7 });
    expect(() => conn.setKeepAlive(true, { idle: 0 })).toThrow(/idle must be an integer 1..32767/);
    expect(conn.setKeepAlive(true, { idle: 30, interval: 5, count: 3 })).toBe(conn);
    a.close();
    b.close();
  });
});
