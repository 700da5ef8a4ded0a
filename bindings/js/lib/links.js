// links.js: how packets travel between a stack and the world: an in-memory link between
// two stacks (with an optional seeded fault injector), and the relay's WebSocket (its
// first message is a JSON config; then, in protocol version 2, binary messages of
// length-prefixed IPv4 packets, or one packet per message in version 1; docs/PROTOCOL.md).
// The raw packet link needs no code here: it is stack.input() and stack.onpacket / packets.

import { WtcpError } from './errors.js';
import { parseAddress, describe } from './args.js';

// ---- scheduling ----

// A macrotask per batch of packets lets timers and I/O run between batches, where a
// chain of microtasks would starve them during a long transfer.
export const macrotask =
  typeof setImmediate === 'function'
    ? setImmediate
    : (() => {
        const queue = [];
        const channel = new MessageChannel();
        channel.port1.onmessage = () => queue.shift()();
        return (fn) => {
          queue.push(fn);
          channel.port2.postMessage(0);
        };
      })();

const clock = globalThis.performance ?? Date;

// ---- fault injection ----

/** mulberry32: a small seeded PRNG, so a faulty run can be replayed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FAULTS = ['loss', 'duplicate', 'reorder', 'corrupt'];

/** Loses, duplicates, reorders (swaps with the next packet), corrupts (one bit) and
 * delays packets, each with its probability, from a seeded generator. */
export class FaultInjector {
  loss = 0;
  duplicate = 0;
  reorder = 0;
  corrupt = 0;
  delay = 0;
  /** What it did so far. */
  counts = { packets: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0 };
  #random;
  #held = [null, null];

  constructor(options = {}) {
    const seed = options.seed ?? 1;
    if (!Number.isInteger(seed)) throw new WtcpError('EINVAL', `faults.seed must be an integer, got ${describe(seed)}`);
    this.#random = prng(seed);
    this.set(options);
  }

  /** Changes probabilities (0..1) or the delay (ms) while the link runs. */
  set(options) {
    for (const name of FAULTS) {
      const p = options[name];
      if (p === undefined) continue;
      if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
        throw new WtcpError('EINVAL', `faults.${name} must be a probability 0..1, got ${describe(p)}`);
      }
      this[name] = p;
    }
    if (options.delay !== undefined) {
      if (typeof options.delay !== 'number' || !(options.delay >= 0)) {
        throw new WtcpError('EINVAL', `faults.delay must be a number of ms >= 0, got ${describe(options.delay)}`);
      }
      this.delay = options.delay;
    }
    return this;
  }

  /** The packets to deliver now for one that was sent in direction `dir` (0 or 1). */
  apply(packet, dir) {
    const r = this.#random;
    this.counts.packets++;
    if (this.loss && r() < this.loss) {
      this.counts.lost++;
      return [];
    }
    if (this.corrupt && r() < this.corrupt) {
      this.counts.corrupted++;
      const bit = Math.floor(r() * packet.length * 8);
      packet[bit >>> 3] ^= 1 << (bit & 7);
    }
    const out = [packet];
    if (this.duplicate && r() < this.duplicate) {
      this.counts.duplicated++;
      out.push(packet.slice());
    }
    const held = this.#held[dir];
    if (held) {
      this.#held[dir] = null;
      out.push(held);
    } else if (this.reorder && r() < this.reorder) {
      this.counts.reordered++;
      this.#held[dir] = out.shift();
    }
    return out;
  }

  /** Whether a packet is held back for reordering. */
  holding() {
    return this.#held[0] !== null || this.#held[1] !== null;
  }

  /** A packet held back for reordering that no later packet released. */
  release(dir) {
    const held = this.#held[dir];
    this.#held[dir] = null;
    return held;
  }
}

// ---- two stacks in one process ----

const YIELD_MS = 1;

/** Links two stacks in memory. Packets a stack sends reach the other one in batches,
 * after the faults, if any: on a later macrotask, or on a microtask while the link has
 * been delivering for less than YIELD_MS since its last macrotask (a busy link then
 * skips an event-loop turn per batch, ~1 us, and still lets timers and I/O run at
 * least every YIELD_MS).
 *
 * Without faults a batch never becomes JavaScript objects: each pump of a stack moves
 * its whole output into the other stack's inbox in wasm memory (one copy), and the
 * delivery feeds the inbox to the core in one call. With faults (which act on each
 * packet) or packets to the sender's own address, packets travel one by one as before,
 * and are still fed to the core as one batch. */
export class PairLink {
  kind = 'pair';
  /** The fault injector, or null: change it at any time with `faults.set({...})`. */
  faults;
  #ends;
  #queues = [[], []]; // per destination: { packet, due }
  #inboxed = [false, false]; // per destination: a batch waits in its inbox
  #turnStart = -Infinity; // when the last delivery from a macrotask ran
  #scheduled = false;
  #timer = null;

