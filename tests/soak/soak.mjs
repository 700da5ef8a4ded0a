// soak.mjs: one side of the soak (tests/soak/soak.sh): serves and opens connections at
// random, every byte checked.
//
//   node soak.mjs wtcp RELAY SECONDS PEER_HOST PEER_PORT SEED   a wtcp stack through the relay
//   node soak.mjs kernel - SECONDS PEER_HOSTS PEER_PORT SEED    Node's own TCP (net)
//
// Both serve on a port (wtcp: 7000, kernel: 9000) and, from SIGUSR1 on (the driver sends it
// once every side listens), keep between 1 and 30 connections of their own open to the peer(s) (PEER_HOSTS: comma-separated). Per connection the client
// sends a 16-byte header (magic, seed, bytes up, bytes down), then the bytes up; the server
// checks each byte against the seed's stream, sends the bytes down, and ends (servers allow
// half-open connections: the client's FIN comes first); the client checks those. Sizes are log-uniform from 0 to 2 MiB; 2 % of the client's connections are
// aborted on purpose at a random moment (a RST: counted as aborted, not as lost data).
// Every 10 s a line "sample t=.. done=.. failed=.. aborted=.. bytes=.. rss=.. heap=..
// memory=.. fds=.. open=.." (heap, memory: the wtcp stack's; 0 for kernel). When its own
// clients are over it prints "clients-done" and serves on; SIGTERM prints "final ..." with
// the same fields and exits. A failed connection prints "fail: why".
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { createStack } from '../../bindings/js/lib/index.node.js';
import { createServer as wtcpServer, connect as wtcpConnect } from '../../bindings/js/lib/node.js';

const [role, relay, secondsArg, peerHosts, peerPortArg, seedArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const peerPort = Number(peerPortArg);
const hosts = peerHosts.split(',');
const MAGIC = 0x534f414b; // "SOAK"
const MAX = 2 * 1024 * 1024;

let rng = Number(seedArg) >>> 0 || 1;
const rand = () => {
  rng ^= rng << 13;
  rng >>>= 0;
  rng ^= rng >>> 17;
  rng ^= rng << 5;
  rng >>>= 0;
  return rng / 4294967296;
};
const size = () => (rand() < 0.1 ? 0 : Math.min(MAX, Math.floor(Math.exp(rand() * Math.log(MAX)))));

/** The byte stream of a seed, from any offset: xorshift32 words, little-endian bytes. */
class Stream {
  constructor(seed) {
    this.s = seed >>> 0 || 0x9e3779b9;
    this.word = 0;
    this.left = 0;
  }
  fill(buf) {
    for (let i = 0; i < buf.length; i++) {
      if (this.left === 0) {
        let s = this.s;
        s ^= s << 13;
        s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5;
        this.s = s >>> 0;
        this.word = this.s;
        this.left = 4;
      }
      buf[i] = this.word & 0xff;
      this.word >>>= 8;
      this.left--;
    }
    return buf;
  }
  /** Offset of the first byte of buf that differs from the stream, or -1. */
  check(buf) {
    const want = this.fill(Buffer.allocUnsafe(buf.length));
    return buf.equals(want) ? -1 : want.findIndex((b, i) => b !== buf[i]);
  }
}

const stats = { done: 0, failed: 0, aborted: 0, bytes: 0, open: 0 };
const fail = (why) => {
  stats.failed++;
  process.stdout.write(`fail: ${why}\n`);
};

let stack = null;
let listen, dial;
if (role === 'wtcp') {
  stack = await createStack({ relay });
  listen = (handler) => wtcpServer({ stack, allowHalfOpen: true }, handler);
  dial = (host, port) => wtcpConnect({ stack, host, port, timeout: 30000 });
  process.stdout.write(`address ${stack.address}\n`);
} else {
  listen = (handler) => net.createServer({ allowHalfOpen: true }, handler);
  dial = (host, port) => net.connect({ host, port });
}

/** The server side of one connection. */
function serve(sock) {
  stats.open++;
  // A connection whose client's RST was lost on the faulty path would wait forever, as on
  // any TCP server: an idle timeout ends it (not counted as a failure).
  sock.setTimeout(20000, () => sock.destroy(new Error('idle')));
  let header = Buffer.alloc(0);
  let up = null, seed = 0, upLen = 0, downLen = 0, got = 0, bad = false, sent = false;
  const done = (err) => {
    stats.open--;
    if (bad || sent) return;
    if (err) stats.aborted++; // the client reset it (deliberate aborts)
    else if (header.length < 16 || got < upLen) fail(`server: ended after ${got} of ${upLen} bytes up (seed ${seed})`);
  };
  sock.on('data', (d) => {
    if (bad) return;
    if (!up) {
      header = Buffer.concat([header, d]);
      if (header.length < 16) return;
      if (header.readUInt32BE(0) !== MAGIC) {
        bad = true;
        fail(`server: bad header ${header.subarray(0, 16).toString('hex')}`);
        sock.destroy();
        return;
      }
      seed = header.readUInt32BE(4);
      upLen = header.readUInt32BE(8);
      downLen = header.readUInt32BE(12);
      up = new Stream(seed);
      d = header.subarray(16);
    }
    if (got + d.length > upLen) {
      bad = true;
      fail(`server: ${got + d.length - upLen} bytes more than announced (seed ${seed})`);
      sock.destroy();
      return;
    }
    const at = up.check(d);
    if (at >= 0) {
      bad = true;
      fail(`server: byte ${got + at} of ${upLen} differs (seed ${seed})`);
      sock.destroy();
      return;
    }
    got += d.length;
    stats.bytes += d.length;
    if (got === upLen && !sent) {
      sent = true;
      const down = new Stream(seed * 31 + 7);
      let left = downLen;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, 65536);
          left -= n;
          if (!sock.write(down.fill(Buffer.allocUnsafe(n)))) {
            sock.once('drain', pump);
            return;
          }
        }
        sock.end();
      };
      pump();
    }
  });
  sock.on('error', () => {});
  sock.on('close', (hadError) => done(hadError));
}

