// peer.mjs: the Node side of tests/interop/test.sh and bench/relay-throughput.sh. Each
// command runs wtcp stacks (the npm package's wasm build, bindings/js) through a
// wtcp-relay WebSocket, or (linux-http, linux-sink) an ordinary Node server on the Linux side.
// Results are single lines "key value key value ..." on stdout; errors go to stderr and
// give exit status 1.
//
//   serve RELAY FILE [PORT=80]      Node's http server over wtcp/node on the stack's port:
//                                   GET /data -> FILE's bytes, GET /whoami -> "hello ADDR".
//                                   Prints "address A" once listening; runs until SIGTERM.
//   get RELAY URL [RUNS=1]          Node's http client over wtcp/node's Agent: downloads
//                                   URL RUNS times; prints "address A bytes N sha256 H ms T"
//                                   per run (T: first request byte to last body byte).
//   put RELAY HOST PORT FILE [RUNS=1]  raw TCP upload of FILE (one connection per run):
//                                   write all, FIN, wait for the peer's FIN; prints
//                                   "address A bytes N ms T retransmits R timeouts O
//                                   recoveries V probes P" per run (the stack's counters
//                                   so far).
//   many RELAY N URL                N stacks at once, each with its own WebSocket; each GETs
//                                   URL (a /whoami) and must read "hello ITS-ADDRESS".
//                                   Prints "stacks N distinct D ok K ms T" (and failures).
//   token RELAY [PROTOCOLS]         createStack({ relay, protocols }) (PROTOCOLS: comma-
//                                   separated subprotocols): prints "refused NAME CODE ms T
//                                   message M" or "accepted address A ms T".
//   linux-http HOST PORT [FILE]     a plain Node http server (the Linux side): /whoami ->
//                                   "hello REMOTE-ADDR", /data -> FILE. Prints "listening".
//   linux-sink HOST PORT            a plain TCP sink (the Linux side, node:net): reads each
//                                   connection to its end, prints "bytes N sha256 H from
//                                   ADDR", then closes its side.
//
// Environment: PEER_STACK_OPTIONS, a JSON object of extra createStack() options for every
// stack a command makes (e.g. '{"rtoMin":10}'); bad JSON is an error. PEER_TRACE=1: put
// writes the connection's cwnd, ssthresh, srtt, rto, bytes in flight, recovery state and
// retransmits to stderr every 2 ms ("trace MS cwnd ..."), to follow the window through loss.
//
// The package is imported by path (../../bindings/js/lib), which is what "wtcp" and
// "wtcp/node" resolve to in Node; `ws` comes from bindings/js/node_modules.

import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createStack as createStackBare, WtcpError } from '../../bindings/js/lib/index.node.js';
import { createServer, Agent } from '../../bindings/js/lib/node.js';

let extraOptions = {};
try {
  extraOptions = JSON.parse(process.env.PEER_STACK_OPTIONS || '{}');
} catch (err) {
  process.stderr.write(`PEER_STACK_OPTIONS: ${err.message}\n`);
  process.exit(1);
}
const createStack = (options) => createStackBare({ ...options, ...extraOptions });

const [cmd, ...args] = process.argv.slice(2);
const now = () => performance.now();
const out = (line) => process.stdout.write(line + '\n');

function fail(message) {
  process.stderr.write(`peer ${cmd}: ${message}\n`);
  process.exit(1);
}

