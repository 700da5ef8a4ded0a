// stack.js: one wtcp stack and the event loop around its sans-IO core.
//
// The loop ("pump") runs only when something happened: a packet came in, a socket call
// queued work, or the core's own deadline arrived. Each pump runs wtcp_poll, sends the
// packets the core produced to the link, and hands each event (readable, writable,
// connected, acceptable, closed, failed) to the object that owns the handle, so nothing
// ever polls a socket. Calls made in one JavaScript turn share one pump (a microtask).
// The only timer is one setTimeout at the deadline wtcp_poll returned: no interval, no
// work while idle.

import { WtcpError, errorFromErrno } from './errors.js';
import { parseAddress, formatAddress, prefixMask, checkPort, toBytes, optionalInt, checkOptions, describe } from './args.js';
import { SOCK_STREAM, SOCK_DGRAM, SO } from './wasm.js';
import { asyncDispose, dispose } from './dispose.js';
import { Connection, keepAliveOptions, congestionOf } from './connection.js';
import { Listener } from './listener.js';
import { UdpSocket } from './udp.js';
import { macrotask } from './links.js';
import { EthernetInterface, setupGateway, addForward, removeForward } from './ethernet.js';

const EINPROGRESS = -11;
const MAX_ROUNDS = 32; // pump rounds before yielding to the event loop
const PACKET_QUEUE_LIMIT = 4096; // packets held for a slow `packets` reader
const MAX_TIMEOUT = 0x7fffffff;

const clock = globalThis.performance ?? Date;


export class Stack {
  #core;
  #addr;
  #mask;
  #objects = new Map(); // handle -> Connection | Listener | UdpSocket
  #closed = false;
  #dirty = false;
  #scheduled = false;
  #pumping = false;
  #timer = null;
  #timerAt = -1;
  #busy = 0; // pending promises: while > 0 the timer keeps Node's event loop alive
  #onpacket = null;
  #packets = null;
  #linkDrops = 0;
  #statNames = null;
  #dropNames = null;
  #loopback = []; // packets to our own address, delivered to ourselves
  #batchFor = null; // the onpacket function of a link that takes whole batches...
  #batchSink = null; // ...through this one: (core, addr) => what Core.moveOutput returns
  #ifaces = new Map(); // interface index -> EthernetInterface

  /** The stack's IPv4 address, prefix length, gateway (or null) and MTU. */
  address;
  prefix;
  gateway;
  mtu;
  /** A DNS resolver the relay named (or options.dns), or null: addGuestLan() hands it out. */
  dns;
  /** The link this stack is attached to (pair, relay), or null. */
  link = null;
  /** UDP sockets: `stack.udp.bind({ port })`. */
  udp;