  constructor(a, b, faults) {
    this.faults = faults ? (faults instanceof FaultInjector ? faults : new FaultInjector(faults)) : null;
    this.#ends = [a, b];
    const toB = (p) => this.#send(1, p);
    const toA = (p) => this.#send(0, p);
    a.onpacket = toB;
    b.onpacket = toA;
    a._setBatchSink(toB, (core, addr) => this.#sendBatch(1, core, addr));
    b._setBatchSink(toA, (core, addr) => this.#sendBatch(0, core, addr));
    a.link = this;
    b.link = this;
  }

  #send(to, packet) {
    if (this.#ends[to].closed) return;
    const f = this.faults;
    if (!f) {
      this.#queues[to].push({ packet, due: 0 });
    } else {
      const due = f.delay ? clock.now() + f.delay : 0;
      for (const p of f.apply(packet, to)) this.#queues[to].push({ packet: p, due });
    }
    this.#schedule();
  }

  // A pump's whole output, still in the sender's memory (see Core.moveOutput).
  #sendBatch(to, core, addr) {
    const dest = this.#ends[to];
    if (this.faults || dest.closed) return -1; // one by one, through #send
    const moved = core.moveOutput(dest._core, addr);
    if (moved > 0) {
      this.#inboxed[to] = true;
      this.#schedule();
    }
    return moved;
  }

  #schedule() {
    if (this.#scheduled) return;
    let next = Infinity;
    for (const q of this.#queues) if (q.length) next = Math.min(next, q[0].due);
    if (this.#inboxed[0] || this.#inboxed[1]) next = 0;
    if (next === Infinity && this.faults?.holding()) next = 0; // release held-back packets
    if (next === Infinity) return;
    this.#scheduled = true;
    const now = clock.now();
    const wait = next - now;
    if (wait > 0) this.#timer = setTimeout(this.#deliverTurn, Math.ceil(wait));
    else if (now - this.#turnStart < YIELD_MS) queueMicrotask(this.#deliver);
    else macrotask(this.#deliverTurn);
  }

  #deliverTurn = () => {
    this.#turnStart = clock.now();
    this.#deliver();
  };

  #deliver = () => {
    this.#scheduled = false;
    this.#timer = null;
    const now = clock.now();
    for (let to = 0; to < 2; to++) {
      const q = this.#queues[to];
      const stack = this.#ends[to];
      let i = 0;
      while (i < q.length && q[i].due <= now) i++;
      const late = this.faults?.release(to);
      let queued = this.#inboxed[to];
      this.#inboxed[to] = false;
      if (stack.closed) {
        q.splice(0, i);
        continue;
      }
      const core = stack._core;
      for (let k = 0; k < i; k++) {
        if (core.queueInput(q[k].packet)) queued = true;
        else stack._linkDropped();
      }
      q.splice(0, i);
      if (late) {
        if (core.queueInput(late)) queued = true;
        else stack._linkDropped();
      }
      if (queued) stack._inputQueued(now);
    }
    this.#schedule();
  };

  /** Called by a stack's close(): once both ends are closed, nothing is left queued. */
  close() {
    if (this.#ends.every((s) => s.closed)) {
      clearTimeout(this.#timer);
      this.#queues = [[], []];
      this.#inboxed = [false, false];
    }
  }
}

// ---- the relay's WebSocket ----

let webSocketProvider = async () => globalThis.WebSocket;

/** Set by index.node.js: Node 20 has no global WebSocket, so it brings the `ws` package. */
export function setWebSocketProvider(provider) {
  webSocketProvider = provider;
}

const SEND_BUFFER_LIMIT = 4 << 20; // beyond this many bytes queued in the socket, drop (TCP recovers)
const EARLY_LIMIT = 1024; // packets that arrive before the stack exists

/** The relay URL as error messages show it: a `token=` query value (the relay's
 * --token-file secret) is replaced by `***`, since messages end up in logs. */
function redactUrl(url) {
  return String(url).replace(/([?&]token=)[^&#]*/gi, '$1***');
}

const PROTOCOL_V1 = 'wtcp';
const PROTOCOL_V2 = 'wtcp.2';

/** The subprotocols to offer: what the caller gave, with "wtcp.2" first unless it asked
 * for version 1 (relayVersion: 1), which offers the list as given (none by default). */
export function relayProtocols(protocols, version = 2) {
  if (version !== 1 && version !== 2) {
    throw new WtcpError('EINVAL', `options.relayVersion must be 1 or 2, got ${describe(version)}`);
  }
  let list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols;
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) {
    throw new WtcpError('EINVAL', `options.protocols must be a string or an array of strings, got ${describe(protocols)}`);
  }
  if (version === 1) return list.length ? list : undefined;
  if (!list.includes(PROTOCOL_V2)) list = [PROTOCOL_V2, ...(list.includes(PROTOCOL_V1) ? [] : [PROTOCOL_V1]), ...list];
  return list;
}

/** The WebSocket class to use: options.WebSocket, else the environment's. */
export async function webSocketClass(options = {}) {
  const Ctor = options.WebSocket ?? (await webSocketProvider());
  if (typeof Ctor !== 'function') {
    throw new WtcpError('EINVAL', 'no WebSocket implementation: pass options.WebSocket (in Node 20: install "ws")');
  }
  return Ctor;
}

/** Opens the relay's WebSocket and waits for its config message. */
export async function openRelay(url, options = {}) {
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new WtcpError('EINVAL', `options.relay must be a ws:// or wss:// URL, got ${describe(url)}`);
  }
  const shown = redactUrl(url);
  const Ctor = options.WebSocket ?? (await webSocketProvider());
  if (typeof Ctor !== 'function') {
    throw new WtcpError('EINVAL', 'no WebSocket implementation: pass options.WebSocket (in Node 20: install "ws")');
  }
  const timeout = options.relayTimeout ?? 10000;
  const protocols = relayProtocols(options.protocols, options.relayVersion ?? 2);
  let ws;
  try {
    ws = new Ctor(String(url), protocols);
  } catch (err) {
    throw new WtcpError('EINVAL', `cannot open relay ${shown}: ${err?.message ?? err}`, { cause: err });
  }
  ws.binaryType = 'arraybuffer';
  const link = new RelayLink(ws, String(url));
  const config = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new WtcpError('ETIMEDOUT', `relay ${shown}: no config message within ${timeout} ms`));
      ws.close();
    }, timeout);
    link._onConfig = (text) => {
      clearTimeout(timer);
      try {
        const config = parseRelayConfig(text, shown);
        if (config.version === 2 && !protocols?.includes(PROTOCOL_V2)) {
          throw new WtcpError('EPROTO', `${shown}: the relay answered with version 2, which was not offered`);
        }
        link._setVersion(config.version, config.maxMessage, config.mtu);
        const { version, maxMessage, ...stackConfig } = config;
        resolve(stackConfig);
      } catch (err) {
        ws.close();
        reject(err);
      }
    };
    link._onFail = (err) => {
      clearTimeout(timer);
      reject(err);
    };
  });
  return { config, link };
}

