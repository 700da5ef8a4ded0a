// v86.js: the demo's emulator page: v86 boots a small Linux guest (tests/v86/build-guest.sh)
// in this tab; wtcp/v86 puts its network card on a guest LAN of this tab's stack, whose link
// is the relay. The buttons type commands into the guest's serial console: udhcpc gets a
// lease from wtcp, wget fetches a page from the relay's host through wtcp's NAT.
//   ?relay=ws://HOST:PORT/   the relay (default ws://<this host>:8787/)
//   ?wisp=ws://HOST:PORT/    a Wisp server instead: no relay (&dns=ADDR: the guests' resolver,
//                            reached through Wisp UDP streams)
//   ?url=http://ADDR:PORT/P  what "wget" fetches (default the demo's page on the relay's host)
//   ?auto=1                  get a lease and fetch at once (the demo's test uses it)

import { connectV86 } from '/wtcp/lib/v86.browser.js';
import { V86 } from '/v86/libv86.mjs';

const params = new URLSearchParams(location.search);
const relay = params.get('relay') || `ws://${location.hostname || '127.0.0.1'}:8787/`;
const fetchUrl = params.get('url') || 'http://10.77.0.1:8081/v86-hello.txt'; // serve.mjs on the relay's address
const $ = (id) => document.getElementById(id);
const banner = (kind, text) => {
  $('banner').className = `banner ${kind}`;
  $('banner-text').textContent = text;
};

const asset = async (path) => ({ buffer: await (await fetch(path)).arrayBuffer() });
let serial = '';
const out = $('console');
const waitFor = (re, ms, from = 0) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const tick = () => {
      const m = re.exec(serial.slice(from));
      if (m) return resolve(m);
      if (performance.now() - t0 > ms) return reject(new Error(`timed out waiting for ${re}`));
      setTimeout(tick, 50);
    };
    tick();
  });
let step = 0;
async function run(emulator, cmd, ms = 60000) {
  step++;
  const from = serial.length;
  emulator.serial0_send(`${cmd}; echo __DONE_$((${step}+0)) $?\n`);
  const m = await waitFor(new RegExp(`__DONE_${step} (\\d+)`), ms, from);
  return { status: Number(m[1]), text: serial.slice(from, from + m.index) };
}

async function main() {
  const state = await fetch('/guest/state.bin').then((r) => (r.ok ? r.arrayBuffer() : null));
  const emulator = new V86({
    wasm_path: '/v86/v86.wasm',
    memory_size: 256 << 20,
    vga_memory_size: 2 << 20,
    bios: await asset('/seabios/bios.bin'),
    vga_bios: await asset('/seabios/vgabios-stdvga.bin'),
    bzimage: await asset('/guest/bzImage'),
    initrd: await asset('/guest/initrd.gz'),
    initial_state: state ? { buffer: state } : undefined,
    cmdline: 'console=ttyS0 quiet',
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
    net_device: { type: 'virtio' },
  });
  const loaded = new Promise((resolve) => emulator.add_listener('emulator-loaded', resolve));
  let escape = false; // inside a terminal escape sequence (ESC [ ... letter): not shown
  emulator.add_listener('serial0-output-byte', (b) => {
    const c = String.fromCharCode(b);
    serial += c;
    if (b === 0x1b) escape = true;
    else if (escape) escape = !/[A-Za-z]/.test(c);
    else if (c !== '\r') out.textContent += c;
    if (out.textContent.length > 20000) out.textContent = out.textContent.slice(-15000);
    out.scrollTop = out.scrollHeight;
  });
  const wisp = params.get('wisp');
  banner('connecting', wisp ? `connecting to the Wisp server ${wisp}…` : `connecting to the relay ${relay}…`);
  const { stack, lan } = await connectV86(emulator, wisp ? { wisp, dns: params.get('dns') || false } : { relay });
  $('stack').textContent = wisp
    ? `over Wisp ${wisp} (guest LAN ${lan.address}/${lan.prefix}, MAC ${lan.mac})`
    : `relay ${relay}, address ${stack.address} (guest LAN ${lan.address}/${lan.prefix}, MAC ${lan.mac})`;
  setInterval(() => {
    const s = lan.stats();
    $('frames').textContent = `${s.framesIn} / ${s.framesOut}`;
  }, 500);
  banner('connecting', state ? 'resuming the guest…' : 'booting the guest (about 20 s)…');
  await loaded;
  if (state) emulator.serial0_send('\n'); // the saved guest waits at its prompt: redraw it
  await waitFor(/ # (\x1b\[6n)?$/, 120000);
  banner('ok', 'the guest is up: get a lease, then fetch');
  const dhcp = async () => {
    const r = await run(emulator, 'ip link set eth0 up && udhcpc -i eth0 -n -q -t 5 -T 2 -s /usr/share/udhcpc/default.script');
    const m = /lease: bound (ip=\S+ router=\S+)/.exec(r.text);
    $('lease').textContent = m ? m[1] : `no lease (${r.status})`;
    return !!m;
  };
  const get = async () => {
    const r = await run(emulator, `wget -q -O - ${fetchUrl}`);
    $('fetched').textContent = r.status === 0 ? r.text.split('\n').slice(1).join(' ').trim() : `wget failed (${r.status})`;
    if (r.status === 0) banner('ok', 'the guest has its lease from wtcp and reached the relay\'s host');
  };
  $('dhcp').disabled = $('fetch').disabled = $('line').disabled = false;
  $('dhcp').onclick = dhcp;
  $('fetch').onclick = get;
  $('typer').onsubmit = (ev) => {
    ev.preventDefault();
    emulator.serial0_send($('line').value + '\n');
    $('line').value = '';
  };
  if (params.get('auto') === '1' && (await dhcp())) await get();
}

main().catch((err) => banner('error', String(err?.message ?? err)));
