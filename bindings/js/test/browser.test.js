// browser.test.js: the package unchanged in a real browser (Debian's Chromium, headless):
// the ES modules served as they are in lib/ and dist/, two stacks over pair() echoing
// data, typed errors, and the relay link through the browser's own WebSocket.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join, dirname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

const page = `<!doctype html><meta charset="utf-8"><title>wtcp</title>
<script type="module">
import { pair, createStack } from '/lib/index.browser.js';
window.echo = async (n) => {
  const [a, b] = await pair();
  const l = b.listen({ port: 80 });
  (async () => { for await (const c of l) { for await (const x of c) await c.write(x); await c.end(); } })().catch(() => {});
  const c = await a.connect({ host: '10.0.0.2', port: 80 });
  const data = new Uint8Array(n).map((_, i) => (i * 31) & 255);
  const sending = (async () => { await c.write(data); await c.end(); })();
  let got = 0, same = true;
  for await (const x of c) { for (let i = 0; i < x.length; i++) same &&= x[i] === data[got + i]; got += x.length; }
  await sending;
  c.close(); a.close(); b.close();
  return { got, same };
};
window.relay = async (url) => {
  const a = await createStack({ relay: url });
  const b = await createStack({ relay: url });
  const l = b.listen({ port: 7 });
  (async () => { for await (const c of l) { for await (const x of c) await c.write(x); await c.end(); } })().catch(() => {});
  const c = await a.connect({ host: b.address, port: 7 });
  await c.write('over the relay');
  await c.end();
  let text = '';
  for await (const x of c) text += new TextDecoder().decode(x);
  c.close(); a.close(); b.close();
  return { a: a.address, b: b.address, text };
};
window.errors = async () => {
  const [a, b] = await pair();
  const out = {};
  const code = async (f) => { try { await f(); return 'no error'; } catch (e) { return e.name + ' ' + e.code; } };
  out.badPort = await code(() => b.listen({ port: 70000 }));
  out.badHost = await code(() => a.connect({ host: 'not an address', port: 80 }));
  out.refused = await code(() => a.connect({ host: b.address, port: 81 }));
  const l = b.listen({ port: 82 });
  out.inUse = await code(() => b.listen({ port: 82 }));
  l.close();
  a.close();
  out.closedStack = await code(() => a.connect({ host: b.address, port: 82 }));
  b.close();
  return out;
};
window.ready = true;
</script>`;

const haveChromium = existsSync(CHROMIUM);
let server;
let origin;
let browser;
let wss;

beforeAll(async () => {
  if (!haveChromium) return;
  server = http.createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(page);
    }
    const file = normalize(join(pkgDir, path));
    if (!(file.startsWith(join(pkgDir, 'lib')) || file.startsWith(join(pkgDir, 'dist')))) {
      res.writeHead(404);
      return res.end();
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': types[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  if (wss) {
    for (const c of wss.clients) c.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
});

describe.skipIf(!haveChromium)('in Chromium', () => {
  it('loads the ES modules unchanged and echoes 1 MiB over pair()', async () => {
    const tab = await browser.newPage();
    const errors = [];
    tab.on('pageerror', (e) => errors.push(e));
    await tab.goto(origin);
    await tab.waitForFunction(() => window.ready === true);
    const result = await tab.evaluate((n) => window.echo(n), 1 << 20);
    expect(result).toEqual({ got: 1 << 20, same: true });
    expect(errors).toEqual([]);
    await tab.close();
  });

  it('throws typed WtcpErrors for bad arguments, a closed port, a port in use, a closed stack', async () => {
    const tab = await browser.newPage();
    await tab.goto(origin);
    await tab.waitForFunction(() => window.ready === true);
    expect(await tab.evaluate(() => window.errors())).toEqual({
      badPort: 'WtcpError EINVAL',
      badHost: 'WtcpError EINVAL',
      refused: 'WtcpError ECONNREFUSED',
      inUse: 'WtcpError EADDRINUSE',
      closedStack: 'WtcpError EBADF',
    });
    await tab.close();
  });

  it("carries TCP over the relay through the browser's WebSocket", async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    const clients = new Map();
    let next = 2;
    wss.on('connection', (ws) => {
      const address = `10.77.0.${next++}`;
      clients.set(address, ws);
      ws.send(JSON.stringify({ version: 1, address, prefix: 16, gateway: '10.77.0.1', mtu: 1500 }));
      ws.on('message', (data, isBinary) => {
        if (isBinary) clients.get(`${data[16]}.${data[17]}.${data[18]}.${data[19]}`)?.send(data, { binary: true });
      });
    });
    const tab = await browser.newPage();
    await tab.goto(origin);
    await tab.waitForFunction(() => window.ready === true);
    const result = await tab.evaluate((url) => window.relay(url), `ws://127.0.0.1:${wss.address().port}`);
    expect(result).toEqual({ a: '10.77.0.2', b: '10.77.0.3', text: 'over the relay' });
    await tab.close();
  });
});