/** Checks the relay's first message: {"version":1 or 2,"address":...,"prefix":...,
 * "gateway":...,"mtu":..., optionally "dns":... (a resolver), and in version 2
 * "max_message":...}. */
export function parseRelayConfig(text, url = 'relay') {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    throw new WtcpError('EPROTO', `${url}: the config message is not JSON`);
  }
  if (msg === null || typeof msg !== 'object' || (msg.version !== 1 && msg.version !== 2)) {
    throw new WtcpError('EPROTO', `${url}: unsupported config message (version ${describe(msg?.version)}, want 1 or 2)`);
  }
  const bad = (what) => new WtcpError('EPROTO', `${url}: config message has a bad ${what}`);
  try {
    parseAddress(msg.address);
    if (msg.gateway !== undefined && msg.gateway !== null) parseAddress(msg.gateway);
    if (msg.dns !== undefined && msg.dns !== null) parseAddress(msg.dns);
  } catch {
    throw bad('address, gateway or dns');
  }
  if (!Number.isInteger(msg.prefix) || msg.prefix < 0 || msg.prefix > 32) throw bad('prefix');
  const mtu = msg.mtu ?? 1500;
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) throw bad('mtu');
  let maxMessage = 0;
  if (msg.version === 2) {
    maxMessage = msg.max_message;
    if (!Number.isInteger(maxMessage) || maxMessage < mtu + 2 || maxMessage > 1 << 24) throw bad('max_message');
  }
  return {
    version: msg.version,
    maxMessage,
    address: msg.address,
    prefix: msg.prefix,
    gateway: msg.gateway ?? null,
    mtu,
    dns: msg.dns ?? null,
  };
}

/** One WebSocket to the relay. Version 1: a binary message is one packet, both ways.
 * Version 2: a binary message is packets, each after its length (2 bytes, big-endian);
 * what the stack sends in one turn of the event loop leaves as one message (split at
 * the relay's max_message), flushed at the end of that turn, never on a timer. */
export class RelayLink {
  kind = 'relay';
  url;
  /** The wire protocol version the relay answered with (1 or 2). */
  version = 1;
  /** Resolves with { code, reason } when the WebSocket closes. */
  closed;
  #ws;
  #stack = null;
  #early = [];
  #configured = false;
  #maxMessage = 0;
  #mtu = 0;
  #out = null; // version 2: the message being filled, its length and packet count
  #outLen = 0;
  #outPackets = 0;
  #flushQueued = false;
  _onConfig = null;
  _onFail = null;

