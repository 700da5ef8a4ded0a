// wasm.js: loading wtcp.wasm, and the boundary with it. Every byte that moves between
// JavaScript and wasm memory moves here, and only once per direction: a packet or a
// chunk to send is copied into the wasm scratch buffer (the core then reads it in
// place), and a packet or a chunk received is copied out with one slice(). Between two
// instances (pair()) a whole batch of packets moves with one copy from one memory into
// the other's inbox, and no JavaScript object is made per packet.
//
// Calls into wasm cost more than the work of a small packet, so the state of the queues
// (src/wtcp_js.c, enum wjs_io) is read and written in place through the io block, and
// the pointers it holds are used without asking again.
//
// wtcp.wasm is built with Emscripten as a standalone module (see js.mk): no generated
// JavaScript glue, so the same loader runs in Node, browsers and bundlers. Each stack
// gets its own instance of the one compiled module, so closing a stack gives all of
// its memory back to the garbage collector.

import { WtcpError } from './errors.js';

let defaultSource = null;
let defaultModule = null;

// Received chunks are fresh Uint8Arrays. slice() zero-fills its new buffer before copying
// into it; where the host can allocate without zeroing (Node: Buffer.allocUnsafeSlow),
// large chunks skip that pass.
const UNZEROED_MIN = 4096;
let allocUnzeroed = null;

/** Set by index.node.js: n bytes of a fresh, exactly sized ArrayBuffer, not zeroed. */
export function setUnzeroedAllocator(alloc) {
  allocUnzeroed = alloc;
}

/** Set by the entry modules (index.node.js, index.browser.js): how to fetch the .wasm. */
export function setDefaultWasmSource(load) {
  defaultSource = load;
}

/** Compiles a user-given source: a WebAssembly.Module, bytes, a URL or a Response. */
async function compileFrom(source) {
  source = await source;
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
  if (typeof Response !== 'undefined' && source instanceof Response) return compileResponse(source);
  if (typeof source === 'string' || source instanceof URL) return compileResponse(fetch(source));
  throw new WtcpError('EINVAL', 'options.wasm must be a WebAssembly.Module, bytes, a URL or a Response');
}

