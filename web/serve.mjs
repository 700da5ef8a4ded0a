#!/usr/bin/env node
// serve.mjs: a small static server for the wtcp web demo (node:* modules only).
//   node web/serve.mjs [--listen HOST:PORT]     (default 127.0.0.1:8080)
// Serves web/ at /, bindings/js/lib/* at /wtcp/lib/*, bindings/js/dist/* at /wtcp/dist/*, and
// for v86.html the npm v86 package's build/ at /v86/, /usr/share/seabios at /seabios/ and the
// guest (tests/v86/build-guest.sh; $WTCP_GUEST_DIR, default build/v86) at /guest/.

import http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join, dirname, resolve, sep, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = dirname(fileURLToPath(import.meta.url));
const repo = resolve(webDir, '..');
const mounts = [
  ['/wtcp/lib/', join(repo, 'bindings/js/lib')],
  ['/wtcp/dist/', join(repo, 'bindings/js/dist')],
  // v86.html: the emulator (npm v86), its BIOS (Debian's seabios), the guest (build-guest.sh)
  ['/v86/', join(repo, 'bindings/js/node_modules/v86/build')],
  ['/seabios/', '/usr/share/seabios'],
  ['/guest/', process.env.WTCP_GUEST_DIR || join(repo, 'build/v86')],
  ['/', webDir],
];
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

function usage(code) {
  (code ? process.stderr : process.stdout).write('usage: serve.mjs [--listen HOST:PORT]   (default 127.0.0.1:8080)\n');
  process.exit(code);
}

let listen = '127.0.0.1:8080';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '-h' || a === '--help') usage(0);
  else if (a === '--listen' && i + 1 < argv.length) listen = argv[++i];
  else if (a.startsWith('--listen=')) listen = a.slice(9);
  else if (/^[^-].*:\d+$/.test(a)) listen = a; // a bare HOST:PORT
  else usage(2);
}
const m = /^(.*):(\d+)$/.exec(listen);
if (!m || +m[2] > 65535) usage(2);
const host = m[1].replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
const port = +m[2];

/** Maps a URL path to a file under one of the mounts, or null (escapes are refused). */
function locate(pathname) {
  let path;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  if (path.split('/').some((part) => part === '..')) return null;
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    let rel = path.slice(prefix.length);
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    const file = resolve(dir, rel);
    if (file !== dir && !file.startsWith(dir + sep)) return null;
    return file;
  }
  return null;
}

function send(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer(async (req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
  let url;
  try {
    url = new URL(req.url, 'http://x');
  } catch {
    return send(res, 400, 'bad request\n');
  }
  const file = locate(url.pathname);
  if (!file) return send(res, 404, 'not found\n');
  try {
    const st = await stat(file);
    if (!st.isFile()) return send(res, 404, 'not found\n');
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': types[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    send(res, 404, 'not found\n');
  }
});

server.on('error', (err) => {
  console.error(`serve.mjs: ${err.message}`);
  process.exit(1);
});
server.listen(port, host, () => {
  const shown = host.includes(':') ? `[${host}]` : host;
  console.log(`serving http://${shown}:${server.address().port}/`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections?.());
