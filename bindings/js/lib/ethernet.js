// ethernet.js: a stack's Ethernet interfaces (frames in and out, as an emulated NIC hands
// them to JavaScript) and the gateway on one: a DHCP server, NAT onto the stack's first
// link (the relay, a pipe, pair()), DNS for the guests (a resolver, or a handler in
// JavaScript) and port forwards. The protocols are the core's (src/if.c, arp.c, dhcp.c,
// nat.c); this file checks arguments and turns them into its calls.

import { WtcpError, errorFromErrno } from './errors.js';
import { parseAddress, formatAddress, checkPort, optionalInt, checkOptions, describe, toBytes } from './args.js';
import { EV } from './wasm.js';
import { WispConnection, WISP_TCP, WISP_UDP, WISP_REASONS } from './wisp.js';
import { webSocketClass } from './links.js';

const LINK_ETHERNET = 2;
const PROTO = { tcp: 6, udp: 17 };
const LEASE_STATES = { 1: 'offered', 2: 'bound', 3: 'declined' };
const NONE = 0xffffffff;
const REFUSALS = { reset: 0, net: 1, host: 2 };
const PENDING_MAX = 1 << 20; // bytes from a Wisp stream waiting for the guest before reading stops
const PENDING_HARD = 16 << 20; // ... where the WebSocket cannot pause: the stream is closed
const UDP_FLOWS = 256; // Wisp UDP streams kept open (a guest's flows: source port to destination)
const STREAMS_PER_GUEST = 1024; // TCP streams one guest address may have open at once

const clock = globalThis.performance ?? Date;

/** "52:54:00:12:34:56" -> 6 bytes (unicast, not zero), or a random locally administered MAC. */
export function parseMac(text, what = 'mac') {
  if (text === undefined) {
    const mac = globalThis.crypto.getRandomValues(new Uint8Array(6));
    mac[0] = (mac[0] & 0xfc) | 0x02; // locally administered, unicast
    return mac;
  }
  const m = typeof text === 'string' ? /^([0-9a-f]{2})([:-][0-9a-f]{2}){5}$/i.exec(text) : null;
  if (!m) throw new WtcpError('EINVAL', `${what} must be a MAC address like "52:54:00:12:34:56", got ${describe(text)}`);
  const mac = Uint8Array.from(text.split(/[:-]/), (h) => parseInt(h, 16));
  if (mac[0] & 1 || mac.every((b) => b === 0)) {
    throw new WtcpError('EINVAL', `${what} ${text} is not a unicast address`);
  }
  return mac;
}

export function formatMac(mac) {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** "10.0.2.2/24" (or address + prefix) -> [address number, prefix]. */
function parseCidr(options, what) {
  const text = options.address;
  if (typeof text !== 'string') throw new WtcpError('EINVAL', `${what}.address must be "a.b.c.d/len", got ${describe(text)}`);
  const [addr, len] = text.split('/');
  const prefix = len === undefined ? optionalInt(options, 'prefix', 1, 30) ?? 24 : Number(len);
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > 30) {
    throw new WtcpError('EINVAL', `${what}.address ${text}: the prefix length must be 1..30`);
  }
  return [parseAddress(addr, `${what}.address`), prefix];
}

/** One Ethernet interface of a stack (stack.addEthernet() or stack.addGuestLan()). */
export class EthernetInterface {
  #stack;
  #core;
  #onframe = null;
  #addr;
  /** The interface's index in the core (the stack's first link is 0). */
  index;
  /** Its IPv4 address, prefix length, MAC address ("52:54:00:..") and MTU. */
  address;
  prefix;
  mac;
  mtu;
  /** Frames the stack sent while no onframe was set (they are dropped). */
  droppedFrames = 0;

  /** @internal Use stack.addEthernet(). */
  constructor(stack, core, options) {
    options = checkOptions(options, 'addEthernet()', true);
    const [addr, prefix] = parseCidr(options, 'options');
    const mac = parseMac(options.mac, 'options.mac');
    const mtu = optionalInt(options, 'mtu', 576, 65535) ?? 1500;
    const index = core.ifaceAdd(LINK_ETHERNET, addr, prefix, mtu, mac);
    if (index < 0) throw errorFromErrno(index, `addEthernet(${options.address})`);
    this.#stack = stack;
    this.#core = core;
    this.#addr = addr;
    this.index = index;
    this.address = formatAddress(addr);
    this.prefix = prefix;
    this.mac = formatMac(mac);
    this.mtu = mtu;
    if (options.onframe !== undefined) this.onframe = options.onframe;
  }