  /** @internal Use createStack() or pair(). */
  constructor(core, options) {
    this.#core = core;
    options = checkOptions(options, 'createStack()', true);
    this.address = options.address;
    this.#addr = parseAddress(options.address, 'options.address');
    this.prefix = optionalInt(options, 'prefix', 0, 32) ?? 0;
    this.#mask = prefixMask(this.prefix);
    this.gateway = options.gateway ?? null;
    if (this.gateway !== null) parseAddress(this.gateway, 'options.gateway');
    this.mtu = optionalInt(options, 'mtu', 576, 65535) ?? 1500;
    this.dns = options.dns ?? null;
    if (this.dns !== null) parseAddress(this.dns, 'options.dns');
    const ports = options.ephemeralPorts;
    if (ports !== undefined && (!Array.isArray(ports) || ports.length !== 2)) {
      throw new WtcpError('EINVAL', `options.ephemeralPorts must be [low, high], got ${describe(ports)}`);
    }
    if (ports) {
      checkPort(ports[0], 'options.ephemeralPorts[0]');
      checkPort(ports[1], 'options.ephemeralPorts[1]');
    }
    const flag = (name) => {
      const v = options[name];
      if (v === undefined) return undefined;
      if (typeof v !== 'boolean') throw new WtcpError('EINVAL', `options.${name} must be a boolean, got ${describe(v)}`);
      return v ? 0 : 1;
    };
    const config = {
      addr: this.#addr,
      // The core leaves routing to the link: with a gateway every address is reachable.
      prefix: this.gateway === null ? this.prefix : 0,
      mtu: this.mtu,
      maxSockets: optionalInt(options, 'maxSockets', 1, 65535),
      sndbuf: optionalInt(options, 'sendBuffer', 1024, 0x7fffffff),
      rcvbuf: optionalInt(options, 'receiveBuffer', 1024, 0x7fffffff),
      rcvbufMax: optionalInt(options, 'maxReceiveBuffer', 1024, 0x7fffffff),
      maxBacklog: optionalInt(options, 'maxBacklog', 1, 65535),
      timeWait: optionalInt(options, 'timeWait', 0, 0x7fffffff),
      maxTimeWait: optionalInt(options, 'maxTimeWait', 0, 0x7fffffff),
      rtoMin: optionalInt(options, 'rtoMin', 1, 120000),
      congestion: congestionOf(options.congestion, 'options.congestion'),
      synRetries: optionalInt(options, 'synRetries', 0, 255),
      synAckRetries: optionalInt(options, 'synAckRetries', 0, 255),
      dataRetries: optionalInt(options, 'dataRetries', 0, 255),
      ephemeralLo: ports?.[0],
      ephemeralHi: ports?.[1],
      ttl: optionalInt(options, 'ttl', 1, 255),
      noTimestamps: flag('timestamps'),
      noSack: flag('sack'),
      noWscale: flag('windowScale'),
    };
    let key = options.isnKey;
    if (key === undefined) {
      key = globalThis.crypto.getRandomValues(new Uint8Array(16));
    } else if (!(key instanceof Uint8Array) || key.length !== 16) {
      throw new WtcpError('EINVAL', 'options.isnKey must be a Uint8Array of 16 bytes');
    }
    const r = core.create(config, key);
    if (r < 0) throw errorFromErrno(r, 'createStack (the core refused the options)');
    if (options.onpacket !== undefined) this.onpacket = options.onpacket;
    this.udp = Object.freeze({ bind: (opts) => this.#udpBind(opts) });
  }

  // ---- links ----

  /** Called with every IPv4 packet the stack sends (a fresh Uint8Array each). */
  get onpacket() {
    return this.#onpacket;
  }
  set onpacket(fn) {
    if (fn !== null && typeof fn !== 'function') {
      throw new WtcpError('EINVAL', `onpacket must be a function or null, got ${describe(fn)}`);
    }
    if (this.#packets && fn !== this.#packets.push) {
      throw new WtcpError('EINVAL', 'stack.packets is in use: use either onpacket or packets');
    }
    this.#onpacket = fn;
  }

  /** The packets the stack sends, as an async iterable (instead of onpacket). */
  get packets() {
    if (!this.#packets) {
      if (this.#onpacket) throw new WtcpError('EINVAL', 'stack.onpacket is set: use either onpacket or packets');
      this.#packets = new PacketQueue(PACKET_QUEUE_LIMIT);
      this.#onpacket = this.#packets.push;
    }
    return this.#packets;
  }

  /** @internal A link that can take the output as a batch (PairLink): while onpacket is
   * still `fn`, pumps hand the core's output to `sink(core, addr)` instead of making a
   * Uint8Array per packet. */
  _setBatchSink(fn, sink) {
    this.#batchFor = fn;
    this.#batchSink = sink;
  }

  /** @internal Feeds packets a link queued in the core's inbox (Core.queueInput or
   * moveOutput), in one call. */
  _inputQueued(now) {
    if (this.#closed) return;
    this.#core.inputQueued(now);
    this._kick();
  }

  /** Feeds one received IPv4 packet (copied once into the stack). */
  input(packet) {
    this.#checkOpen('input');
    const bytes = toBytes(packet, 'packet');
    this.#core.input(clock.now(), bytes);
    this._kick();
  }

  // ---- Ethernet interfaces and the gateway (ethernet.js) ----

  /** Adds an Ethernet interface: { address: "10.0.2.2/24", mac?, mtu?, onframe? }. Frames
   * come in with iface.input(frame) and leave through iface.onframe. */
  addEthernet(options) {
    this.#checkOpen('addEthernet');
    const iface = new EthernetInterface(this, this.#core, options);
    this.#ifaces.set(iface.index, iface);
    return iface;
  }

  /** An Ethernet interface for guests, with what a LAN expects of its router: a DHCP
   * server, NAT onto this stack's link, DNS (options.dns: a resolver's address, a function
   * answering queries, or false; default the relay's resolver) and port forwards. Returns
   * the interface. */
  addGuestLan(options) {
    this.#checkOpen('addGuestLan');
    return setupGateway(this, this.#core, options, this.dns);
  }

  /** A port forward: { protocol: "tcp" | "udp", port, to: "10.0.2.15:80" } makes port of
   * this stack's address reach a guest (NAT must be on: addGuestLan()). */
  forward(options) {
    this.#checkOpen('forward');
    addForward(this.#core, options);
  }

  unforward(protocol, port) {
    this.#checkOpen('unforward');
    removeForward(this.#core, protocol, port);
  }

  /** The stack's interfaces: its first link, then the Ethernet ones. */
  get interfaces() {
    return [{ index: 0, address: this.address, prefix: this.prefix, mtu: this.mtu }, ...this.#ifaces.values()];
  }

  /** @internal */
  _checkOpen(doing) {
    this.#checkOpen(doing);
  }

  #deliverFrame = (ifx, frame) => {
    const iface = this.#ifaces.get(ifx);
    if (iface) iface._deliver(frame);
  };

  // ---- sockets ----

  /** Starts a TCP listener. */
  listen(options) {
    this.#checkOpen('listen');
    options = checkOptions(options, 'listen()', true);
    const port = checkPort(options.port, 'options.port', true);
    const backlog = optionalInt(options, 'backlog', 0, 65535) ?? 128;
    const addr = this.#localAddress(options.host);
    const core = this.#core;
    const h = this.#socket(SOCK_STREAM, 'listen');
    let r = 0;
    if (options.reuseAddress) r = core.setsockopt(h, SO.SO_REUSEADDR, 1);
    if (r >= 0) r = core.bind(h, addr, port);
    if (r >= 0) r = core.listen(h, backlog);
    if (r < 0) {
      core.close(h);
      throw errorFromErrno(r, `listen on port ${port}`);
    }
    const [, boundPort] = core.sockname(h);
    const listener = new Listener(this, h, this.address, boundPort);
    this.#objects.set(h, listener);
    return listener;
  }

  /** Opens a TCP connection; resolves once it is established. */
  async connect(options) {
    this.#checkOpen('connect');
    options = checkOptions(options, 'connect()', true);
    const host = options.host;
    const port = checkPort(options.port, 'options.port');
    const addr = parseAddress(host, 'options.host');
    const timeout = options.timeout;
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0)) {
      throw new WtcpError('EINVAL', `options.timeout must be a positive number of ms, got ${describe(timeout)}`);
    }
    const localPort = options.localPort === undefined ? 0 : checkPort(options.localPort, 'options.localPort');
    const target = `${host}:${port}`;
    if (!this._reachable(addr)) {
      throw new WtcpError(
        'ENETUNREACH',
        `connect to ${target}: network is unreachable (not on ${this.address}/${this.prefix} and no gateway)`,
      );
    }
    const core = this.#core;
    const h = this.#socket(SOCK_STREAM, `connect to ${target}`);
    let r = 0;
    for (const [name, value] of connectOptions(options)) if (r >= 0) r = core.setsockopt(h, SO[name], value);
    if (r >= 0 && localPort) r = core.bind(h, 0, localPort);
    if (r >= 0) r = core.connect(h, addr, port);
    if (r !== EINPROGRESS) {
      core.close(h);
      throw errorFromErrno(r < 0 ? r : -1, `connect to ${target}`);
    }
    const conn = new Connection(this, h, { host, port });
    this.#objects.set(h, conn);
    this._kick();
    return conn._opened(timeout);
  }

  #udpBind(options) {
    this.#checkOpen('udp.bind');
    options = checkOptions(options, 'udp.bind()');
    const port = checkPort(options.port ?? 0, 'options.port', true);
    const addr = this.#localAddress(options.host);
    const core = this.#core;
    const h = this.#socket(SOCK_DGRAM, 'udp.bind');
    const r = core.bind(h, addr, port);
    if (r < 0) {
      core.close(h);
      throw errorFromErrno(r, `udp.bind to port ${port}`);
    }
    const [, boundPort] = core.sockname(h);
    const sock = new UdpSocket(this, h, addr ? formatAddress(addr) : this.address, boundPort);
    this.#objects.set(h, sock);
    return sock;
  }

  #socket(type, doing) {
    const h = this.#core.socket(type);
    if (h < 0) throw errorFromErrno(h, doing);
    return h;
  }

  #localAddress(host) {
    if (host === undefined || host === '0.0.0.0') return 0;
    const addr = parseAddress(host, 'options.host');
    if (addr !== this.#addr && ![...this.#ifaces.values()].some((f) => f._addr === addr)) {
      throw new WtcpError('EADDRNOTAVAIL', `options.host ${host} is not an address of this stack (${this.address})`);
    }
    return addr;
  }

  // The core refuses off-link destinations too (it gets prefix 0 when there is a gateway);
  // deciding here first gives the error a message that names the address and prefix.
  /** @internal */
  _reachable(addr) {
    if (this.#ifaces.size) return true; // several interfaces: the core's routes decide (ENETUNREACH)
    return this.gateway !== null || this.prefix === 0 || ((addr ^ this.#addr) & this.#mask) === 0;
  }

  // ---- figures ----

  /** Counters of the stack: packets, TCP/UDP/ICMP, drops by reason, memory. */
  stats() {
    this.#checkOpen('stats');
    const v = this.#core.stats();
    if (!this.#statNames) {
      // The names come from the core (wjs_stat_name, then wtcp_drop_name): one definition.
      this.#statNames = [];
      for (let name; (name = this.#core.statName(this.#statNames.length)) !== null; ) this.#statNames.push(name);
      this.#dropNames = [];
      for (let i = this.#statNames.length; i < v.length; i++) this.#dropNames.push(this.#core.dropName(i - this.#statNames.length));
    }
    const out = {};
    const named = this.#statNames.length;
    this.#statNames.forEach((name, i) => (out[name] = v[i]));
    out.dropReasons = {};
    this.#dropNames.forEach((name, i) => {
      if (v[named + i]) out.dropReasons[name] = v[named + i];
    });
    out.linkDrops = this.#linkDrops + (this.#packets?.dropped ?? 0);
    out.memoryBytes = this.#core.memoryBytes();
    out.handles = this.#objects.size;
    return out;
  }

  /** True once close() was called. */
  get closed() {
    return this.#closed;
  }

  /** Frees the stack at once: open connections are reset (one RST each, so peers learn
   * at once), listeners and sockets closed, pending operations fail with EBADF, and the
   * link is closed. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const err = new WtcpError('EBADF', 'the stack is closed');
    const objects = [...this.#objects.values()];
    this.#objects.clear();
    for (const obj of objects) obj._stackClosed(err);
    this.#core.poll(clock.now());
    const resets = this.#core.takeOutput();
    if (resets) this.#emit(resets);
    this.#core.destroy();
    for (const iface of this.#ifaces.values()) iface.wisp?.close(); // a guest LAN's Wisp uplink
    this.#packets?.end();
    this.#onpacket = null;
    this.link?.close();
  }

  [asyncDispose]() {
    this.close();
    return Promise.resolve();
  }
  [dispose]() {
    this.close();
  }

  #checkOpen(doing) {
    if (this.#closed) throw new WtcpError('EBADF', `${doing}: the stack is closed`);
  }

  // ---- internal: used by connection.js, listener.js, udp.js and links ----

  /** @internal */
  get _core() {
    return this.#core;
  }

  /** @internal Registers an accepted connection's handle. */
  _adopt(h) {
    const conn = new Connection(this, h, null);
    this.#objects.set(h, conn);
    return conn;
  }

  /** @internal Registers an object that takes a handle's events (_onEvents). */
  _register(h, obj) {
    this.#objects.set(h, obj);
  }

  /** @internal The handle was released in the core. */
  _forget(h) {
    this.#objects.delete(h);
  }

  /** @internal A pending promise started (+1) or settled (-1). */
  _busy(delta) {
    const was = this.#busy > 0;
    this.#busy += delta;
    if (was !== this.#busy > 0) this.#refTimer();
  }

  /** @internal Something changed in the core: run the loop soon (once per turn). */
  _kick() {
    this.#dirty = true;
    if (!this.#scheduled && !this.#pumping && !this.#closed) {
      this.#scheduled = true;
      queueMicrotask(this.#pumpTask);
    }
  }

  /** @internal The link could not take a packet. */
  _linkDropped() {
    this.#linkDrops++;
  }

  #pumpTask = () => {
    this.#scheduled = false;
    this.#pump();
  };

  #timerTask = () => {
    this.#timer = null;
    this.#timerAt = -1;
    this.#pump();
  };

  #dispatch = (sock, bits) => {
    const obj = this.#objects.get(sock);
    if (obj) obj._onEvents(bits);
  };

  #pump() {
    if (this.#closed || this.#pumping) return;
    this.#pumping = true;
    const core = this.#core;
    let deadline = -1;
    let now = 0;
    try {
      for (let round = 0; ; round++) {
        this.#dirty = false;
        now = clock.now();
        deadline = core.pump(now);
        let packets = null;
        if (this.#batchSink !== null && this.#onpacket === this.#batchFor) {
          const moved = this.#batchSink(core, this.#addr);
          if (moved === -1) packets = core.takeOutput();
          else if (moved === -2) this.#linkDrops++;
        } else {
          packets = core.takeOutput();
        }
        core.takeEvents(this.#dispatch);
        if (packets) this.#emit(packets);
        if (this.#ifaces.size) core.takeFrames(this.#deliverFrame);
        if (!this.#dirty || this.#closed) break;
        if (round === MAX_ROUNDS) {
          this.#scheduled = true;
          queueMicrotask(this.#pumpTask);
          break;
        }
      }
    } finally {
      this.#pumping = false;
    }
    if (!this.#closed) this.#arm(deadline, now);
  }

  #emit(packets) {
    const sink = this.#onpacket;
    for (const p of packets) {
      // Loopback: a packet to our own address comes back in, as on any host.
      if (((p[16] << 24) | (p[17] << 16) | (p[18] << 8) | p[19]) >>> 0 === this.#addr) {
        if (this.#loopback.push(p) === 1) macrotask(this.#loopbackTask);
        continue;
      }
      if (!sink) {
        this.#linkDrops++;
        continue;
      }
      try {
        sink(p);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  #loopbackTask = () => {
    const packets = this.#loopback;
    this.#loopback = [];
    if (this.#closed) return;
    const now = clock.now();
    for (const p of packets) this.#core.input(now, p);
    this._kick();
  };

  #arm(deadline, now) {
    if (deadline < 0) {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      this.#timerAt = -1;
      return;
    }
    // A timer due no later than the deadline stays: it pumps, and the pump arms again.
    // (Moving it at every change of the deadline, as a delayed ACK does at each segment,
    // would cost a clearTimeout and a setTimeout per round trip.)
    if (this.#timer !== null && this.#timerAt <= deadline) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const delay = Math.min(Math.max(0, Math.ceil(deadline - now)), MAX_TIMEOUT);
    this.#timerAt = deadline;
    this.#timer = setTimeout(this.#timerTask, delay);
    this.#refTimer();
  }

  // In Node, a timer keeps the process alive only while some promise waits on the stack
  // (a TIME-WAIT deadline alone should not).
  #refTimer() {
    const t = this.#timer;
    if (t !== null && typeof t === 'object') {
      if (this.#busy > 0) t.ref?.();
      else t.unref?.();
    }
  }
}

/** The `packets` async iterable: a bounded queue, dropping (and counting) beyond it. */
class PacketQueue {
  #queue = [];
  #waiters = [];
  #limit;
  #ended = false;
  dropped = 0;

  constructor(limit) {
    this.#limit = limit;
  }

  push = (packet) => {
    if (this.#waiters.length) this.#waiters.shift()({ value: packet, done: false });
    else if (this.#queue.length < this.#limit) this.#queue.push(packet);
    else this.dropped++;
  };

  end() {
    this.#ended = true;
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }

  next() {
    if (this.#queue.length) return Promise.resolve({ value: this.#queue.shift(), done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  return() {
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

/** The socket options connect() sets before the SYN: noDelay, keepAlive (true, or
 * { idle, interval, count } in seconds), userTimeout (ms), congestion (a name). */
function connectOptions(options) {
  const out = [];
  if (options.noDelay) out.push(['TCP_NODELAY', 1]);
  const ka = options.keepAlive;
  if (ka !== undefined && ka !== false) {
    if (ka !== true && (ka === null || typeof ka !== 'object')) {
      throw new WtcpError('EINVAL', `options.keepAlive must be true, false or { idle, interval, count }, got ${describe(ka)}`);
    }
    out.push(...keepAliveOptions(true, ka === true ? {} : ka));
  }
  if (options.userTimeout !== undefined) out.push(['TCP_USER_TIMEOUT', optionalInt(options, 'userTimeout', 0, 0x7fffffff)]);
  if (options.congestion !== undefined) out.push(['TCP_CONGESTION', congestionOf(options.congestion, 'options.congestion')]);
  return out;
}
