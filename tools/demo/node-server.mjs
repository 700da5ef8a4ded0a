// node-server.mjs: the Node half of `make demo`: a wtcp stack (the wasm build) joins the
// relay's network and serves HTTP on port 80 with Node's own http module over wtcp/node.
//
// Usage: node tools/demo/node-server.mjs [RELAY_URL]   (default ws://127.0.0.1:8787/)
// Prints "address A.B.C.D" once it has an address, then one line per request.

import http from 'node:http';
import { createStack, WtcpError } from '../../bindings/js/lib/index.node.js';
import { createServer } from '../../bindings/js/lib/node.js';

const relay = process.argv[2] ?? 'ws://127.0.0.1:8787/';
const started = Date.now();

let stack;
try {
  stack = await createStack({ relay });
} catch (err) {
  const why = err instanceof WtcpError ? `${err.code}: ${err.message}` : String(err);
  console.error(`node-server: cannot join the relay at ${relay}: ${why}`);
  process.exit(1);
}

const web = http.createServer((req, res) => {
  console.log(`${req.socket.remoteAddress}:${req.socket.remotePort} ${req.method} ${req.url}`);
  if (req.url === '/stats.json') {
    res.setHeader('content-type', 'application/json');
    res.end(`${JSON.stringify({ address: stack.address, uptime_s: (Date.now() - started) / 1000, stats: stack.stats() }, null, 2)}\n`);
    return;
  }
  if (req.url !== '/') {
    res.statusCode = 404;
    res.setHeader('content-type', 'text/plain');
    res.end(`404: ${req.url} is not here; try / or /stats.json\n`);
    return;
  }
  res.setHeader('content-type', 'text/plain');
  res.end(
    `Hello from wtcp: a TCP/IPv4 stack in WebAssembly, running in Node ${process.version}.\n` +
      `This reply left Node's http module, went through the wasm stack at ${stack.address},\n` +
      `over a WebSocket to wtcp-relay and out of its TUN device to you (${req.socket.remoteAddress}).\n`,
  );
});
const server = createServer({ stack }, (socket) => web.emit('connection', socket));
server.listen(80, () => console.log(`address ${stack.address}`));

function stop() {
  server.close();
  stack.close();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
