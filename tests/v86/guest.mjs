// guest.mjs: a real emulated guest on wtcp: v86 (npm) boots Debian's i386 kernel with a
// busybox initramfs (build-guest.sh) in Node, its virtio NIC wired to a stack's guest LAN
// by wtcp/v86, the stack's link being wtcp-relay. The guest is driven by typing into its
// serial console. Used by tests/v86/test.sh and bench/v86-download.sh.
//
// Usage: node guest.mjs RELAY_URL GUEST_DIR SHA256 [--adapter wtcp|fetch] [--runs N]
//   GUEST_DIR holds bzImage and initrd.gz; the first run boots and saves GUEST_DIR/state.bin
//   (the guest at its shell prompt, before any network), later runs restore it.
//   SHA256 is that of http://10.77.0.1:8000/data.bin (the relay's host, through NAT).
//   --adapter fetch: v86's own network (its fetch adapter, port 80 only: the file is then
//   fetched from http://10.77.0.1/data.bin) for the side-by-side benchmark; only the
//   download runs. --sink null: the guest writes the download to /dev/null (no sha256).
//   --mtu N: the MTU of the guest LAN and of the guest's virtio NIC (default 1500).
//   --adapter wtcp-wisp: wtcp over a Wisp server (--wisp URL, default ws://127.0.0.1:5001/)
//   instead of the relay; v86-wisp: v86's own wisp adapter on the same server. Both fetch
//   http://10.88.0.1:8000/data.bin.
// Prints "ok ..." / "FAIL ..." per check, "figure: ..." lines and "N passed, N failed".

import { readFile, writeFile, access } from 'node:fs/promises';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { connectV86 } from '../../bindings/js/lib/v86.node.js';
import { createServer } from '../../bindings/js/lib/node.js';

const args = process.argv.slice(2);
const [url, dir, sha] = args;
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const adapter = flag('--adapter', 'wtcp'); // wtcp (relay), wtcp-wisp, fetch or v86-wisp (v86's own)
const wispUrl = flag('--wisp', 'ws://127.0.0.1:5001/');
const runs = Number(flag('--runs', '1'));
const sink = flag('--sink', 'sha256sum'); // null: wget -O /dev/null (no hashing in the guest)
const mtu = Number(flag('--mtu', '1500')); // the guest LAN's and the virtio NIC's MTU
if (!sha) {
  process.stderr.write('usage: node guest.mjs RELAY_URL GUEST_DIR SHA256 [--adapter wtcp|fetch] [--runs N]\n');
  process.exit(2);
}
const v86dir = fileURLToPath(new URL('../../bindings/js/node_modules/v86/build/', import.meta.url));
if (adapter === 'v86-wisp' && !globalThis.WebSocket) {
  // v86's wisp adapter wants a global WebSocket (Node 20 has none): the package's own `ws`.
  globalThis.WebSocket = (await import('../../bindings/js/node_modules/ws/wrapper.mjs')).WebSocket;
}
const { V86 } = await import(v86dir + 'libv86.mjs');

let passed = 0;
let failed = 0;
const ok = (what) => {
  console.log(`ok   ${what}`);
  passed++;
};
const bad = (what, why) => {
  console.log(`FAIL ${what}: ${why}`);
  failed++;
};
const finish = (emulator) => {
  console.log(`${passed} passed, ${failed} failed`);
  emulator?.destroy?.();
  process.exit(failed ? 1 : 0);
};

const buffer = async (path) => ({ buffer: (await readFile(path)).buffer });
const statePath = `${dir}/state.bin`;
const haveState = await access(statePath).then(
  () => true,
  () => false,
);
const options = {
  wasm_path: v86dir + 'v86.wasm',
  memory_size: 256 << 20,
  vga_memory_size: 2 << 20,
  bios: await buffer('/usr/share/seabios/bios.bin'),
  vga_bios: await buffer('/usr/share/seabios/vgabios-stdvga.bin'),
  bzimage: await buffer(`${dir}/bzImage`),
  initrd: await buffer(`${dir}/initrd.gz`),
  cmdline: 'console=ttyS0 quiet',
  autostart: true,
  disable_keyboard: true,
  disable_mouse: true,
  disable_speaker: true,
  net_device:
    adapter === 'fetch'
      ? { type: 'virtio', relay_url: 'fetch', mtu }
      : adapter === 'v86-wisp'
        ? { type: 'virtio', relay_url: wispUrl.replace(/^ws/, 'wisp'), dns_method: 'static', mtu }
        : { type: 'virtio', mtu },
};
if (haveState) options.initial_state = await buffer(statePath);
const emulator = new V86(options);

let serial = '';
emulator.add_listener('serial0-output-byte', (b) => {
  serial += String.fromCharCode(b);
  if (serial.length > 1 << 20) serial = serial.slice(-(1 << 19));
});
const waitFor = (re, ms, from = 0) =>
  new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      const m = re.exec(serial.slice(from));
      if (m) return resolve(m);
      if (Date.now() - t0 > ms) return reject(new Error(`no ${re} on the serial console within ${ms} ms; last: ${JSON.stringify(serial.slice(-300))}`));
      setTimeout(tick, 20);
    };
    tick();
  });
let step = 0;
/** Types cmd at the guest's shell; resolves with its output and exit status. */
async function run(cmd, ms = 30000) {
  step++;
  const from = serial.length;
  emulator.serial0_send(`${cmd}; echo __DONE_$((${step}+0)) $?\n`);
  const m = await waitFor(new RegExp(`__DONE_${step} (\\d+)`), ms, from);
  const text = serial.slice(from, from + m.index);
  return { status: Number(m[1]), text };
}