const server = listen(serve);
server.on('error', (e) => {
  process.stderr.write(`soak ${role}: server: ${e.message}\n`);
  process.exit(1);
});
await new Promise((resolve) => server.listen(role === 'wtcp' ? 7000 : 9000, resolve));
process.stdout.write('listening\n');
// The clients start when every side listens: the driver says so with SIGUSR1.
await new Promise((resolve) => process.once('SIGUSR1', resolve));

/** One client connection; resolves when it has ended (never rejects). */
function client(host) {
  return new Promise((resolve) => {
    const seed = Math.floor(rand() * 4294967296) >>> 0;
    const upLen = size(), downLen = size();
    const abortAt = rand() < 0.02 ? Math.floor(rand() * (upLen + downLen + 1)) : -1;
    const sock = dial(host, peerPort);
    stats.open++;
    let got = 0, moved = 0, ended = false, aborted = false;
    const down = new Stream(seed * 31 + 7);
    const finish = (why) => {
      if (ended) return;
      ended = true;
      stats.open--;
      if (aborted) stats.aborted++;
      else if (why) fail(`client to ${host}: ${why} (seed ${seed}, up ${upLen}, down ${downLen})`);
      else stats.done++;
      resolve();
    };
    const maybeAbort = () => {
      if (abortAt >= 0 && moved >= abortAt && !aborted && !ended) {
        aborted = true;
        sock.resetAndDestroy(); /* a RST, so the server tells it from a short stream */
        finish();
      }
    };
    sock.on('connect', () => {
      const h = Buffer.alloc(16);
      h.writeUInt32BE(MAGIC, 0);
      h.writeUInt32BE(seed, 4);
      h.writeUInt32BE(upLen, 8);
      h.writeUInt32BE(downLen, 12);
      sock.write(h);
      const up = new Stream(seed);
      let left = upLen;
      const pump = () => {
        while (left > 0 && !ended) {
          const n = Math.min(left, 65536);
          left -= n;
          moved += n;
          const ok = sock.write(up.fill(Buffer.allocUnsafe(n)));
          maybeAbort();
          if (!ok) {
            sock.once('drain', pump);
            return;
          }
        }
        if (!ended) sock.end();
      };
      pump();
    });
    sock.on('data', (d) => {
      if (ended) return;
      if (got + d.length > downLen) return finish(`${got + d.length - downLen} bytes more than asked for`);
      const at = down.check(d);
      if (at >= 0) return finish(`byte ${got + at} of ${downLen} down differs`);
      got += d.length;
      moved += d.length;
      stats.bytes += d.length;
      maybeAbort();
    });
    sock.on('error', (e) => finish(aborted ? null : `error ${e.code || e.message} after ${got} of ${downLen} bytes down`));
    sock.on('close', () => finish(got === downLen ? null : `closed after ${got} of ${downLen} bytes down`));
  });
}

const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
const fds = () => {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
};
const line = (kind) => {
  const st = stack ? stack.stats() : null;
  process.stdout.write(
    `${kind} t=${elapsed().toFixed(0)} done=${stats.done} failed=${stats.failed} aborted=${stats.aborted} ` +
      `bytes=${stats.bytes} rss=${process.memoryUsage().rss} heap=${st ? st.heapBytes : 0} ` +
      `memory=${st ? st.memoryBytes : 0} fds=${fds()} open=${stats.open}\n`,
  );
};
const sampler = setInterval(() => line('sample'), 10000);

// Clients: the number wanted at once changes at random every few seconds.
let want = 1 + Math.floor(rand() * 30);
const changer = setInterval(() => (want = 1 + Math.floor(rand() * 30)), 3000);
let running = 0;
await new Promise((resolve) => {
  const more = () => {
    if (elapsed() >= seconds) {
      if (running === 0) resolve();
      return;
    }
    while (running < want) {
      running++;
      client(hosts[Math.floor(rand() * hosts.length)]).then(() => {
        running--;
        more();
      });
    }
  };
  more();
  const tick = setInterval(() => {
    more();
    if (elapsed() >= seconds && running === 0) {
      clearInterval(tick);
      resolve();
    }
  }, 200);
});
clearInterval(changer);
// Our clients are done; the peers' connections to us may still run: serve on until the
// driver, having seen every side done, sends SIGTERM.
process.stdout.write('clients-done\n');
const stop = () => {
  clearInterval(sampler);
  line('final');
  server.close();
  if (stack) stack.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => {}, 1 << 30);
