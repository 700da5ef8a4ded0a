// gateway.mjs: the npm package's stack as the router of a guest LAN, for tests/lan/test.sh
// and bench/lan-throughput.sh: its link is wtcp-relay (the uplink), its guest LAN
// (stack.addGuestLan: DHCP, NAT, DNS, port forwards) carries the Ethernet frames of a TAP
// device in the guest's namespace through wtcp-tapbridge (2-byte lengths on a pipe).
//
// Usage: node gateway.mjs RELAY_URL GUEST_NETNS TAPBRIDGE CONTROL_PORT
//   (GATEWAY_WISP=URL [GATEWAY_DNS=ADDR]: the guests' TCP and UDP go to that Wisp server;
//   RELAY_URL "-": no relay at all, else NAT through it takes the rest)
// Prints "ready ADDRESS" (the stack's address from the relay) once the LAN is up. It also
// serves, on the LAN's gateway address 10.0.2.2 port 8080, a page from Node's http over
// wtcp/node, and on 127.0.0.1:CONTROL_PORT (kernel TCP, for the test script):
//   GET /fetch?url=http://10.0.2.15:8000/x   the stack fetches a URL from the guest (Node
//                                            http over wtcp/node) and returns the body
//   GET /leases, GET /stats                  JSON
// Port forward: TCP 8022 of the stack's address -> 10.0.2.15:8000.

import { spawn } from 'node:child_process';
import http from 'node:http';
import { createStack } from '../../bindings/js/lib/index.node.js';
import { createServer, Agent } from '../../bindings/js/lib/node.js';

const [url, netns, tapbridge, controlPort] = process.argv.slice(2);
if (!controlPort) {
  process.stderr.write('usage: node gateway.mjs RELAY_URL GUEST_NETNS TAPBRIDGE CONTROL_PORT\n');
  process.exit(2);
}

// With a Wisp server (GATEWAY_WISP=ws://...) the stack needs no relay: the guests' TCP and
// UDP become Wisp streams (interception), and GATEWAY_DNS names their resolver.
// Both (GATEWAY_WISP and a RELAY_URL other than "-"): Wisp for TCP and UDP, NAT through the
// relay for the rest (ICMP).
const wispUrl = process.env.GATEWAY_WISP;
const withRelay = url !== '-';
const stack = withRelay ? await createStack({ relay: url }) : await createStack({ address: '192.168.250.1', prefix: 24 });
const lan = stack.addGuestLan({
  address: '10.0.2.2/24',
  dhcp: { first: '10.0.2.15', last: '10.0.2.99', lease: 3600 },
  ...(wispUrl
    ? { wisp: wispUrl, dns: process.env.GATEWAY_DNS ?? false, nat: withRelay }
    : { forwards: [{ protocol: 'tcp', port: 8022, to: '10.0.2.15:8000' }] }),
});

if (lan.wisp) lan.wisp.onerror = (e) => process.stderr.write(`wisp: ${e.address}:${e.port} from ${e.from.address}: ${e.why}\n`);

// The TAP device's frames, both ways, with their 2-byte lengths.
const bridge = spawn('ip', ['netns', 'exec', netns, tapbridge, 'tap0'], { stdio: ['pipe', 'pipe', 'inherit'] });
bridge.on('exit', (code) => {
  process.stderr.write(`gateway: tapbridge ended (${code})\n`);
  process.exit(1);
});
let pending = [];
let pendingBytes = 0;
lan.onframe = (frame) => {
  const rec = Buffer.allocUnsafe(2 + frame.length);
  rec.writeUInt16BE(frame.length, 0);
  rec.set(frame, 2);
  pending.push(rec);
  pendingBytes += rec.length;
  if (pending.length === 1) queueMicrotask(flush); // one write per turn of the loop
};
function flush() {
  const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
  pending = [];
  pendingBytes = 0;
  bridge.stdin.write(all);
}
let carry = Buffer.alloc(0);
bridge.stdout.on('data', (chunk) => {
  let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
  let off = 0;
  while (buf.length - off >= 2) {
    const n = buf.readUInt16BE(off);
    if (buf.length - off < 2 + n) break;
    lan.input(buf.subarray(off + 2, off + 2 + n));
    off += 2 + n;
  }
  carry = buf.subarray(off);
});

// A page from JavaScript on the gateway's LAN address (Node's http, the stack's TCP).
const pages = http.createServer((req, res) => res.end('hello from the gateway\n'));
const page = createServer({ stack }, (socket) => pages.emit('connection', socket));
page.listen(8080, '10.0.2.2');

const agent = new Agent({ stack });
const control = http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://control');
  try {
    if (u.pathname === '/fetch') {
      const body = await new Promise((resolve, reject) => {
        http
          .get(u.searchParams.get('url'), { agent }, (r) => {
            const parts = [];
            r.on('data', (d) => parts.push(d));
            r.on('end', () => resolve(Buffer.concat(parts)));
            r.on('error', reject);
          })
          .on('error', reject);
      });
      res.end(body);
    } else if (u.pathname === '/leases') {
      res.end(JSON.stringify(lan.leases()));
    } else if (u.pathname === '/stats') {
      res.end(JSON.stringify({ stack: stack.stats(), lan: lan.stats(), heap: stack.stats().heapBytes, rss: process.memoryUsage().rss }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  } catch (err) {
    res.statusCode = 502;
    res.end(String(err?.message ?? err));
  }
});
control.listen(Number(controlPort), '127.0.0.1', () => process.stdout.write(`ready ${stack.address}\n`));
