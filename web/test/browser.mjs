// browser.mjs: drives the web demo in headless Chromium (run by web/test.sh inside its
// network namespace, with the relay, serve.mjs and services.mjs already up).
//   node web/test/browser.mjs BUILD_DIR       env: RELAY_PID (for the relay-loss check),
//                                              CHROMIUM (default /usr/bin/chromium),
//                                              DEMO_URL (default http://127.0.0.1:8080/)
// Prints "ok ..." / "FAIL ...: why" lines and one "figure: ..." line; exit status 1 on failure.

import { createRequire } from 'node:module';
import net from 'node:net';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'bindings/js/package.json'));
const { chromium } = require('playwright-core');
const run = promisify(execFile);

const build = resolve(process.argv[2] ?? 'build');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const URL_ = process.env.DEMO_URL ?? 'http://127.0.0.1:8080/';
const shot = join(build, 'artifacts', 'web-demo.png');

let failures = 0;
const ok = (what) => console.log(`ok ${what}`);
const fail = (what, why) => {
  failures++;
  console.log(`FAIL ${what}: ${why}`);
};
/** Runs one check; a thrown error is its failure. Returns the check's value or undefined. */
async function check(what, fn) {
  try {
    const v = await fn();
    ok(typeof v === 'string' ? `${what}: ${v}` : what);
    return v ?? true;
  } catch (err) {
    fail(what, (err?.message ?? String(err)).split('\n')[0]);
    return undefined;
  }
}
const curl = async (url) => (await run('curl', ['-sS', '--max-time', '10', url])).stdout;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** True while `pid` runs (a zombie counts as gone). */
function alive(pid) {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
/** Sends raw bytes to ADDR:80 and returns the first response line. */
function rawHttp(host, bytes) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port: 80 });
    let got = '';
    sock.setTimeout(8000, () => sock.destroy(new Error('timed out')));
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(got.split('\r\n')[0]));
  });
}
let relay2 = null; // the relay this script starts for the reconnect check

let browser;
try {
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
} catch (err) {
  fail(`launching ${CHROMIUM}`, (err?.message ?? String(err)).split('\n')[0]);
  process.exit(1);
}
/** The relay's packet and message counters (its --metrics), to show packets per message. */
async function relayCounts() {
  try {
    const text = await (await fetch('http://127.0.0.1:9188/metrics')).text();
    const get = (name, dir) => Number(text.match(new RegExp(`^${name}\\{direction="${dir}"\\} (\\d+)`, 'm'))?.[1] ?? NaN);
    return ['up', 'down'].map((d) => [get('wtcp_relay_packets_total', d), get('wtcp_relay_messages_total', d)]);
  } catch {
    return null;
  }
}
function perMessage(before, after) {
  if (!before || !after) return '';
  const [up, down] = [0, 1].map((i) => {
    const pk = after[i][0] - before[i][0];
    const ms = after[i][1] - before[i][1];
    return `${pk} packets in ${ms} messages (${(pk / ms).toFixed(1)} per message)`;
  });
  return `; relay: up ${up}, down ${down}`;
}

