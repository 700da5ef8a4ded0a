// server.mjs: @mercuryworkshop/wisp-js's own Wisp server (no code of ours in it) on
// HOST:PORT, for tests/wisp/test.sh; private and loopback destinations allowed (the test's
// servers live in its own namespace).
//   node tests/wisp/server.mjs HOST PORT
import http from 'node:http';
import { readFileSync } from 'node:fs';

// The package is a dev dependency of bindings/js: its "./server" ESM entry, from its exports.
const pkg = new URL('../../bindings/js/node_modules/@mercuryworkshop/wisp-js/', import.meta.url);
const entry = JSON.parse(readFileSync(new URL('package.json', pkg))).exports['./server'].import;
const { server: wisp, logging } = await import(new URL(entry, pkg).href);
wisp.options.allow_private_ips = true;
wisp.options.allow_loopback_ips = true;
logging.set_level(logging.WARN);
const [host, port] = process.argv.slice(2);
const srv = http.createServer((req, res) => res.end('a wisp server\n'));
srv.on('upgrade', (req, socket, head) => wisp.routeRequest(req, socket, head));
srv.listen(Number(port), host, () => console.log(`wisp ws://${host}:${port}/`));