  /** @internal */
  get _addr() {
    return this.#addr;
  }

  /** Called with every Ethernet frame the interface sends (a fresh Uint8Array each). */
  get onframe() {
    return this.#onframe;
  }
  set onframe(fn) {
    if (fn !== null && typeof fn !== 'function') {
      throw new WtcpError('EINVAL', `onframe must be a function or null, got ${describe(fn)}`);
    }
    this.#onframe = fn;
  }

  /** Feeds one received Ethernet frame (without FCS). Malformed frames are dropped and
   * counted (stack.stats().dropReasons). */
  input(frame) {
    this.#stack._checkOpen('ethernet input');
    const bytes = toBytes(frame, 'frame');
    this.#core.ifaceInput(this.index, clock.now(), bytes);
    this.#stack._kick();
  }

  /** @internal A frame the core sent on this interface. */
  _deliver(frame) {
    const fn = this.#onframe;
    if (!fn) {
      this.droppedFrames++;
      return;
    }
    try {
      fn(frame);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  /** Sends what no prefix of the stack holds to `gateway` (on this interface's prefix)
   * through this interface; null removes the default route. */
  setDefaultRoute(gateway) {
    const gw = gateway === null ? 0 : parseAddress(gateway, 'setDefaultRoute() gateway');
    const r = this.#core.routeDefault(this.index, gw);
    if (r < 0) throw errorFromErrno(r, `setDefaultRoute(${gateway}) (not on ${this.address}/${this.prefix})`);
  }

  /** Interception of what guests send to addresses that are not the stack's (before NAT):
   * `tcp(request)` gets each connection's SYN, held: `request.address`/`port` (where the
   * guest wants to go), `request.from`; it calls `request.accept()` (the guest's handshake
   * completes; returns the Connection) or `request.refuse('reset' | 'net' | 'host')`;
   * `udp(datagram)` gets each datagram: `data`, `address`/`port` (its destination),
   * `from`, `reply(bytes)` (from that destination) and `unreachable()`. */
  intercept({ tcp, udp, backlog = 128 } = {}) {
    const core = this.#core;
    const stack = this.#stack;
    if (tcp) {
      const h = core.interceptListen(this.index, backlog);
      if (h < 0) throw errorFromErrno(h, `intercept TCP on ${this.address}`);
      stack._register(h, {
        _onEvents: (bits) => {
          if (!(bits & EV.ACCEPTABLE)) return;
          for (let c; (c = core.accept(h)) > 0; ) {
            const [dst, dport] = core.sockname(c);
            const [src, sport] = core.peername(c);
            let decided = false;
            const request = {
              address: formatAddress(dst),
              port: dport,
              from: { address: formatAddress(src), port: sport },
              accept: () => {
                if (decided) throw new WtcpError('EINVAL', 'intercept: this connection was decided already');
                decided = true;
                const r = core.interceptComplete(c);
                if (r < 0) {
                  core.close(c);
                  throw errorFromErrno(r, `intercept: the guest's connection to ${request.address}:${dport} is gone`);
                }
                stack._kick();
                return stack._adopt(c);
              },
              refuse: (how = 'reset') => {
                if (decided) return;
                decided = true;
                core.interceptRefuse(c, REFUSALS[how] ?? 0);
                stack._kick();
              },
            };
            Promise.resolve()
              .then(() => tcp(request))
              .catch(() => request.refuse('reset'));
          }
        },
        _stackClosed() {},
      });
    }
    if (udp) {
      const h = core.interceptUdp(this.index);
      if (h < 0) throw errorFromErrno(h, `intercept UDP on ${this.address}`);
      stack._register(h, {
        _onEvents: (bits) => {
          if (!(bits & EV.READABLE)) return;
          for (let d; typeof (d = core.interceptRecvfrom(h, 65535)) === 'object'; ) {
            const { src, srcPort, dst, dstPort } = d;
            udp({
              data: d.data,
              address: formatAddress(dst),
              port: dstPort,
              from: { address: formatAddress(src), port: srcPort },
              reply: (bytes) => {
                const r = core.interceptSendto(h, toBytes(bytes, 'reply'), dst, dstPort, src, srcPort);
                stack._kick();
                return r;
              },
              unreachable: () => {
                core.interceptUnreachable(h, dst, dstPort, src, srcPort);
                stack._kick();
              },
            });
          }
        },
        _stackClosed() {},
      });
    }
  }

  /** Frames and bytes in and out, and frames dropped on input. */
  stats() {
    const v = this.#core.ifaceStats(this.index);
    return { framesIn: v[0], framesOut: v[1], bytesIn: v[2], bytesOut: v[3], drops: v[4] };
  }

  /** Serves DHCP on this interface (again: reconfigures it). options: first, last (the
   * pool; default .15 of the prefix to its end), lease (s, 86400), router and dns
   * (addresses to hand out; default this interface's, null: none), mtu (option 26; this
   * interface's), static: [{ mac, address }]. */
  dhcp(options = {}) {
    options = checkOptions(options, 'dhcp()');
    const addr = (name, dflt) => {
      const v = options[name];
      if (v === undefined) return dflt;
      if (v === null) return NONE;
      return parseAddress(v, `dhcp options.${name}`);
    };
    const r = this.#core.dhcpEnable(
      this.index,
      addr('first', 0),
      addr('last', 0),
      optionalInt(options, 'lease', 60, 0x7fffffff) ?? 0,
      addr('router', 0),
      addr('dns', 0),
      optionalInt(options, 'mtu', 576, 65535) ?? 0,
    );
    if (r < 0) throw errorFromErrno(r, `dhcp on ${this.address}/${this.prefix} (the pool must be on the prefix, without this address)`);
    const statics = options.static ?? [];
    if (!Array.isArray(statics)) throw new WtcpError('EINVAL', `dhcp options.static must be an array, got ${describe(statics)}`);
    for (const [i, s] of statics.entries()) {
      const mac = parseMac(s?.mac, `dhcp options.static[${i}].mac`);
      const r2 = this.#core.dhcpStatic(this.index, mac, parseAddress(s.address, `dhcp options.static[${i}].address`));
      if (r2 < 0) throw errorFromErrno(r2, `dhcp static lease of ${s.address} for ${s.mac}`);
    }
  }

  /** The leases the DHCP server holds now: [{ mac, address, state, static, expires }]
   * (expires: ms on performance.now()'s clock). */
  leases() {
    const out = [];
    for (let n = 0; ; n++) {
      const v = this.#core.dhcpLease(this.index, n);
      if (v === null) break;
      if (typeof v === 'number') throw errorFromErrno(v, 'leases() (no DHCP server on this interface)');
      out.push({
        mac: formatMac(v.subarray(4, 10)),
        address: formatAddress(v[0]),
        state: LEASE_STATES[v[1]],
        static: v[2] === 1,
        expires: v[3],
      });
    }
    return out;
  }
}

/** Turns options.forward's { protocol, port, to } into the core's call. */
export function addForward(core, options) {
  options = checkOptions(options, 'forward()', true);
  const proto = PROTO[options.protocol ?? 'tcp'];
  if (!proto) throw new WtcpError('EINVAL', `forward() protocol must be "tcp" or "udp", got ${describe(options.protocol)}`);
  const port = checkPort(options.port, 'forward() port');
  let to = options.to;
  if (typeof to === 'string') {
    const [host, p] = to.split(':');
    to = { host, port: p === undefined ? port : Number(p) };
  }
  if (!to || typeof to !== 'object') throw new WtcpError('EINVAL', `forward() to must be "a.b.c.d:port" or { host, port }, got ${describe(options.to)}`);
  const addr = parseAddress(to.host, 'forward() to.host');
  const toPort = checkPort(to.port ?? port, 'forward() to.port');
  const r = core.natForward(proto, port, addr, toPort);
  if (r < 0) throw errorFromErrno(r, `forward ${options.protocol ?? 'tcp'} port ${port} to ${to.host}:${toPort} (NAT on, the host on an inside interface)`);
}

export function removeForward(core, protocol, port) {
  const proto = PROTO[protocol];
  if (!proto) throw new WtcpError('EINVAL', `unforward() protocol must be "tcp" or "udp", got ${describe(protocol)}`);
  const r = core.natUnforward(proto, checkPort(port, 'unforward() port'));
  if (r < 0) throw errorFromErrno(r, `unforward ${protocol} port ${port} (no such forward)`);
}

/** A Wisp server as the guest LAN's uplink: one WebSocket, opened again (with backoff) when
 * it goes; each intercepted TCP connection and each UDP flow (guest address and port to a
 * destination) is a stream. */
class WispUplink {
  #url;
  #options;
  #conn = null;
  #ready = null;
  #udp = new Map(); // "src:sport>dst:dport" -> stream
  #backoff = 250;
  /** The last close or connect error, for the application. */
  lastError = null;
  /** Set by close(): no more reconnecting. */
  closing = false;