  constructor(ws, url) {
    this.#ws = ws;
    this.url = url;
    url = redactUrl(url); // for the messages below
    let closedResolve;
    this.closed = new Promise((resolve) => (closedResolve = resolve));
    ws.onmessage = (ev) => this.#message(ev.data);
    ws.onerror = (ev) => {
      this._onFail?.(new WtcpError('ECONNREFUSED', `relay ${url}: ${ev?.message ?? 'WebSocket error'}`));
    };
    ws.onclose = (ev) => {
      this._onFail?.(new WtcpError('ECONNREFUSED', `relay ${url}: closed before its config message`));
      this._onFail = null;
      closedResolve({ code: ev?.code ?? 1006, reason: ev?.reason ?? '' });
    };
  }

  /** @internal From the config message. */
  _setVersion(version, maxMessage, mtu) {
    this.version = version;
    this.#maxMessage = maxMessage;
    this.#mtu = mtu;
  }

  #message(data) {
    if (typeof data === 'string') {
      if (!this.#configured) {
        this.#configured = true;
        this._onFail = null;
        this._onConfig?.(data);
      }
      return; // later text messages are reserved
    }
    if (!this.#configured) return;
    const bytes = new Uint8Array(data);
    if (this.#stack) {
      if (!this.#stack.closed) this.#deliver(bytes);
    } else if (this.#early.length < EARLY_LIMIT) {
      this.#early.push(bytes);
    }
  }

  #deliver(bytes) {
    const stack = this.#stack;
    if (this.version === 1) {
      stack.input(bytes);
      return;
    }
    // Version 2: every packet into the core's inbox, then one call feeds them all. A
    // zero length, or one that overruns the message, drops the rest of it (counted).
    const core = stack._core;
    let queued = false;
    let off = 0;
    if (bytes.length === 0) stack._linkDropped();
    while (off < bytes.length) {
      const n = off + 2 <= bytes.length ? (bytes[off] << 8) | bytes[off + 1] : 0;
      if (n === 0 || off + 2 + n > bytes.length) {
        stack._linkDropped();
        break;
      }
      if (core.queueInput(bytes.subarray(off + 2, off + 2 + n))) queued = true;
      else stack._linkDropped();
      off += 2 + n;
    }
    if (queued) stack._inputQueued(clock.now());
  }

  /** @internal Starts carrying the stack's packets. */
  attach(stack) {
    this.#stack = stack;
    stack.link = this;
    if (this.version === 1) {
      stack.onpacket = (packet) => {
        const ws = this.#ws;
        if (ws.readyState !== 1 || ws.bufferedAmount > SEND_BUFFER_LIMIT) stack._linkDropped();
        else ws.send(packet);
      };
    } else {
      const one = (packet) => this.#append(packet, 0, packet.length);
      stack.onpacket = one;
      // A pump's output goes from wasm memory straight into the message (no object per packet).
      stack._setBatchSink(one, (core, addr) => core.forEachOutput(addr, (mem, at, n) => this.#append(mem, at, n)));
    }
    for (const p of this.#early.splice(0)) this.#deliver(p);
  }

  #append(mem, at, n) {
    if (this.#outLen + 2 + n > this.#maxMessage) this.#flush();
    if (this.#out === null) this.#out = new Uint8Array(this.#maxMessage);
    const out = this.#out;
    out[this.#outLen] = n >> 8;
    out[this.#outLen + 1] = n & 255;
    out.set(mem.subarray(at, at + n), this.#outLen + 2);
    this.#outLen += 2 + n;
    this.#outPackets++;
    // A message with no room left for a full-size packet leaves at once: the next packet
    // would flush it anyway, and the WebSocket can start on it while the stack goes on.
    if (this.#maxMessage - this.#outLen < this.#mtu + 2) {
      this.#flush();
      return;
    }
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushTask);
    }
  }

  #flushTask = () => {
    this.#flushQueued = false;
    this.#flush();
  };

  #flush() {
    if (this.#outLen === 0) return;
    const ws = this.#ws;
    const message = this.#out.subarray(0, this.#outLen);
    const packets = this.#outPackets;
    this.#out = null; // the WebSocket may hold on to what it was given
    this.#outLen = 0;
    this.#outPackets = 0;
    if (ws.readyState !== 1 || ws.bufferedAmount > SEND_BUFFER_LIMIT) {
      for (let i = 0; i < packets; i++) this.#stack._linkDropped();
    } else {
      ws.send(message);
    }
  }

  close() {
    if (this.#ws.readyState <= 1) this.#ws.close();
  }
}
