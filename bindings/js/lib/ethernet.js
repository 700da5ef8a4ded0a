// ethernet.js: a stack's Ethernet interfaces (frames in and out, as an emulated NIC hands
// them to JavaScript) and the gateway on one: a DHCP server, NAT onto the stack's first
// link (the relay, a pipe, pair()), DNS for the guests (a resolver, or a handler in
// JavaScript) and port forwards. The protocols are the core's (src/if.c, arp.c, dhcp.c,
// nat.c); this file checks arguments and turns them into its calls.

import { WtcpError, errorFromErrno } from './errors.js';
import { parseAddress, formatAddress, checkPort, optionalInt, checkOptions, describe, toBytes } from './args.js';

const LINK_ETHERNET = 2;
const PROTO = { tcp: 6, udp: 17 };
const LEASE_STATES = { 1: 'offered', 2: 'bound', 3: 'declined' };
const NONE = 0xffffffff;

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

/** stack.addGuestLan(): an Ethernet interface with DHCP, NAT onto the first link and DNS. */
export function setupGateway(stack, core, options, relayDns) {
  options = checkOptions(options ?? {}, 'addGuestLan()');
  const lan = stack.addEthernet({
    address: options.address ?? '10.0.2.2/24',
    mac: options.mac,
    mtu: options.mtu,
    onframe: options.onframe,
  });
  if (options.nat !== false) {
    const r = core.natEnable(0, optionalInt(options, 'maxFlows', 1, 1 << 20) ?? 0);
    if (r < 0) throw errorFromErrno(r, 'addGuestLan() NAT onto the first link (it needs an address)');
  }
  // DNS: a resolver's address (through NAT), a handler here, or none.
  const dns = options.dns === undefined ? (relayDns ?? null) : options.dns;
  let dnsOption;
  if (typeof dns === 'string') {
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
  if (options.dhcp !== false) lan.dhcp({ ...(typeof options.dhcp === 'object' ? options.dhcp : {}), ...(dnsOption === null ? { dns: null } : {}) });
  for (const f of options.forwards ?? []) addForward(core, f);
  return lan;
}
