#!/usr/bin/env node
// services.mjs: TCP services on the relay's side for the wtcp web demo.
//   node web/services.mjs [--host ADDR]      (default 10.77.0.1)
//   echo   port 7:  sends back what it receives
//   sink   port 9:  counts bytes; when the client half-closes, replies with the count
//   source port 19: reads one line with a decimal byte count N (<= 1 GiB), sends N bytes, ends

import net from 'node:net';

let host = '10.77.0.1';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--host' && i + 1 < argv.length) host = argv[++i];
  else if (argv[i].startsWith('--host=')) host = argv[i].slice(7);
  else {
    process.stderr.write('usage: services.mjs [--host ADDR]   (default 10.77.0.1)\n');
    process.exit(argv[i] === '-h' || argv[i] === '--help' ? 0 : 2);
  }
}

const MAX_SOURCE = 1 << 30;
const CHUNK = Buffer.alloc(64 * 1024, 'wtcp source '); // a repeating pattern

function echo(sock) {
  sock.pipe(sock);
}

function sink(sock) {
  let count = 0;
  sock.on('data', (d) => (count += d.length));
  sock.on('end', () => sock.end(`${count}\n`));
}

function source(sock) {
  let line = '';
  const onData = (d) => {
    line += d.toString('latin1');
    const nl = line.indexOf('\n');
    if (nl < 0) {
      if (line.length > 32) sock.end('error: expected a decimal byte count and a newline\n');
      return;
    }
    sock.off('data', onData);
    sock.resume(); // discard anything else
    const text = line.slice(0, nl).trim();
    const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
    if (!(n <= MAX_SOURCE)) return sock.end(`error: byte count must be 0..${MAX_SOURCE}\n`);
    let left = n;
    const pump = () => {
      while (left > 0) {
        const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= piece.length;
        if (!sock.write(piece)) return sock.once('drain', pump);
      }
      sock.end();
    };
    pump();
  };
  sock.on('data', onData);
}

const services = [
  [7, echo],
  [9, sink],
  [19, source],
];
let started = 0;
for (const [port, handle] of services) {
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sock.on('error', () => {}); // resets from clients are routine
    handle(sock);
  });
  server.on('error', (err) => {
    console.error(`services.mjs: port ${port}: ${err.message}`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    if (++started === services.length) console.log(`services on ${host}: echo 7, sink 9, source 19`);
  });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
