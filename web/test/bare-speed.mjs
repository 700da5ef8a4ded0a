// bare-speed.mjs: the demo page's speed test in a Chromium with no automation on the page:
// a browser of its own, driven over the DevTools protocol with nothing but
// Runtime.evaluate. Playwright enables the Network domain on every page it drives, and
// then Chromium reports every WebSocket frame, payload and all, to the driver: at MTU
// 1500 that costs more CPU than the tab itself on a 2-core machine. This measures what a
// user's tab reaches. Usage: node web/test/bare-speed.mjs URL MIB [CHROMIUM]
// Prints one line: {"version":2,"down":Mbit/s,"up":Mbit/s} (or {"error":...}); exit 1 on failure.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../bindings/js/package.json', import.meta.url));
const { WebSocket } = require('ws');

const [url, mib, exe = '/usr/bin/chromium'] = process.argv.slice(2);
if (!url || !/^\d+$/.test(mib ?? '')) {
  console.error('usage: node web/test/bare-speed.mjs URL MIB [CHROMIUM]');
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), 'wtcp-bare-'));
const child = spawn(exe, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
let status = 1;
try {
  const wsUrl = await new Promise((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`no DevTools address from ${exe}`)), 15000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/DevTools listening on (ws:\S+)/);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`${exe} exited (${code}): ${err.slice(-200)}`)));
  });
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const waiting = new Map();
  ws.on('message', (data) => {
    const m = JSON.parse(data);
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error.message));
    else w.resolve(m.result);
  });
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      waiting.set(++id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, sessionId }));
    });
  const { targetId } = await send('Target.createTarget', { url });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const evaluate = async (expression) => {
    const r = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
    return r.result.value;
  };
  // Until the page has loaded and has its address (an evaluation during the navigation
  // loses its context, and is tried again).
  for (let end = Date.now() + 20000; ; ) {
    const got = await evaluate(`location.href === ${JSON.stringify(url)} && !!window.wtcpDemo?.address`).catch(() => false);
    if (got) break;
    if (Date.now() > end) throw new Error(`the page did not get an address from the relay: ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const result = await evaluate(`(async () => {
    const until = async (f, ms) => { const end = Date.now() + ms; while (!f()) { if (Date.now() > end) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 50)); } };
    document.getElementById('speed-mib').value = '${mib}';
    document.getElementById('speed-run').click();
    const panel = document.getElementById('speed');
    await until(() => panel.dataset.state === 'done' || panel.dataset.state === 'failed', 120000);
    if (panel.dataset.state !== 'done') throw new Error(document.getElementById('speed-msg').textContent);
    return { version: window.wtcpDemo.version, down: Number(document.getElementById('down-mbps').textContent),
             up: Number(document.getElementById('up-mbps').textContent) };
  })()`);
  console.log(JSON.stringify(result));
  status = 0;
  ws.close();
} catch (err) {
  console.log(JSON.stringify({ error: err.message }));
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  // Chromium's helpers may still be writing the profile as the browser exits.
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  } catch (err) {
    console.error(`bare-speed: could not remove ${profile}: ${err.message}`);
  }
}
process.exit(status);
