// node-http.test.js: Node's own http server on one stack and http client on the other,
// through "wtcp/node": requests, keep-alive, and a 4 MiB streamed body both ways.

import { describe, it, expect } from 'vitest';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { pair } from 'wtcp';
import { createServer, connect, Agent, Socket } from 'wtcp/node';
import { pattern } from './helpers.js';

const MiB = 1 << 20;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** An http server on stack b, port 80, fed through 'connection'. */
async function httpOver(b, handler) {
  const httpServer = http.createServer(handler);
  const server = createServer({ stack: b }, (socket) => httpServer.emit('connection', socket));
  await new Promise((resolve) => server.listen(80, resolve));
  return { httpServer, server };
}

function request(options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const hash = createHash('sha256');
      let n = 0;
      res.on('data', (d) => {
        hash.update(d);
        n += d.length;
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, length: n, sha: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

describe('wtcp/node with Node http', () => {
  it('serves requests from Node http server to Node http client', async () => {
    const [a, b] = await pair();
    const { server } = await httpOver(b, (req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url} from ${req.socket.remoteAddress}`);
    });
    expect(server.address()).toEqual({ address: '10.0.0.2', port: 80, family: 'IPv4' });
    const createConnection = (opts) => connect({ stack: a, host: opts.host, port: opts.port });
    const res = await new Promise((resolve, reject) => {
      http
        .get({ host: '10.0.0.2', port: 80, path: '/hello', createConnection }, (r) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (d) => (body += d));
          r.on('end', () => resolve({ status: r.statusCode, body }));
        })
        .on('error', reject);
    });
    expect(res).toEqual({ status: 200, body: 'GET /hello from 10.0.0.1' });

    // Keep-alive: several requests over one pooled connection.
    const agent = new Agent({ stack: a, keepAlive: true, maxSockets: 1 });
    const ports = new Set();
    for (let i = 0; i < 5; i++) {
      const r = await new Promise((resolve, reject) => {
        const req = http.get({ host: '10.0.0.2', port: 80, path: `/k${i}`, agent }, (r2) => {
          ports.add(req.socket.localPort);
          r2.resume();
          r2.on('end', () => resolve(r2.statusCode));
        });
        req.on('error', reject);
      });
      expect(r).toBe(200);
    }
    expect(ports.size).toBe(1);
    agent.destroy();
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    });
    a.close();
    b.close();
  });

  it('carries a 4 MiB streamed body up and a 4 MiB streamed body down, intact', async () => {
    const [a, b] = await pair();
    const up = pattern(4 * MiB, 77);
    const down = pattern(4 * MiB, 78);
    const { server } = await httpOver(b, (req, res) => {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (d) => {
        hash.update(d);
        n += d.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'x-upload-length': String(n), 'x-upload-sha256': hash.digest('hex') });
        // Streamed (chunked) in 64 KiB pieces.
        Readable.from(
          (function* () {
            for (let off = 0; off < down.length; off += 64 * 1024) yield down.subarray(off, off + 64 * 1024);
          })(),
        ).pipe(res);
      });
    });
    const body = Readable.from(
      (function* () {
        for (let off = 0; off < up.length; off += 100_000) yield Buffer.from(up.subarray(off, off + 100_000));
      })(),
    );
    const res = await request(
      {
        host: '10.0.0.2',
        port: 80,
        method: 'POST',
        path: '/upload',
        createConnection: (opts) => connect({ stack: a, host: opts.host, port: opts.port }),
      },
      body,
    );
    expect(res.status).toBe(200);
    expect(res.headers['x-upload-length']).toBe(String(up.length));
    expect(res.headers['x-upload-sha256']).toBe(sha256(up));
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.length).toBe(down.length);
    expect(res.sha).toBe(sha256(down));
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    });
    a.close();
    b.close();
  });

  it('net-style sockets: echo through stream.pipeline, errors carry wtcp codes', async () => {
    const [a, b] = await pair();
    const server = createServer({ stack: b }, (socket) => {
      expect(socket).toBeInstanceOf(Socket);
      pipeline(socket, socket).catch(() => {});
    }).listen({ port: 7 });
    const socket = connect({ stack: a, host: '10.0.0.2', port: 7 });
    expect(socket.connecting).toBe(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    expect(socket.remoteAddress).toBe('10.0.0.2');
    expect(socket.remotePort).toBe(7);
    expect(socket.address()).toMatchObject({ address: '10.0.0.1', family: 'IPv4' });
    const data = pattern(MiB, 5);
    const chunks = [];
    const done = new Promise((resolve) => socket.on('end', resolve));
    socket.on('data', (d) => chunks.push(d));
    socket.end(data);
    await done;
    expect(Buffer.compare(Buffer.concat(chunks), Buffer.from(data))).toBe(0);

    const refused = connect({ stack: a, host: '10.0.0.2', port: 8 });
    const err = await new Promise((resolve) => refused.on('error', resolve));
    expect(err.code).toBe('ECONNREFUSED');
    await new Promise((resolve) => server.close(resolve));
    a.close();
    b.close();
  });
  it("reports a peer's reset as 'error' ECONNRESET, then 'close' with hadError true, as net.Socket", async () => {
    const [a, b] = await pair();
    const seen = [];
    const gotClose = new Promise((resolve) => {
      const server = createServer({ stack: b, allowHalfOpen: true }, (sock) => {
        sock.on('data', () => {});
        sock.on('error', (e) => seen.push(`error ${e.code}`));
        sock.on('close', (hadError) => {
          seen.push(`close ${hadError}`);
          server.close();
          resolve();
        });
      });
      server.listen(7000);
    });
    const c = connect({ stack: a, host: '10.0.0.2', port: 7000 });
    c.on('error', () => {});
    await new Promise((resolve) => c.on('connect', resolve));
    c.write('some data');
    await new Promise((r) => setTimeout(r, 20));
    c.resetAndDestroy();
    await gotClose;
    expect(seen).toEqual(['error ECONNRESET', 'close true']);
    // A clean end: 'close' with hadError false.
    const server2 = createServer({ stack: b }, (sock) => sock.end('bye'));
    await new Promise((resolve) => server2.listen(7001, resolve));
    const clean = await new Promise((resolve) => {
      const s = connect({ stack: a, host: '10.0.0.2', port: 7001 });
      s.on('data', () => {});
      s.on('close', (hadError) => {
        server2.close();
        resolve(hadError);
      });
    });
    expect(clean).toBe(false);
    a.close();
    b.close();
  });
});
