// v86-page.mjs: the demo's emulator page (web/v86.html) in headless Chromium: v86 runs the
// test guest (tests/v86/build-guest.sh) in the tab, wtcp/v86 puts its NIC on the tab's
// stack; with ?auto=1 the page gets a lease for the guest and has it wget a file from the
// relay's host through wtcp's NAT. Run by web/test.sh in its namespace (relay and servers up).
//   node web/test/v86-page.mjs BUILD_DIR PAGE_URL
// Prints "ok ..." / "FAIL ...: why" and exits 1 on failure; the screenshot goes to
// BUILD_DIR/artifacts/web-v86.png.

import { createRequire } from 'node:module';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'bindings/js/package.json'));
const { chromium } = require('playwright-core');
const [build, url] = process.argv.slice(2);
const shot = join(resolve(build), 'artifacts', process.env.V86_PAGE_SHOT ?? 'web-v86.png');

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
let failed = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => /through wtcp|failed|no lease/.test(document.getElementById('fetched').textContent) || document.getElementById('banner').className.includes('error'), null, { timeout: 150000 });
  const lease = await page.textContent('#lease');
  const fetched = await page.textContent('#fetched');
  const bannerText = await page.textContent('#banner-text');
  await page.screenshot({ path: shot, fullPage: true });
  if (/^ip=10\.0\.2\.\d+\/24 router=10\.0\.2\.2$/.test(lease)) console.log(`ok v86 in a tab: the guest got a lease from the tab's stack: ${lease}`);
  else (failed++, console.log(`FAIL v86 in a tab: lease: ${lease} (${bannerText}; ${errors.join('; ')})`));
  if (fetched.includes("a page on the relay's host, fetched by the v86 guest through wtcp")) {
    const via = url.includes('wisp=') ? 'as a Wisp stream' : "through wtcp's NAT";
    console.log(`ok v86 in a tab: the guest fetched a page from the relay's host ${via} (${((Date.now() - t0) / 1000).toFixed(1)} s from loading the page); screenshot ${shot}`);
  } else {
    failed++;
    console.log(`FAIL v86 in a tab: fetched: ${fetched} (${bannerText}; ${errors.join('; ')})`);
  }
} catch (err) {
  failed++;
  console.log(`FAIL v86 in a tab: ${(err?.message ?? String(err)).split('\n')[0]}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
