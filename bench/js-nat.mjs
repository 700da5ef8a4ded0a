// js-nat.mjs: NAT forwarding rate of the npm package (the core in wasm, in Node): a stack
// with an address of its own (its packets counted) and a guest LAN (stack.addGuestLan, NAT
// on; its frames counted), fed UDP datagrams of 64 flows as Ethernet frames (outward:
// lan.input) and their answers as IP packets (inward: stack.input), 1,000 per turn of the
// event loop. Prints a table beside bench/nat.c's native one (bench/lan.sh runs both).
//
// Usage: node bench/js-nat.mjs [PACKETS=500000]

import { createStack } from '../bindings/js/lib/index.node.js';

const packets = Number(process.argv[2] ?? 500000);
const FLOWS = 64;
const GW_MAC = [0x02, 0, 0, 0, 0, 0x0a];
const GUEST_MAC = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
const ip4 = (s) => s.split('.').map(Number);
const sum16 = (b, off, len, acc = 0) => {
  for (let i = 0; i < len - 1; i += 2) acc += (b[off + i] << 8) | b[off + i + 1];
  if (len & 1) acc += b[off + len - 1] << 8;
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
};
/** An IPv4/UDP packet into b at off; returns its length. */
function udp(b, off, src, sport, dst, dport, n) {
  const len = 28 + n;
  b.fill(0x78, off + 28, off + len);
  b.set([0x45, 0, len >> 8, len & 255, 0, 0, 0x40, 0, 64, 17, 0, 0, ...ip4(src), ...ip4(dst)], off);
  const h = ~sum16(b, off, 20) & 0xffff;
  b[off + 10] = h >> 8;
  b[off + 11] = h & 255;
  const u = off + 20;
  b.set([sport >> 8, sport & 255, dport >> 8, dport & 255, (8 + n) >> 8, (8 + n) & 255, 0, 0], u);
  let acc = sum16(b, off + 12, 8) + 17 + 8 + n;
  const c = ~sum16(b, u, 8 + n, acc) & 0xffff || 0xffff;
  b[u + 6] = c >> 8;
  b[u + 7] = c & 255;
  return len;
}

const stack = await createStack({ address: '10.77.0.2', prefix: 16, gateway: '10.77.0.1' });
const ports = new Array(FLOWS).fill(0);
let up = 0;
stack.onpacket = (p) => {
  up++;
  if (p.length >= 28) ports[(((p[22] << 8) | p[23]) - 9000) % FLOWS] = (p[20] << 8) | p[21];
};
const lan = stack.addGuestLan({ address: '10.0.2.2/24', mac: '02:00:00:00:00:0a', dhcp: false, dns: false });
let down = 0;
lan.onframe = () => down++;
const arp = new Uint8Array(60);
arp.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...GUEST_MAC, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, ...GUEST_MAC, ...ip4('10.0.2.15'), 0, 0, 0, 0, 0, 0, ...ip4('10.0.2.2')]);
lan.input(arp);
const turn = () => new Promise((r) => setImmediate(r));
await turn();

console.log(`NAT forwarding, wasm in Node ${process.version} (npm package, ${packets} packets per row, ${FLOWS} UDP flows)`);
console.log(`${'direction'.padEnd(10)} ${'packet'.padEnd(9)} ${'Mpps'.padStart(12)} ${'Gbit/s'.padStart(12)}`);
for (const n of [18, 1472]) {
  const frames = [];
  for (let f = 0; f < FLOWS; f++) {
    const b = new Uint8Array(14 + 28 + n);
    b.set([...GW_MAC, ...GUEST_MAC, 0x08, 0x00]);
    udp(b, 14, '10.0.2.15', 5000 + f, '192.0.2.1', 9000 + f, n);
    frames.push(b);
    lan.input(b);
  }
  await turn();
  const answers = ports.map((port, f) => {
    const b = new Uint8Array(28 + n);
    udp(b, 0, '192.0.2.1', 9000 + f, '10.77.0.2', port, n);
    return b;
  });
  for (const [dir, feed] of [
    ['out', (i) => lan.input(frames[i % FLOWS])],
    ['in', (i) => stack.input(answers[i % FLOWS])],
  ]) {
    const c0 = dir === 'out' ? up : down;
    const t0 = performance.now();
    for (let i = 0; i < packets; ) {
      const end = Math.min(packets, i + 1000);
      for (; i < end; i++) feed(i);
      await turn();
    }
    const s = (performance.now() - t0) / 1000;
    const moved = (dir === 'out' ? up : down) - c0;
    console.log(`${dir.padEnd(10)} ${String(28 + n).padEnd(9)} ${(moved / s / 1e6).toFixed(2).padStart(12)} ${((moved * (28 + n) * 8) / s / 1e9).toFixed(2).padStart(12)}`);
  }
}
const st = stack.stats();
console.log(`(flows ${st.natFlows}, drops ${st.drops}${st.drops ? ": " + JSON.stringify(st.dropReasons) : ""})`);
stack.close();