/** GET url over the stack; resolves { status, bytes, sha, body?, ms }. */
function get(stack, url, { keepBody = false, timeout = 120000 } = {}) {
  return new Promise((resolve, reject) => {
    const agent = new Agent({ stack });
    const t0 = now();
    const req = http.get(url, { agent }, (res) => {
      const hash = createHash('sha256');
      const chunks = [];
      let bytes = 0;
      res.on('data', (d) => {
        bytes += d.length;
        hash.update(d);
        if (keepBody) chunks.push(d);
      });
      res.on('end', () => {
        agent.destroy();
        resolve({
          status: res.statusCode,
          bytes,
          sha: hash.digest('hex'),
          body: keepBody ? Buffer.concat(chunks).toString() : undefined,
          ms: now() - t0,
        });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeout, () => req.destroy(new Error(`no progress for ${timeout} ms`)));
    req.on('error', (err) => {
      agent.destroy();
      reject(err);
    });
  });
}

const commands = {
  async serve(relay, file, port = '80') {
    const data = readFileSync(file);
    const stack = await createStack({ relay });
    const web = http.createServer((req, res) => {
      req.resume();
      if (req.url === '/data') {
        res.setHeader('content-type', 'application/octet-stream');
        res.setHeader('content-length', data.length);
        res.end(data);
      } else if (req.url === '/whoami') {
        res.end(`hello ${req.socket.remoteAddress}`);
      } else {
        res.statusCode = 404;
        res.end('not found\n');
      }
    });
    const server = createServer({ stack }, (socket) => web.emit('connection', socket));
    server.on('error', (err) => fail(`server: ${err.code} ${err.message}`));
    await new Promise((resolve) => server.listen(Number(port), resolve));
    out(`address ${stack.address}`);
    const stop = () => {
      server.close();
      server.closeAllConnections();
      stack.close();
      setTimeout(() => process.exit(0), 100);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    setInterval(() => {}, 1 << 30); // keep running until a signal
  },

  async get(relay, url, runs = '1') {
    const stack = await createStack({ relay });
    for (let i = 0; i < Number(runs); i++) {
      const r = await get(stack, url);
      if (r.status !== 200) fail(`${url}: status ${r.status}`);
      out(`address ${stack.address} bytes ${r.bytes} sha256 ${r.sha} ms ${r.ms.toFixed(1)}`);
    }
    stack.close();
  },

  async put(relay, host, port, file, runs = '1') {
    const data = readFileSync(file);
    const stack = await createStack({ relay });
    for (let i = 0; i < Number(runs); i++) {
      const conn = await stack.connect({ host, port: Number(port), timeout: 10000 });
      const t0 = now();
      const trace = process.env.PEER_TRACE
        ? setInterval(() => {
            const v = conn.info();
            process.stderr.write(`trace ${(now() - t0).toFixed(1)} cwnd ${v.cwnd} ssthresh ${v.ssthresh} srtt ${v.srtt} rto ${v.rto} flight ${v.unacked} ca ${v.caState} retrans ${v.retransmits}\n`);
          }, 2)
        : null;
      const chunk = 256 * 1024;
      for (let off = 0; off < data.length; off += chunk) await conn.write(data.subarray(off, off + chunk));
      await conn.end();
      // The peer closes once it has read everything (socat -u, a sink): wait for its FIN.
      for (;;) {
        const got = await conn.read();
        if (got === null) break;
      }
      const ms = now() - t0;
      if (trace) clearInterval(trace);
      const info = conn.info();
      conn.close();
      const s = stack.stats();
      out(
        `address ${stack.address} bytes ${data.length} ms ${ms.toFixed(1)} retransmits ${info.retransmits ?? '?'}` +
          ` timeouts ${s.tcpTimeouts} recoveries ${s.tcpRecoveries} probes ${s.tcpLossProbes}`,
      );
    }
    stack.close();
  },

  async many(relay, n, url) {
    n = Number(n);
    const t0 = now();
    const opened = await Promise.allSettled(Array.from({ length: n }, () => createStack({ relay })));
    const stacks = opened.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    const refused = opened.filter((r) => r.status === 'rejected');
    const distinct = new Set(stacks.map((s) => s.address)).size;
    const results = await Promise.allSettled(stacks.map((s) => get(s, url, { keepBody: true, timeout: 30000 })));
    let ok = 0;
    const problems = [];
    results.forEach((r, i) => {
      const want = `hello ${stacks[i].address}`;
      if (r.status === 'fulfilled' && r.value.status === 200 && r.value.body === want) ok++;
      else problems.push(`${stacks[i].address}: ${r.status === 'fulfilled' ? `status ${r.value.status} body '${r.value.body}'` : r.reason?.message}`);
    });
    for (const r of refused.slice(0, 5)) problems.push(`createStack: ${r.reason?.code} ${r.reason?.message}`);
    const ms = now() - t0;
    for (const s of stacks) s.close();
    out(`stacks ${stacks.length} distinct ${distinct} ok ${ok} ms ${ms.toFixed(0)}`);
    for (const p of problems.slice(0, 10)) out(`problem ${p}`);
  },

  async token(relay, protocols) {
    const t0 = now();
    try {
      const stack = await createStack({ relay, relayTimeout: 10000, protocols: protocols?.split(',') });
      out(`accepted address ${stack.address} ms ${(now() - t0).toFixed(0)}`);
      stack.close();
    } catch (err) {
      const typed = err instanceof WtcpError ? 'WtcpError' : (err?.constructor?.name ?? typeof err);
      out(`refused ${typed} ${err?.code} ms ${(now() - t0).toFixed(0)} message ${err?.message}`);
    }
  },

  async 'linux-http'(host, port, file) {
    const data = file ? readFileSync(file) : Buffer.alloc(0);
    const web = http.createServer((req, res) => {
      req.resume();
      if (req.url === '/whoami') res.end(`hello ${req.socket.remoteAddress}`);
      else if (req.url === '/data') res.end(data);
      else {
        res.statusCode = 404;
        res.end('not found\n');
      }
    });
    web.maxConnections = 10000;
    web.listen(Number(port), host, () => out('listening'));
    const stop = () => {
      web.close();
      web.closeAllConnections();
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
};

commands['linux-sink'] = async (host, port) => {
  const server = net.createServer((socket) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const from = socket.remoteAddress;
    socket.on('data', (d) => {
      bytes += d.length;
      hash.update(d);
    });
    socket.on('end', () => {
      out(`bytes ${bytes} sha256 ${hash.digest('hex')} from ${from}`);
      socket.end();
    });
    socket.on('error', (err) => out(`error ${err.code} from ${from}`));
  });
  server.listen(Number(port), host, () => out('listening'));
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
};

if (!commands[cmd]) fail(`usage: node peer.mjs serve|get|put|many|token|linux-http|linux-sink ...`);
try {
  await commands[cmd](...args);
} catch (err) {
  fail(`${err?.code ?? ''} ${err?.message ?? err}`);
}