await new Promise((resolve) => emulator.add_listener('emulator-loaded', resolve));
const t0 = Date.now();
try {
  if (!haveState) {
    await waitFor(/GUEST-READY/, 90000);
    await waitFor(/ # (\x1b\[6n)?$/, 10000);
    await writeFile(statePath, new Uint8Array(await emulator.save_state()));
    console.log(`figure: the guest booted in ${((Date.now() - t0) / 1000).toFixed(1)} s; state saved to ${statePath}`);
  } else {
    emulator.serial0_send('\n');
    await waitFor(/ # (\x1b\[6n)?$/, 10000);
    console.log(`figure: the guest resumed from its saved state in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
} catch (err) {
  bad('guest boot', err.message);
  finish(emulator);
}

let stack = null;
let lan = null;
if (adapter === 'wtcp-wisp') {
  ({ stack, lan } = await connectV86(emulator, { wisp: wispUrl, dns: '10.88.0.1', mtu }));
} else if (adapter === 'wtcp') {
  ({ stack, lan } = await connectV86(emulator, {
    relay: url,
    mtu,
    forwards: [{ protocol: 'tcp', port: 8023, to: '10.0.2.15:80' }],
  }));
  const pages = http.createServer((req, res) => res.end('hello from the gateway\n'));
  createServer({ stack }, (socket) => pages.emit('connection', socket)).listen(8080, '10.0.2.2');
}

try {
  let r = await run('ip link set eth0 up && udhcpc -i eth0 -n -q -t 5 -T 2 -O mtu -s /usr/share/udhcpc/default.script', 30000);
  const lease = /lease: bound (ip=\S+ router=\S+ dns=\S*)/.exec(r.text);
  if (r.status === 0 && lease) ok(`the guest got a lease: ${lease[1]}`);
  else throw new Error(`udhcpc: ${JSON.stringify(r.text.slice(-300))}`);
  if (adapter === 'wtcp') {
    r = await run('ping -c 2 10.0.2.2');
    if (r.status === 0 && /2 packets received/.test(r.text)) ok(`the guest pings the gateway: ${/round-trip.*/.exec(r.text)?.[0] ?? ''}`);
    else bad('ping', JSON.stringify(r.text.slice(-200)));
    r = await run('wget -q -O - http://10.0.2.2:8080/');
    if (r.status === 0 && r.text.includes('hello from the gateway')) ok('the guest fetches a page from Node http on the gateway (10.0.2.2:8080)');
    else bad('page from the gateway', JSON.stringify(r.text.slice(-200)));
  }
  const src =
    adapter === 'fetch'
      ? 'http://10.77.0.1/data.bin'
      : adapter.endsWith('wisp')
        ? 'http://10.88.0.1:8000/data.bin'
        : 'http://10.77.0.1:8000/data.bin';
  const rates = [];
  for (let i = 0; i < runs; i++) {
    const t = Date.now();
    r = await run(sink === 'null' ? `wget -q -O /dev/null ${src}` : `wget -q -O - ${src} | sha256sum`, 600000);
    const ms = Date.now() - t;
    if (r.status === 0 && (sink === 'null' || r.text.includes(sha))) {
      rates.push(ms);
      const via = { fetch: "v86's fetch adapter", 'v86-wisp': "v86's wisp adapter", 'wtcp-wisp': 'wtcp over Wisp', wtcp: 'wtcp (NAT)' }[adapter];
      if (i === runs - 1) ok(`the guest downloads ${src} through ${via}${sink === 'null' ? '' : ', sha256 printed on the serial console matches'}`);
    } else {
      bad('download', `sha256 ${JSON.stringify(r.text.slice(-200))}`);
      break;
    }
  }
  if (rates.length) console.log(`figure: download ms ${rates.join(' ')}`);
  if (adapter === 'wtcp-wisp') {
    r = await run('nslookup far.test');
    if (r.status === 0 && /Address:?\s+10\.88\.0\.1/.test(r.text.split('far.test').slice(1).join(''))) ok('far.test resolves through a Wisp UDP stream (the lease names 10.88.0.1)');
    else bad('DNS over Wisp', JSON.stringify(r.text.slice(-300)));
    r = await run('wget -q -O - http://10.88.0.1:8999/');
    if (r.status !== 0 && /refused/i.test(r.text)) ok('a closed port beyond the Wisp server: the guest\'s wget says the connection was refused');
    else bad('refused over Wisp', JSON.stringify(r.text.slice(-200)));
  }
  if (adapter === 'wtcp') {
    r = await run('nslookup relayhost.test');
    if (r.status === 0 && /Address:?\s+10\.77\.0\.1/.test(r.text.split('relayhost.test').slice(1).join(''))) ok('relayhost.test resolves through the gateway\'s DNS');
    else bad('DNS', JSON.stringify(r.text.slice(-300)));
    r = await run('httpd -p 80 -h /www');
    const body = await new Promise((resolve) => {
      http
        .get(`http://${stack.address}:8023/guest.txt`, (res) => {
          let s = '';
          res.on('data', (d) => (s += d));
          res.on('end', () => resolve(s));
        })
        .on('error', (err) => resolve(`error ${err.message}`));
    });
    if (body.trim() === 'a page inside the v86 guest') ok(`the relay's host reaches the guest's httpd through the port forward ${stack.address}:8023`);
    else bad('port forward', JSON.stringify(body));
    const s = stack.stats();
    console.log(`figure: gateway counters: ethIn ${s.ethIn}, ethOut ${s.ethOut}, dhcpIn ${s.dhcpIn}, natOut ${s.natOut}, natIn ${s.natIn}, drops ${s.drops} (${Object.entries(s.dropReasons).map(([k, v]) => `${k}: ${v}`).join('; ')})`);
    void lan;
  }
} catch (err) {
  bad('guest', err.message);
}
stack?.close();
finish(emulator);