/** Compiles a fetch() response, streaming when the server sends application/wasm. */
export async function compileResponse(response) {
  response = await response;
  if (!response.ok) throw new WtcpError('EIO', `cannot load wtcp.wasm: HTTP ${response.status}`);
  if (WebAssembly.compileStreaming && response.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

function compileDefault() {
  if (!defaultSource) throw new WtcpError('EINVAL', 'no wtcp.wasm source: import the package through its entry point');
  defaultModule ??= defaultSource().catch((err) => {
    defaultModule = null;
    throw new WtcpError('EIO', `cannot load wtcp.wasm: ${err?.message ?? err}`, { cause: err });
  });
  return defaultModule;
}

/** A fresh core instance (one per stack). */
export async function instantiateCore(source) {
  const module = await (source === undefined ? compileDefault() : compileFrom(source));
  const instance = await WebAssembly.instantiate(module, importsFor(module));
  const core = new Core(instance.exports);
  learnTables(core);
  return core;
}

// The module imports almost nothing (it never does I/O): the memory-growth notice of
// standalone Emscripten builds, and, depending on the Emscripten release, a WASI stub
// or two that the core never reaches.
function importsFor(module) {
  const imports = {};
  for (const { module: ns, name, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== 'function') throw new WtcpError('EINVAL', `wtcp.wasm wants an unexpected import ${ns}.${name}`);
    imports[ns] ??= {};
    imports[ns][name] =
      name === 'emscripten_notify_memory_growth'
        ? () => {}
        : () => {
            throw new WtcpError('EPROTO', `wtcp.wasm called ${ns}.${name}, which this host does not provide`);
          };
  }
  return imports;
}

const DEFAULT = 0xffffffff;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SHUT_RD = 1;
export const SHUT_WR = 2;
// wtcp.h's tables, read from the first wasm instance (the core describes them once:
// WTCP_SOCKOPT_MAP, WTCP_EVENT_MAP, the state names, WJS_INFO and the congestion names in
// bindings/js/src/wtcp_js.c): SO.TCP_NODELAY, EV.READABLE, STATES[4] === 'ESTABLISHED',
// INFO_FIELDS[i] names info() field i, CONGESTION.cubic === 1.
export const SO = {};
export const EV = {};
export const STATES = [];
export const INFO_FIELDS = [];
export const CONGESTION = {};

function learnTables(core) {
  if (INFO_FIELDS.length) return;
  const x = core._exports;
  const names = (fn) => {
    const out = [];
    for (let i = 0, p; (p = fn(i)) !== 0; i++) out.push(core.cString(p));
    return out;
  };
  names(x.wjs_sockopt_name).forEach((n, i) => (SO[n] = x.wjs_sockopt_value(i)));
  names(x.wjs_event_name).forEach((n, i) => (EV[n] = x.wjs_event_bit(i)));
  STATES.push(...names(x.wjs_state_name));
  INFO_FIELDS.push(...names(x.wjs_info_name));
  for (let cc = 1, p; (p = x.wtcp_congestion_name(cc)) !== 0; cc++) CONGESTION[core.cString(p)] = cc;
  for (const t of [SO, EV, STATES, INFO_FIELDS, CONGESTION]) Object.freeze(t);
}

// Slots of the io block (src/wtcp_js.c, enum wjs_io), and its event block's size.
const OUT_PTR = 0;
const OUT_LEN = 1;
const IN_PTR = 3;
const IN_LEN = 4;
const IN_CAP = 5;
const SCRATCH_PTR = 6;
const SCRATCH_CAP = 7;
const EVENTS = 8;
const FRAMES_PTR = 9;
const FRAMES_LEN = 10;
const MAX_EVENTS = 256;

/** One instance of wtcp.wasm holding one stack. Methods return the core's results. */
export class Core {
  #x;
  #ctx = 0;
  #st = 0;
  #buf = null;
  #u8 = null;
  #u32 = null;
  #i32 = null;
  #f64 = null;
  #io = 0; // u32 index of the io block
  #ev = 0; // i32 index of the event block
  #events = new Int32Array(2 * MAX_EVENTS); // events being dispatched (memory may grow meanwhile)

  constructor(exports) {
    this.#x = exports;
    exports._initialize?.();
    this.#views();
  }

  // Views are remade when memory grew: growth detaches the old ArrayBuffer, so a view of
  // length 0 is the sign (cheaper to test than asking memory.buffer each time).
  #views() {
    if (this.#u8 !== null && this.#u8.length !== 0) return;
    const buf = this.#x.memory.buffer;
    if (buf !== this.#buf) {
      this.#buf = buf;
      this.#u8 = new Uint8Array(buf);
      this.#u32 = new Uint32Array(buf);
      this.#i32 = new Int32Array(buf);
      this.#f64 = new Float64Array(buf);
    }
  }

  /** @internal The instance's exports (learnTables reads the core's tables through them). */
  get _exports() {
    return this.#x;
  }

  /** Creates the stack; `config` maps OPT names to numbers (missing: the core's default). */
  create(config, isnKey) {
    const x = this.#x;
    // The option slots come from the core (wjs_opt_name): one definition, in wtcp_js.c.
    const slot = {};
    for (let i = 0, name; (name = x.wjs_opt_name(i)) !== 0; i++) slot[this.cString(name)] = i;
    const count = x.wjs_opt_count();
    const p = x.malloc(count * 4);
    if (!p) return -4;
    this.#views();
    const slots = this.#u32.subarray(p >>> 2, (p >>> 2) + count);
    slots.fill(DEFAULT);
    for (const [name, value] of Object.entries(config)) {
      if (value === undefined) continue;
      if (!(name in slot)) throw new WtcpError('EINVAL', `wtcp.wasm has no option ${name}`);
      slots[slot[name]] = value;
    }
    this.#u8.set(isnKey.subarray(0, 16), p + slot.isnKey * 4); // copied as bytes, as the C side reads it
    const ctx = x.wjs_create(p);
    x.free(p);
    if (ctx < 0) return ctx;
    this.#ctx = ctx;
    this.#st = x.wjs_stack(ctx);
    this.#io = x.wjs_io_ptr(ctx) >>> 2;
    this.#ev = x.wjs_events_ptr(ctx) >>> 2;
    return 0;
  }

  destroy() {
    if (this.#ctx) this.#x.wjs_free(this.#ctx);
    this.#ctx = 0;
  }

  /** Copies `bytes` into the scratch buffer (the one copy into wasm); false on no memory. */
  #copyIn(bytes) {
    const n = bytes.length;
    this.#views();
    let p = this.#u32[this.#io + SCRATCH_PTR];
    if (n > this.#u32[this.#io + SCRATCH_CAP]) {
      p = this.#x.wjs_scratch(this.#ctx, n);
      if (!p) return n === 0;
      this.#views();
    }
    this.#u8.set(bytes, p);
    return true;
  }

  /** The one copy out of wasm: n bytes of the scratch. */
  #copyOut(n) {
    this.#views();
    const p = this.#u32[this.#io + SCRATCH_PTR];
    if (n < UNZEROED_MIN || allocUnzeroed === null) return this.#u8.slice(p, p + n);
    const out = allocUnzeroed(n);
    out.set(this.#u8.subarray(p, p + n));
    return out;
  }

  input(now, packet) {
    if (!this.#copyIn(packet)) return -4;
    return this.#x.wjs_input(this.#ctx, now, packet.length);
  }

  poll(now) {
    return this.#x.wjs_poll(this.#ctx, now);
  }

  /** wtcp_poll, and the events gathered for takeEvents(); returns the deadline. */
  pump(now) {
    return this.#x.wjs_pump(this.#ctx, now);
  }

  /** Takes the packets the core sent since the last call, each copied out once. */
  takeOutput() {
    this.#views();
    const u32 = this.#u32;
    const len = u32[this.#io + OUT_LEN];
    if (len === 0) return null;
    const base = u32[this.#io + OUT_PTR];
    const packets = [];
    for (let off = 0; off < len; ) {
      const n = u32[(base + off) >>> 2];
      packets.push(this.#u8.slice(base + off + 4, base + off + 4 + n));
      off += 4 + ((n + 3) & ~3);
    }
    u32[this.#io + OUT_LEN] = 0;
    return packets;
  }

  /** The bytes of output records waiting (0: none), or -1 when one of them is for addr
   * (loopback: the caller must take them with takeOutput()). Leaves the views fresh. */
  #outputFor(addr) {
    this.#views();
    const u8 = this.#u8;
    const u32 = this.#u32;
    const len = u32[this.#io + OUT_LEN];
    const base = u32[this.#io + OUT_PTR];
    for (let off = 0; off < len; ) {
      const at = base + off;
      const dst = ((u8[at + 20] << 24) | (u8[at + 21] << 16) | (u8[at + 22] << 8) | u8[at + 23]) >>> 0;
      if (dst === addr) return -1;
      off += 4 + ((u32[at >>> 2] + 3) & ~3);
    }
    return len;
  }

  /** Hands each packet the core sent to fn(memory, start, length) (a view of wasm memory,
   * valid only during the call: copy what you keep), then forgets them. Returns the bytes
   * they took (0: none), or -1 without calling fn when one of them is for `selfAddr`
   * (loopback needs takeOutput()). */
  forEachOutput(selfAddr, fn) {
    const len = this.#outputFor(selfAddr);
    if (len <= 0) return len;
    const u8 = this.#u8;
    const u32 = this.#u32;
    const base = u32[this.#io + OUT_PTR];
    for (let off = 0; off < len; ) {
      const n = u32[(base + off) >>> 2];
      fn(u8, base + off + 4, n);
      off += 4 + ((n + 3) & ~3);
    }
    u32[this.#io + OUT_LEN] = 0;
    return len;
  }

  /** Moves the packets the core sent into `dest`'s inbox, with one copy and no object
   * per packet. Returns the bytes moved (0: there were none); -1 when one of them is for
   * `selfAddr` (nothing moved: loopback needs takeOutput()); -2 when dest had no memory
   * for them (they are dropped, as by a full link). */
  moveOutput(dest, selfAddr) {
    const len = this.#outputFor(selfAddr);
    if (len <= 0) return len;
    const u32 = this.#u32;
    const base = u32[this.#io + OUT_PTR];
    const moved = dest._appendRecords(this.#u8.subarray(base, base + len));
    u32[this.#io + OUT_LEN] = 0;
    return moved ? len : -2;
  }

  /** @internal Appends records ([u32 length][packet][padding]) to the inbox. */
  _appendRecords(records) {
    const n = records.length;
    this.#views();
    if (this.#u32[this.#io + IN_LEN] + n > this.#u32[this.#io + IN_CAP]) {
      if (!this.#x.wjs_inbox_room(this.#ctx, n)) return false;
      this.#views();
    }
    const u32 = this.#u32;
    this.#u8.set(records, u32[this.#io + IN_PTR] + u32[this.#io + IN_LEN]);
    u32[this.#io + IN_LEN] += n;
    return true;
  }

  /** Appends one packet to the inbox; false when there is no memory for it. */
  queueInput(packet) {
    const n = packet.length;
    const need = 4 + ((n + 3) & ~3);
    this.#views();
    if (this.#u32[this.#io + IN_LEN] + need > this.#u32[this.#io + IN_CAP]) {
      if (!this.#x.wjs_inbox_room(this.#ctx, need)) return false;
      this.#views();
    }
    const u32 = this.#u32;
    const at = u32[this.#io + IN_PTR] + u32[this.#io + IN_LEN];
    u32[at >>> 2] = n;
    this.#u8.set(packet, at + 4);
    u32[this.#io + IN_LEN] += need;
    return true;
  }

  /** Feeds the inbox to the core (one call); returns how many packets. */
  inputQueued(now) {
    return this.#x.wjs_input_batch(this.#ctx, now);
  }

  /** Calls fn(sock, bits) for every pending event (those pump() gathered, then more). */
  takeEvents(fn) {
    const ev = this.#events;
    this.#views();
    let n = this.#u32[this.#io + EVENTS];
    while (n > 0) {
      this.#u32[this.#io + EVENTS] = 0;
      const i32 = this.#i32;
      const base = this.#ev;
      for (let i = 0; i < 2 * n; i++) ev[i] = i32[base + i];
      for (let i = 0; i < n; i++) fn(ev[2 * i], ev[2 * i + 1]);
      if (n < MAX_EVENTS || !this.#ctx) return; // (a handler may have closed the stack)
      n = this.#x.wjs_events(this.#ctx);
      this.#views();
    }
  }

  #tmp(i) {
    const p = this.#x.wjs_tmp(this.#ctx);
    this.#views();
    return this.#u32[(p >>> 2) + i];
  }

  socket(type) {
    return this.#x.wtcp_socket(this.#st, type);
  }
  bind(s, addr, port) {
    return this.#x.wtcp_bind(this.#st, s, addr, port);
  }
  listen(s, backlog) {
    return this.#x.wtcp_listen(this.#st, s, backlog);
  }
  connect(s, addr, port) {
    return this.#x.wtcp_connect(this.#st, s, addr, port);
  }
  shutdown(s, how) {
    return this.#x.wtcp_shutdown(this.#st, s, how);
  }
  close(s) {
    return this.#x.wtcp_close(this.#st, s);
  }
  abort(s) {
    return this.#x.wtcp_abort(this.#st, s);
  }
  setsockopt(s, opt, value) {
    return this.#x.wtcp_setsockopt(this.#st, s, opt, value);
  }
  getsockopt(s, opt) {
    const r = this.#x.wjs_getsockopt(this.#ctx, s, opt);
    return r < 0 ? r : this.#tmp(0) | 0;
  }
  readable(s) {
    return this.#x.wtcp_readable(this.#st, s);
  }
  writable(s) {
    return this.#x.wtcp_writable(this.#st, s);
  }
  /** A new handle (address of the peer: acceptedAddress()), or a negative code. */
  accept(s) {
    return this.#x.wjs_accept(this.#ctx, s);
  }
  /** [address, port] of our end, or a negative code. */
  sockname(s) {
    const r = this.#x.wjs_getsockname(this.#ctx, s);
    return r < 0 ? r : [this.#tmp(0), this.#tmp(1)];
  }
  peername(s) {
    const r = this.#x.wjs_getpeername(this.#ctx, s);
    return r < 0 ? r : [this.#tmp(0), this.#tmp(1)];
  }

  /** Bytes taken by the stack, or a negative code. */
  send(s, bytes) {
    if (!this.#copyIn(bytes)) return -4;
    return this.#x.wjs_send(this.#ctx, s, bytes.length);
  }

  /** What is readable now, at most `max` bytes, as a Uint8Array; 0 at end of stream, or
   * a negative code (EAGAIN: nothing yet). One call into wasm. */
  recvAvailable(s, max) {
    const n = this.#x.wjs_recv_avail(this.#ctx, s, max);
    return n > 0 ? this.#copyOut(n) : n;
  }

  /** A Uint8Array of at most `max` bytes, 0 at end of stream, or a negative code. */
  recv(s, max) {
    if (!this.#x.wjs_scratch(this.#ctx, max) && max) return -4;
    const n = this.#x.wjs_recv(this.#ctx, s, max);
    return n > 0 ? this.#copyOut(n) : n;
  }

  sendto(s, bytes, addr, port) {
    if (!this.#copyIn(bytes)) return -4;
    return this.#x.wjs_sendto(this.#ctx, s, bytes.length, addr, port);
  }

  /** { data, addr, port }, or a negative code. */
  recvfrom(s, max) {
    if (!this.#x.wjs_scratch(this.#ctx, max) && max) return -4;
    const n = this.#x.wjs_recvfrom(this.#ctx, s, max);
    if (n < 0) return n;
    return { data: this.#copyOut(n), addr: this.#tmp(0), port: this.#tmp(1) };
  }

  /** TCP_INFO figures (Float64Array in wjs_info's order), or a negative code. */
  info(s) {
    const n = this.#x.wjs_info(this.#ctx, s);
    if (n < 0) return n;
    const p = this.#x.wjs_info_ptr(this.#ctx) >>> 3;
    this.#views();
    return this.#f64.slice(p, p + n);
  }

  /** Counters (Float64Array in wjs_stats' order, drops last). */
  stats() {
    const n = this.#x.wjs_stats(this.#ctx);
    const p = this.#x.wjs_stats_ptr(this.#ctx) >>> 3;
    this.#views();
    return this.#f64.slice(p, p + n);
  }

  /** Bytes the core holds on the heap for this stack. */
  heapBytes() {
    return this.#x.wjs_heap_bytes(this.#ctx);
  }

  /** Size of this instance's linear memory. */
  memoryBytes() {
    return this.#x.memory.buffer.byteLength;
  }

  /** A C string of the core (names of states, drop reasons, errors). */
  cString(p) {
    this.#views();
    let end = p;
    while (this.#u8[end] !== 0) end++;
    return new TextDecoder().decode(this.#u8.subarray(p, end));
  }

  errname(code) {
    return this.cString(this.#x.wtcp_errname(code));
  }
  strerror(code) {
    return this.cString(this.#x.wtcp_strerror(code));
  }
  /** The name of stats() entry i, or null past the named ones (drops by reason follow). */
  statName(i) {
    const p = this.#x.wjs_stat_name(i);
    return p ? this.cString(p) : null;
  }

  dropName(i) {
    return this.cString(this.#x.wtcp_drop_name(i));
  }

  // ---- interfaces, DHCP and NAT (lib/ethernet.js) ----

  /** A 6-byte MAC address into the scratch (where the calls below read it). */
  #macIn(mac) {
    return this.#copyIn(mac);
  }

  /** Adds an interface (link 2: Ethernet, 1: IP); its index or a negative code. */
  ifaceAdd(link, addr, prefix, mtu, mac) {
    if (!this.#macIn(mac)) return -4;
    return this.#x.wjs_iface_add(this.#ctx, link, addr, prefix, mtu);
  }

  /** A frame received on interface ifx. */
  ifaceInput(ifx, now, frame) {
    if (!this.#copyIn(frame)) return -4;
    return this.#x.wjs_iface_input(this.#ctx, ifx, now, frame.length);
  }

  routeDefault(ifx, gateway) {
    return this.#x.wjs_route_default(this.#ctx, ifx, gateway);
  }

  /** [in, out, inBytes, outBytes, drops] of interface ifx, or a negative code. */
  ifaceStats(ifx) {
    const n = this.#x.wjs_iface_stats(this.#ctx, ifx);
    if (n < 0) return n;
    const p = this.#x.wjs_info_ptr(this.#ctx) >>> 3;
    this.#views();
    return this.#f64.slice(p, p + n);
  }

  dhcpEnable(ifx, first, last, leaseS, router, dns, mtu) {
    return this.#x.wjs_dhcp_enable(this.#ctx, ifx, first, last, leaseS, router, dns, mtu);
  }

  dhcpStatic(ifx, mac, addr) {
    if (!this.#macIn(mac)) return -4;
    return this.#x.wjs_dhcp_static(this.#ctx, ifx, addr);
  }

  /** Lease n of interface ifx as [addr, state, static, expires, mac0..mac5], null past
   * the last, or a negative code. */
  dhcpLease(ifx, n) {
    const r = this.#x.wjs_dhcp_lease(this.#ctx, ifx, n);
    if (r <= 0) return r === 0 ? null : r;
    const p = this.#x.wjs_info_ptr(this.#ctx) >>> 3;
    this.#views();
    return this.#f64.slice(p, p + 10);
  }

  natEnable(outside, maxFlows) {
    return this.#x.wjs_nat_enable(this.#ctx, outside, maxFlows);
  }
  natDns(resolver) {
    return this.#x.wjs_nat_dns(this.#ctx, resolver);
  }
  natForward(proto, port, addr, toPort) {
    return this.#x.wjs_nat_forward(this.#ctx, proto, port, addr, toPort);
  }
  natUnforward(proto, port) {
    return this.#x.wjs_nat_unforward(this.#ctx, proto, port);
  }

  interceptListen(ifx, backlog) {
    return this.#x.wjs_intercept_listen(this.#ctx, ifx, backlog);
  }
  interceptComplete(s) {
    return this.#x.wjs_intercept_complete(this.#ctx, s);
  }
  interceptRefuse(s, how) {
    return this.#x.wjs_intercept_refuse(this.#ctx, s, how);
  }
  interceptUdp(ifx) {
    return this.#x.wjs_intercept_udp(this.#ctx, ifx);
  }
  /** { data, src, srcPort, dst, dstPort }, or a negative code (EAGAIN: none). */
  interceptRecvfrom(s, max) {
    if (!this.#x.wjs_scratch(this.#ctx, max) && max) return -4;
    const n = this.#x.wjs_intercept_recvfrom(this.#ctx, s, max);
    if (n < 0) return n;
    return { data: this.#copyOut(n), src: this.#tmp(0), srcPort: this.#tmp(1), dst: this.#tmp(2), dstPort: this.#tmp(3) };
  }
  interceptSendto(s, bytes, from, fromPort, to, toPort) {
    if (!this.#copyIn(bytes)) return -4;
    return this.#x.wjs_intercept_sendto(this.#ctx, s, bytes.length, from, fromPort, to, toPort);
  }
  interceptUnreachable(s, from, fromPort, to, toPort) {
    return this.#x.wjs_intercept_unreachable(this.#ctx, s, from, fromPort, to, toPort);
  }

  /** Calls fn(interface, frame) for each frame the core sent on an added interface (a
   * fresh copy each), then forgets them; returns how many. */
  takeFrames(fn) {
    this.#views();
    const u32 = this.#u32;
    const len = u32[this.#io + FRAMES_LEN];
    if (len === 0) return 0;
    const base = u32[this.#io + FRAMES_PTR];
    const frames = [];
    for (let off = 0; off < len; ) {
      const tag = u32[(base + off) >>> 2];
      const n = tag & 0xffffff;
      frames.push(tag >>> 24, this.#u8.slice(base + off + 4, base + off + 4 + n));
      off += 4 + ((n + 3) & ~3);
    }
    u32[this.#io + FRAMES_LEN] = 0;
    for (let i = 0; i < frames.length; i += 2) fn(frames[i], frames[i + 1]);
    return frames.length / 2;
  }
  stateName(i) {
    return this.cString(this.#x.wtcp_state_name(i));
  }
}