const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.setDefaultTimeout(15000);

  const address = await check('page loads and gets an address from the relay', async () => {
    await page.goto(URL_);
    await page.waitForFunction(() => window.wtcpDemo?.address);
    const a = await page.evaluate(() => window.wtcpDemo.address);
    const shown = (await page.textContent('#address')).trim();
    if (!/^10\.77\.0\.\d+$/.test(a) || shown !== a) throw new Error(`address ${a}, shown ${shown}`);
    const banner = await page.textContent('#banner-text');
    if (!banner.includes(a)) throw new Error(`banner says "${banner}"`);
    const cmd = (await page.textContent('#curl')).trim();
    if (cmd !== `curl http://${a}/`) throw new Error(`curl command shown: ${cmd}`);
    return a;
  });
  if (!address) throw new Error('no address: stopping');

  await check(`curl http://${address}/ gets the tab's page`, async () => {
    const html = await curl(`http://${address}/`);
    if (!html.includes('Served from a browser tab by wtcp') || !html.includes(address)) throw new Error(`got ${JSON.stringify(html.slice(0, 80))}`);
  });
  await check(`curl http://${address}/stats.json`, async () => {
    const j = JSON.parse(await curl(`http://${address}/stats.json`));
    if (j.address !== address) throw new Error(`address ${j.address}`);
    if (!(j.stats?.tcpPassiveOpens >= 2)) throw new Error(`tcpPassiveOpens ${j.stats?.tcpPassiveOpens}`);
    const mine = j.connections.find((c) => c.role === 'server' && c.remoteAddress === '10.77.0.1');
    if (!mine) throw new Error(`its own connection is not listed: ${JSON.stringify(j.connections)}`);
    return `${j.connections.length} connection(s) listed, uptime ${j.uptime_s} s`;
  });
  await check('curl: keep-alive (two requests on one connection), 404 and 405', async () => {
    const { stdout } = await run('curl', ['-s', '--max-time', '10', '-o', '/dev/null', '-o', '/dev/null', '-w', '%{num_connects} %{http_code}\\n', `http://${address}/`, `http://${address}/stats.json`]);
    if (stdout.trim().split('\n').map((l) => l.split(' ')[0]).join(',') !== '1,0') throw new Error(`connects: ${stdout}`);
    const a = (await run('curl', ['-s', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', `http://${address}/nope`])).stdout;
    const b = (await run('curl', ['-s', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', `http://${address}/`])).stdout;
    if (a !== '404' || b !== '405') throw new Error(`got ${a} and ${b}`);
  });
  await check('garbage gets 400 Bad Request', async () => {
    const line = await rawHttp(address, 'BLAH\r\nwhat is this\r\n\r\n');
    if (!line.startsWith('HTTP/1.1 400')) throw new Error(`got ${JSON.stringify(line)}`);
  });
  await check("curl's connections appear in the table", async () => {
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#conns-body tr')].some((tr) => tr.textContent.includes('server') && tr.textContent.includes('10.77.0.1:')),
    );
    return `${await page.locator('#conns-body tr').count()} row(s)`;
  });

  await check('client panel: echo of "hello" via 10.77.0.1:7', async () => {
    await page.fill('#client-target', '10.77.0.1:7');
    await page.click('#client-connect');
    await page.waitForSelector('#client-text:not([disabled])');
    await page.fill('#client-text', 'hello');
    await page.click('#client-send');
    await page.waitForFunction(() => [...document.querySelectorAll('#client-log .in')].some((s) => s.textContent.trim() === '← hello'));
    await page.click('#client-close');
    await page.waitForSelector('#client-connect:not([disabled])');
  });
  await check('client panel: port 99999 gives a validation message', async () => {
    await page.fill('#client-target', '10.77.0.1:99999');
    await page.click('#client-connect');
    await page.waitForFunction(() => /out of range/.test(document.querySelector('#client-msg').textContent));
    if (!(await page.getAttribute('#client-msg', 'class')).includes('error')) throw new Error('not shown as an error');
  });
  await check('client panel: a closed port says "connection refused"', async () => {
    await page.fill('#client-target', '10.77.0.1:1');
    await page.click('#client-connect');
    await page.waitForFunction(() => /connection refused/.test(document.querySelector('#client-msg').textContent));
  });

  const counts0 = await relayCounts();
  // WEB_PROFILE=1: a CPU profile of the tab during the speed test, its top functions by
  // self time printed (a diagnostic; make test does not set it).
  const cdp = process.env.WEB_PROFILE ? await page.context().newCDPSession(page) : null;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await cdp.send('Profiler.start');
  }
  const speedMib = process.env.WEB_SPEED_MIB ?? (process.env.WEB_PROFILE ? '48' : '8');
  const speed = await check(`speed test, ${speedMib} MiB each way`, async () => {
    await page.fill('#speed-mib', speedMib);
    await page.click('#speed-run');
    await page.waitForSelector('#speed[data-state="done"], #speed[data-state="failed"]', { timeout: 45000 });
    const state = await page.getAttribute('#speed', 'data-state');
    if (state !== 'done') throw new Error(await page.textContent('#speed-msg'));
    const down = Number(await page.textContent('#down-mbps'));
    const up = Number(await page.textContent('#up-mbps'));
    if (!(down > 0 && up > 0)) throw new Error(`down ${down}, up ${up}`);
    return { down, up };
  });
  if (cdp) {
    const { profile } = await cdp.send('Profiler.stop');
    const self = new Map();
    const dt = profile.timeDeltas ?? [];
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const f = byId.get(id).callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
    });
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
      console.log(`profile: ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
    }
  }
  const counts1 = await relayCounts();
  if (speed) console.log(`figure: Chromium speed test, protocol 2: download ${speed.down} Mbit/s, upload ${speed.up} Mbit/s${perMessage(counts0, counts1)}`);

  await check(`screenshot with a selected connection's chart: ${shot}`, async () => {
    // select the upload (the newest speed row) by clicking it; done before the
    // protocol 1 run, since the table drops a closed row 5 s after it closed
    await page.click('#conns-body tr:has(.role.speed)');
    await sleep(600);
    const selected = await page.locator('#conns-body tr.selected').count();
    if (selected !== 1) throw new Error(`${selected} rows selected`);
    const painted = await page.evaluate(() => {
      const c = document.getElementById('chart');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let teal = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] < 120 && d[i + 1] > 170 && d[i + 2] > 160) teal++;
      return teal;
    });
    if (painted < 50) throw new Error(`the throughput line is not drawn (${painted} px)`);
    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
  });

  // The same page asking for wire protocol 1 (?v=1): one packet per WebSocket message.
  const speed1 = await check('protocol 1 (?v=1) beside protocol 2: the same speed test', async () => {
    const v = await page.evaluate(() => window.wtcpDemo.version);
    if (v !== 2) throw new Error(`the default page speaks protocol ${v}, want 2`);
    const old = await browser.newPage();
    try {
      await old.goto(`${URL_}?v=1`);
      await old.waitForFunction(() => window.wtcpDemo?.address);
      const v1 = await old.evaluate(() => window.wtcpDemo.version);
      if (v1 !== 1) throw new Error(`?v=1 speaks protocol ${v1}`);
      await old.fill('#speed-mib', '8');
      await old.click('#speed-run');
      await old.waitForSelector('#speed[data-state="done"], #speed[data-state="failed"]', { timeout: 45000 });
      if ((await old.getAttribute('#speed', 'data-state')) !== 'done') throw new Error(await old.textContent('#speed-msg'));
      return { down: Number(await old.textContent('#down-mbps')), up: Number(await old.textContent('#up-mbps')) };
    } finally {
      await old.close();
    }
  });
  const counts2 = await relayCounts();
  if (speed1) console.log(`figure: Chromium speed test, protocol 1: download ${speed1.down} Mbit/s, upload ${speed1.up} Mbit/s${perMessage(counts1, counts2)}`);

  await check('no console errors or page errors', async () => {
    if (errors.length) throw new Error(errors.join(' | '));
  });

  const relayPid = Number(process.env.RELAY_PID);
  if (relayPid > 0) {
    await check('relay killed: the banner says the connection is lost and reconnecting', async () => {
      process.kill(relayPid, 'SIGTERM');
      try {
        await page.waitForFunction(() => /connection to the relay lost — reconnecting in \d+s/.test(document.getElementById('banner-text').textContent));
      } catch {
        throw new Error(`the banner says "${await page.textContent('#banner-text')}"`);
      }
      return (await page.textContent('#banner-text')).trim();
    });
    await check('relay restarted: the tab reconnects and serves HTTP again', async () => {
      for (let i = 0; i < 50 && alive(relayPid); i++) await sleep(100);
      if (alive(relayPid)) throw new Error('the first relay did not exit');
      relay2 = spawn(join(build, 'wtcp-relay'), ['--listen', '127.0.0.1:8787'], { stdio: 'ignore' });
      if (process.env.RELAY2_PIDFILE) writeFileSync(process.env.RELAY2_PIDFILE, `${relay2.pid}\n`);
      await page.waitForFunction(() => window.wtcpDemo.status === 'connected', null, { timeout: 20000 });
      const a = await page.evaluate(() => window.wtcpDemo.address);
      const html = await curl(`http://${a}/`);
      if (!html.includes('Served from a browser tab by wtcp')) throw new Error(`got ${JSON.stringify(html.slice(0, 80))}`);
      return `reconnected as ${a}`;
    });
  } else {
    console.log('(RELAY_PID not set: relay-loss checks skipped)');
  }
  await check('a relay that refuses shows "relay unreachable or refused (token?)"', async () => {
    const other = await browser.newPage();
    await other.goto(`${URL_}?relay=${encodeURIComponent('ws://127.0.0.1:9/')}`);
    await other.waitForFunction(() => /relay unreachable or refused \(token\?\)/.test(document.getElementById('banner-text').textContent));
    await other.close();
  });
} catch (err) {
  fail('browser run', err?.message ?? String(err));
} finally {
  await browser.close();
  if (relay2 && relay2.exitCode === null) {
    const exited = new Promise((r) => relay2.once('exit', r));
    relay2.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
  }
}
process.exit(failures ? 1 : 0);