  constructor(url, options) {
    this.#url = url;
    this.#options = options;
    this.#reconnect();
  }

  #reconnect() {
    this.#ready = this.#connect();
    this.#ready.catch(() => {}); // it fails only once close() was called: nothing to report
  }

  async #connect() {
    for (;;) {
      if (this.closing) throw new WtcpError('EBADF', 'the Wisp uplink is closed');
      try {
        const Ctor = await webSocketClass(this.#options);
        const conn = await WispConnection.open(this.#url, Ctor);
        if (this.closing) {
          conn.close();
          throw new WtcpError('EBADF', 'the Wisp uplink is closed');
        }
        this.#conn = conn;
        this.#backoff = 250;
        conn.closed.then((why) => {
          this.lastError = new WtcpError('ECONNRESET', `wisp ${this.#url} closed (${why.code} ${why.reason})`);
          this.#conn = null;
          this.#udp.clear();
          if (!this.closing) this.#reconnect();
        });
        return conn;
      } catch (err) {
        this.lastError = err;
        if (this.closing) throw err;
        await new Promise((resolve) => setTimeout(resolve, this.#backoff));
        this.#backoff = Math.min(this.#backoff * 2, 30000);
      }
    }
  }

  async #connection(ms) {
    if (this.#conn) return this.#conn;
    let timer;
    return Promise.race([
      this.#ready,
      new Promise((resolve) => (timer = setTimeout(() => resolve(null), ms))),
    ]).finally(() => clearTimeout(timer));
  }

  #perGuest = new Map(); // guest address -> its TCP streams open now

  /** An intercepted TCP connection: a stream, then the guest's handshake, then both ways. */
  async tcp(req) {
    const guest = req.from.address;
    const open = this.#perGuest.get(guest) ?? 0;
    if (open >= STREAMS_PER_GUEST) return req.refuse('reset'); // one guest cannot take them all
    this.#perGuest.set(guest, open + 1);
    try {
      await this.#tcp(req);
    } finally {
      const n = this.#perGuest.get(guest) - 1;
      if (n > 0) this.#perGuest.set(guest, n);
      else this.#perGuest.delete(guest);
    }
  }

  async #tcp(req) {
    const conn = await this.#connection(this.#options.connectTimeout ?? 10000);
    if (!conn) return req.refuse('net');
    const stream = conn.connect(WISP_TCP, req.address, req.port);
    const reason = await stream.opened(this.#options.connectWait ?? 100);
    if (reason) {
      this.#report(req, reason);
      return req.refuse(reason === 0x42 || reason === 0x43 ? 'host' : 'reset');
    }
    const c = req.accept();
    // What the remote sends waits for the guest to take it: past PENDING_MAX bytes the
    // WebSocket stops being read (the server then stops reading the remote), and where it
    // cannot pause, the stream is closed before the buffer passes PENDING_HARD.
    let pending = 0;
    let paused = false;
    stream.ondata = (bytes) => {
      pending += bytes.length;
      if (!paused && pending > PENDING_MAX) {
        paused = conn.pause();
        if (!paused && pending > PENDING_HARD) {
          stream.close(0x81);
          c.abort();
          return;
        }
      }
      c.write(bytes).then(
        () => {
          pending -= bytes.length;
          if (paused && pending <= PENDING_MAX / 2) {
            paused = false;
            conn.resume();
          }
        },
        () => stream.close(0x81),
      );
    };
    // The remote's close ends the guest's connection: a FIN when it was voluntary, else a
    // reset (a network error, the Wisp server gone), as a real network would show.
    stream.onclose = (reason) => {
      if (paused) conn.resume();
      paused = false;
      if (reason === 0x02) {
        c.end().catch(() => {});
      } else {
        this.#report(req, reason);
        c.abort();
      }
    };
    try {
      for (;;) {
        const chunk = await c.read();
        if (chunk === null) break; // the guest's FIN: Wisp 1 cannot half-close, so the
        await stream.write(chunk); // stream stays open for the answer until either side ends
      }
    } catch {
      stream.close(0x02);
      c.abort();
    }
    if (!stream.closed) { // the stream counts against its guest until it ends
      await new Promise((resolve) => {
        const onclose = stream.onclose;
        stream.onclose = (reason) => {
          onclose(reason);
          resolve();
        };
      });
    }
  }

  /** Called with { address, port, from, reason, why } when the Wisp server refuses or ends a
   * guest's stream with an error (why: the close reason's words, e.g. "connection refused"). */
  onerror = null;

  #report(req, reason) {
    try {
      this.onerror?.({ address: req.address, port: req.port, from: req.from, reason, why: WISP_REASONS[reason] ?? 'unknown' });
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  /** A guest's datagram: its flow's stream (made on the first one; at most UDP_FLOWS flows,
   * the least recently used closed first). */
  async udp(d) {
    const key = `${d.from.address}:${d.from.port}>${d.address}:${d.port}`;
    let stream = this.#udp.get(key);
    if (stream && !stream.closed) {
      this.#udp.delete(key); // to the end of the map's order: most recently used
      this.#udp.set(key, stream);
    } else {
      const conn = await this.#connection(this.#options.connectTimeout ?? 10000);
      if (!conn) return d.unreachable();
      if (this.#udp.size >= UDP_FLOWS) {
        const [oldKey, old] = this.#udp.entries().next().value;
        this.#udp.delete(oldKey);
        old.close(0x02);
      }
      stream = conn.connect(WISP_UDP, d.address, d.port);
      this.#udp.set(key, stream);
      stream.ondata = (bytes) => d.reply(bytes);
      stream.onclose = () => {
        if (this.#udp.get(key) === stream) this.#udp.delete(key);
      };
    }
    stream.write(d.data).catch(() => {});
  }

  close() {
    this.closing = true;
    this.#conn?.close();
  }
}

/** stack.addGuestLan(): an Ethernet interface with DHCP, NAT onto the first link and DNS. */
export function setupGateway(stack, core, options, relayDns) {
  options = checkOptions(options ?? {}, 'addGuestLan()');
  const lan = stack.addEthernet({
    address: options.address ?? '10.0.2.2/24',
    mac: options.mac,
    mtu: options.mtu,
    onframe: options.onframe,
  });
  if (options.wisp !== undefined) {
    // Wisp carries the guests' TCP and UDP: interception, before NAT (if NAT is on too, it
    // takes what is left: ICMP).
    const uplink = new WispUplink(String(options.wisp), options);
    lan.wisp = uplink;
    lan.intercept({ tcp: (req) => uplink.tcp(req), udp: (d) => uplink.udp(d) });
  }
  // NAT onto the stack's link: on by default, off by default with Wisp (then nothing else
  // needs it unless the stack has a relay too: nat: true).
  if (options.nat ?? options.wisp === undefined) {
    const r = core.natEnable(0, optionalInt(options, 'maxFlows', 1, 1 << 20) ?? 0);
    if (r < 0) throw errorFromErrno(r, 'addGuestLan() NAT onto the first link (it needs an address)');
  }
  // DNS: a resolver's address (through NAT, or over Wisp), a handler here, or none.
  const dns = options.dns === undefined ? (relayDns ?? null) : options.dns;
  let dnsOption;
  if (typeof dns === 'string' && options.wisp !== undefined) {
    parseAddress(dns, 'addGuestLan() dns');
    dnsOption = dns; // the leases name it; the guests' queries reach it as Wisp UDP streams
  } else if (typeof dns === 'string') {
    const r = core.natDns(parseAddress(dns, 'addGuestLan() dns'));
    if (r < 0) throw errorFromErrno(r, `addGuestLan() dns ${dns} (NAT on, and the resolver beyond the first link)`);
  } else if (typeof dns === 'function') {
    const sock = stack.udp.bind({ host: lan.address, port: 53 });
    (async () => {
      for await (const { data, address, port } of sock) {
        let answer;
        try {
          answer = await dns(data, { address, port });
        } catch {
          answer = null;
        }
        if (answer) sock.send(answer, address, port);
      }
    })();
  } else if (dns === null || dns === false) {
    dnsOption = null; // no DNS server in the leases
  } else {
    throw new WtcpError('EINVAL', `addGuestLan() dns must be a resolver address, a function or false, got ${describe(dns)}`);
  }
  if (options.dhcp !== false) {
    lan.dhcp({ ...(typeof options.dhcp === 'object' ? options.dhcp : {}), ...(dnsOption !== undefined ? { dns: dnsOption } : {}) });
  }
  for (const f of options.forwards ?? []) addForward(core, f);
  return lan;
}
