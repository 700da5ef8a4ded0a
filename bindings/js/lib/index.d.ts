// Types of the npm package "wtcp": a userspace TCP/IPv4 stack in WebAssembly.

/** Names of failures: the core's WTCP_E* codes, plus EIO for loading and links. */
export type WtcpErrorCode =
  | 'EINVAL'
  | 'EBADF'
  | 'EAGAIN'
  | 'ENOMEM'
  | 'EMFILE'
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EISCONN'
  | 'ENOTCONN'
  | 'EALREADY'
  | 'EINPROGRESS'
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ECONNABORTED'
  | 'ETIMEDOUT'
  | 'EPIPE'
  | 'EMSGSIZE'
  | 'ENETUNREACH'
  | 'EHOSTUNREACH'
  | 'EOPNOTSUPP'
  | 'ENOPROTOOPT'
  | 'EPROTO'
  | 'ENOBUFS'
  | 'EIO';

/** Every error the package raises. */
export class WtcpError extends Error {
  constructor(code: WtcpErrorCode, message?: string, options?: { cause?: unknown });
  readonly name: 'WtcpError';
  readonly code: WtcpErrorCode;
  /** The core's negative errno (undefined for EIO). */
  readonly errno: number | undefined;
}

/** The core's negative errno values by name. */
export const errnos: Readonly<Record<Exclude<WtcpErrorCode, 'EIO'>, number>>;

/** Bytes accepted by write() and send(): strings are sent as UTF-8. */
export type BytesLike = Uint8Array | ArrayBufferView | ArrayBuffer | string;

/** Where wtcp.wasm comes from, when not from beside the package's modules. */
export type WasmSource = WebAssembly.Module | BufferSource | URL | string | Response | Promise<Response>;

/** Options of the stack itself (all optional; the core's defaults are Linux's). */
export interface StackTuning {
  /** Link MTU, 576..65535 (default 1500). */
  mtu?: number;
  /** Sockets, including those not yet accepted (default 16384); closed connections in
   * TIME-WAIT do not count (maxTimeWait). */
  maxSockets?: number;
  /** Most a connection's send buffer grows to, in bytes, as its congestion window grows (default 4 MiB). */
  sendBuffer?: number;
  /** Receive buffer per connection in bytes (default 256 KiB). */
  receiveBuffer?: number;
  /** Largest receive buffer; sets the window scale (default 6 MiB). */
  maxReceiveBuffer?: number;
  /** Cap on listen backlogs (default 4096, Linux's somaxconn); a backlog bounds both the
   * half-open connections and those awaiting accept, SYN cookies answer beyond it. */
  maxBacklog?: number;
  /** TIME-WAIT in ms (default 60000). */
  timeWait?: number;
  /** Closed connections kept in TIME-WAIT, about 64 bytes each and outside maxSockets;
   * when full the oldest is recycled (default 16384). */
  maxTimeWait?: number;
  /** The retransmission timeout's floor in ms (default 200, as Linux); lower it only
   * where peers ACK promptly, e.g. a relay on the same host. */
  rtoMin?: number;
  /** Congestion control of every connection (default 'cubic'; a connection may choose its own). */
  congestion?: Congestion;
  /** SYN retransmissions before ETIMEDOUT (default 6, about 127 s). */
  synRetries?: number;
  /** SYN-ACK retransmissions (default 5). */
  synAckRetries?: number;
  /** Data and FIN retransmissions before ETIMEDOUT (default 15). */
  dataRetries?: number;
  /** Local port range for connect() (default [32768, 60999]). */
  ephemeralPorts?: [number, number];
  /** IP TTL (default 64). */
  ttl?: number;
  /** Offer RFC 7323 timestamps (default true). */
  timestamps?: boolean;
  /** Offer SACK (default true). */
  sack?: boolean;
  /** Offer window scaling (default true). */
  windowScale?: boolean;
  /** RFC 6528 ISN secret, 16 bytes (default: random). */
  isnKey?: Uint8Array;
  /** Where to load wtcp.wasm from (default: beside the package's modules). */
  wasm?: WasmSource;
  /** Receives every packet the stack sends (a raw packet link). */
  onpacket?: ((packet: Uint8Array) => void) | null;
}

/** A stack with an address of its own: feed it with input(), read onpacket/packets. */
export interface AddressOptions extends StackTuning {
  /** Our IPv4 address, e.g. '10.0.2.15'. */
  address: string;
  /** On-link prefix length; off-link addresses give ENETUNREACH unless a gateway is set (default 0: all on-link). */
  prefix?: number;
  /** A gateway: every address is then reachable through the link. */
  gateway?: string | null;
  /** A DNS resolver for addGuestLan() to hand out (a relay may name one instead). */
  dns?: string | null;
  relay?: undefined;
}

/** A WebSocket constructor: the browser's, undici's, or the `ws` package's. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
}

/** A stack whose address, prefix, gateway and MTU come from the relay's config message. */
export interface RelayOptions extends Omit<StackTuning, 'mtu'> {
  /** The relay's WebSocket URL, e.g. 'ws://127.0.0.1:8787'. */
  relay: string | URL;
  /** WebSocket implementation (default: globalThis.WebSocket, or `ws` in Node 20). */
  WebSocket?: WebSocketConstructor;
  /** WebSocket subprotocols (e.g. a token as "wtcp.token.TOKEN"); "wtcp.2" is offered first unless relayVersion is 1. */
  protocols?: string | string[];
  /** The wire protocol to ask for: 2 (default; many packets per message, falls back to 1 when the relay has only 1) or 1 (one packet per message). */
  relayVersion?: 1 | 2;
  /** How long to wait for the config message, in ms (default 10000). */
  relayTimeout?: number;
  address?: undefined;
}

export type StackOptions = AddressOptions | RelayOptions;

export function createStack(options: StackOptions): Promise<Stack>;

/** Probabilities 0..1 of each fault per packet, a delay in ms, and the seed. */
export interface FaultOptions {
  seed?: number;
  loss?: number;
  duplicate?: number;
  /** Swap a packet with the next one in the same direction. */
  reorder?: number;
  /** Flip one random bit (the receiver's checksums drop it). */
  corrupt?: number;
  delay?: number;
}

export class FaultInjector {
  constructor(options?: FaultOptions);
  loss: number;
  duplicate: number;
  reorder: number;
  corrupt: number;
  delay: number;
  readonly counts: { packets: number; lost: number; duplicated: number; reordered: number; corrupted: number };
  /** Changes faults while the link runs. */
  set(options: Omit<FaultOptions, 'seed'>): this;
}

export interface PairOptions extends StackTuning {
  /** A seeded fault injector on the link (both directions). */
  faults?: FaultOptions | FaultInjector;
  /** Options of the first stack (default address 10.0.0.1, prefix 24). */
  a?: Partial<AddressOptions>;
  /** Options of the second stack (default address 10.0.0.2, prefix 24). */
  b?: Partial<AddressOptions>;
}

/** Two stacks linked in memory, in one process. */
export function pair(options?: PairOptions): Promise<[Stack, Stack]>;

/** Links two existing stacks in memory (what pair() does). */
export function linkStacks(a: Stack, b: Stack, options?: { faults?: FaultOptions | FaultInjector }): PairLink;

export interface Link {
  readonly kind: 'pair' | 'relay';
  close(): void;
}

export class PairLink implements Link {
  private constructor();
  readonly kind: 'pair';
  /** The fault injector, or null. */
  readonly faults: FaultInjector | null;
  close(): void;
}

export class RelayLink implements Link {
  private constructor();
  readonly kind: 'relay';
  readonly url: string;
  /** The wire protocol version in use: 2 (length-prefixed packets, many per message) or 1. */
  readonly version: 1 | 2;
  /** Resolves when the relay's WebSocket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export interface RelayConfig {
  /** 1 or 2. */
  version: number;
  /** Version 2: the largest message either side may send (0 in version 1). */
  maxMessage: number;
  address: string;
  prefix: number;
  gateway: string | null;
  mtu: number;
  /** A DNS resolver the relay names ("dns" in its config message), or null. */
  dns: string | null;
}

/** Parses and checks the relay's first (text) message. */
export function parseRelayConfig(text: string, url?: string): RelayConfig;

export interface ListenOptions {
  /** 0 picks a free port. */
  port: number;
  /** Our address or '0.0.0.0' (default). */
  host?: string;
  /** Connections that may wait to be accepted (default 128, capped by maxBacklog). */
  backlog?: number;
  reuseAddress?: boolean;
}

/** CUBIC (RFC 9438 with HyStart++) or NewReno (RFC 5681, RFC 6582). */
export type Congestion = 'cubic' | 'newreno';

export interface KeepAliveOptions {
  /** Seconds without traffic before the first probe (default 60). */
  idle?: number;
  /** Seconds between probes (default 10). */
  interval?: number;
  /** Unanswered probes before ETIMEDOUT (default 5). */
  count?: number;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** Give up (ETIMEDOUT) if not established within this many ms. */
  timeout?: number;
  noDelay?: boolean;
  localPort?: number;
  /** Keepalive probes (SO_KEEPALIVE, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT). */
  keepAlive?: boolean | KeepAliveOptions;
  /** Ms sent data may stay unacknowledged before ETIMEDOUT (TCP_USER_TIMEOUT; 0: retries). */
  userTimeout?: number;
  /** This connection's congestion control (TCP_CONGESTION). */
  congestion?: Congestion;
}

export interface StackStats {
  ipIn: number;
  ipOut: number;
  ipInBytes: number;
  ipOutBytes: number;
  tcpIn: number;
  tcpOut: number;
  tcpRetransmits: number;
  tcpResetsOut: number;
  tcpChallengeAcks: number;
  tcpActiveOpens: number;
  tcpPassiveOpens: number;
  tcpFailed: number;
  udpIn: number;
  udpOut: number;
  icmpIn: number;
  icmpOut: number;
  /** Packets dropped on input, in all. */
  drops: number;
  /** Input drops by reason, e.g. { 'tcp: bad checksum': 3 } (reasons seen only). */
  dropReasons: Record<string, number>;
  /** Packets the stack could not queue for output (out of memory). */
  outputDrops: number;
  /** Packets the link could not take (none attached, queue full, socket closed). */
  linkDrops: number;
  /** Bytes the core holds on its heap. */
  heapBytes: number;
  /** Retransmission timeouts, fast recoveries, tail loss probes, segments RACK marked lost. */
  tcpTimeouts: number;
  tcpRecoveries: number;
  tcpLossProbes: number;
  tcpRackLosses: number;
  /** Closed connections waiting out TIME-WAIT in the compact table now. */
  tcpTimeWait: number;
  /** TIME-WAIT entries ended early because the table (maxTimeWait) was full. */
  tcpTimeWaitRecycled: number;
  /** SYN cookies sent when a listener's SYN queue was full, returned, and found invalid. */
  tcpSynCookiesSent: number;
  tcpSynCookiesRecv: number;
  tcpSynCookiesFailed: number;
  /** Ethernet frames received and sent, and ARP messages, on all Ethernet interfaces. */
  ethIn: number;
  ethOut: number;
  arpIn: number;
  arpOut: number;
  /** ARP cache entries now, packets waiting for an address now, entries evicted (cache full). */
  arpEntries: number;
  arpQueued: number;
  arpEvicted: number;
  /** DHCP messages the servers took and sent; leases bound now. */
  dhcpIn: number;
  dhcpOut: number;
  dhcpLeases: number;
  /** Packets NAT translated outward and inward; flows tracked now; flows dropped early (table full). */
  natOut: number;
  natIn: number;
  natFlows: number;
  natEvicted: number;
  /** Size of the stack's wasm memory. */
  memoryBytes: number;
  /** Connections, listeners and sockets open from JavaScript. */
  handles: number;
}

export class Stack implements AsyncDisposable, Disposable {
  private constructor();
  /** Our IPv4 address. */
  readonly address: string;
  readonly prefix: number;
  readonly gateway: string | null;
  readonly mtu: number;
  /** A DNS resolver the relay named (or options.dns), or null. */
  readonly dns: string | null;
  /** The link (pair or relay), or null for a raw packet link. */
  link: PairLink | RelayLink | null;
  /** True once close() was called. */
  readonly closed: boolean;

  /** Receives every packet the stack sends. */
  onpacket: ((packet: Uint8Array) => void) | null;
  /** The packets the stack sends, as an async iterable (instead of onpacket). */
  readonly packets: AsyncIterableIterator<Uint8Array>;
  /** Feeds one received IPv4 packet. */
  input(packet: Uint8Array | ArrayBuffer | ArrayBufferView): void;

  listen(options: ListenOptions): Listener;
  connect(options: ConnectOptions): Promise<Connection>;
  readonly udp: { bind(options?: { port?: number; host?: string }): UdpSocket };

  /** Adds an Ethernet interface: frames in with iface.input(), out through iface.onframe. */
  addEthernet(options: EthernetOptions): EthernetInterface;
  /** An Ethernet interface for guests with a DHCP server, NAT onto this stack's link, DNS
   * and port forwards (wtcp/v86 makes one for an emulator's NIC). */
  addGuestLan(options?: GuestLanOptions): EthernetInterface;
  /** Makes a port of this stack's address reach a guest (NAT on: addGuestLan()). */
  forward(options: ForwardOptions): void;
  unforward(protocol: 'tcp' | 'udp', port: number): void;
  /** Interface 0 (the link) and the Ethernet interfaces. */
  readonly interfaces: ReadonlyArray<{ index: number; address: string; prefix: number; mtu: number } | EthernetInterface>;

  stats(): StackStats;
  /** Resets open connections, closes everything, frees the stack. */
  close(): void;
  [Symbol.asyncDispose](): Promise<void>;
  [Symbol.dispose](): void;
}

export interface EthernetOptions {
  /** The interface's address and prefix, e.g. '10.0.2.2/24' (or address and prefix). */
  address: string;
  prefix?: number;
  /** Its MAC address, '52:54:00:12:34:56' (default: a random locally administered one). */
  mac?: string;
  /** IP MTU (default 1500: frames of 1514 bytes). */
  mtu?: number;
  onframe?: ((frame: Uint8Array) => void) | null;
}

export interface DhcpOptions {
  /** The pool (default: .15 of the prefix to its end). */
  first?: string;
  last?: string;
  /** Lease time in seconds (default 86400); T1 at half, T2 at 7/8. */
  lease?: number;
  /** What leases name as router and DNS server (default this interface's address; null: none). */
  router?: string | null;
  dns?: string | null;
  /** Option 26 (default this interface's MTU). */
  mtu?: number;
  /** The same address for a MAC every time. */
  static?: Array<{ mac: string; address: string }>;
}

export interface DhcpLease {
  mac: string;
  address: string;
  state: 'offered' | 'bound' | 'declined';
  static: boolean;
  /** When it lapses, in ms on performance.now()'s clock. */
  expires: number;
}

export interface ForwardOptions {
  /** Default 'tcp'. */
  protocol?: 'tcp' | 'udp';
  /** The port of the stack's own address. */
  port: number;
  /** The guest's address and port: '10.0.2.15:80' or { host, port } (port: the same). */
  to: string | { host: string; port?: number };
}

/** Answers a guest's DNS query (the UDP payload) with a response, or null for none. */
export type DnsHandler = (query: Uint8Array, from: { address: string; port: number }) => Uint8Array | null | Promise<Uint8Array | null>;

export interface GuestLanOptions {
  /** Default '10.0.2.2/24', as QEMU's user network. */
  address?: string;
  mac?: string;
  mtu?: number;
  onframe?: ((frame: Uint8Array) => void) | null;
  /** NAT onto the stack's link (default true). */
  nat?: boolean;
  /** Tracked flows (default 4096). */
  maxFlows?: number;
  /** The DHCP server (default on, with DhcpOptions' defaults); false: none. */
  dhcp?: DhcpOptions | boolean;
  /** A resolver's address (queries to the gateway go there through NAT), a handler, or
   * false (leases name no DNS server). Default: the relay's resolver, else none. */
  dns?: string | DnsHandler | false | null;
  forwards?: ForwardOptions[];
  /** A Wisp server (ws:// or wss:// URL) as the uplink: guests' TCP and UDP to elsewhere
   * are intercepted and carried as Wisp streams (no relay needed; NAT then off unless
   * `nat: true`). With `dns` an address, leases name it and queries go as UDP streams. */
  wisp?: string;
  /** Wisp: how long a new stream may stay silent before it counts as open (Wisp 1 does not
   * acknowledge CONNECT; a CLOSE before then refuses the guest's connection). Default 100 ms. */
  connectWait?: number;
  /** Wisp: how long to wait for the Wisp server when it is down (ms, default 10000). */
  connectTimeout?: number;
  /** The WebSocket class for Wisp (default the environment's; `ws` in Node 20). */
  WebSocket?: WebSocketConstructor;
}

/** A guest's connection to elsewhere, held until accept() or refuse(). */
export interface InterceptedConnection {
  /** Where the guest wants to go. */
  address: string;
  port: number;
  from: { address: string; port: number };
  /** Completes the guest's handshake; the connection is then an ordinary one. */
  accept(): Connection;
  /** 'reset' (ECONNREFUSED), or ICMP 'net' / 'host' unreachable. */
  refuse(how?: 'reset' | 'net' | 'host'): void;
}

/** A guest's datagram to elsewhere. */
export interface InterceptedDatagram {
  data: Uint8Array;
  /** Its destination. */
  address: string;
  port: number;
  from: { address: string; port: number };
  /** A datagram back to the guest, from the destination. */
  reply(data: BytesLike): number;
  /** ICMP port unreachable, from the destination. */
  unreachable(): void;
}

/** The Wisp uplink of a guest LAN (addGuestLan({ wisp })). */
export interface WispUplink {
  /** The last error of the WebSocket to the Wisp server (it reconnects with backoff). */
  readonly lastError: WtcpError | null;
  /** A guest's stream refused or ended with an error by the server: its close reason. */
  onerror: ((event: { address: string; port: number; from: { address: string; port: number }; reason: number; why: string }) => void) | null;
  close(): void;
}

export class EthernetInterface {
  private constructor();
  /** With addGuestLan({ wisp }): the Wisp uplink. */
  readonly wisp?: WispUplink;
  readonly index: number;
  readonly address: string;
  readonly prefix: number;
  readonly mac: string;
  readonly mtu: number;
  /** Frames sent while no onframe was set (dropped). */
  readonly droppedFrames: number;
  /** Called with every frame the interface sends (a fresh Uint8Array each). */
  onframe: ((frame: Uint8Array) => void) | null;
  /** Feeds one received Ethernet frame (no FCS). */
  input(frame: Uint8Array | ArrayBuffer | ArrayBufferView): void;
  /** Takes what guests send to addresses that are not the stack's (before NAT). */
  intercept(handlers: {
    tcp?: (request: InterceptedConnection) => void | Promise<void>;
    udp?: (datagram: InterceptedDatagram) => void;
    backlog?: number;
  }): void;
  /** Off-prefix destinations go to gateway through this interface (null: none). */
  setDefaultRoute(gateway: string | null): void;
  dhcp(options?: DhcpOptions): void;
  leases(): DhcpLease[];
  stats(): { framesIn: number; framesOut: number; bytesIn: number; bytesOut: number; drops: number };
}

export class Listener implements AsyncIterable<Connection>, AsyncDisposable, Disposable {
  private constructor();
  readonly address: string;
  readonly port: number;
  /** The next connection, or null once closed. */
  accept(): Promise<Connection | null>;
  /** Stops listening; connections not yet accepted are reset. */
  close(): void;
  [Symbol.asyncIterator](): AsyncIterator<Connection>;
  [Symbol.asyncDispose](): Promise<void>;
  [Symbol.dispose](): void;
}

export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'CLOSE-WAIT'
  | 'FIN-WAIT-1'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'FIN-WAIT-2'
  | 'TIME-WAIT';

/** TCP_INFO-like figures (times in ms, sizes in bytes). */
export interface ConnectionInfo {
  state: TcpState;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Send MSS (payload bytes per full segment). */
  mss: number;
  rcvMss: number;
  sendWindow: number;
  receiveWindow: number;
  sendWindowScale: number;
  receiveWindowScale: number;
  timestamps: boolean;
  sack: boolean;
  cwnd: number;
  ssthresh: number;
  srtt: number;
  rttvar: number;
  rto: number;
  backoff: number;
  retransmits: number;
  unacked: number;
  sendBuffered: number;
  receiveBuffered: number;
  bytesSent: number;
  bytesAcked: number;
  bytesReceived: number;
  segmentsIn: number;
  segmentsOut: number;
  congestion: Congestion;
  /** Linux's names: open, disorder (SACKs seen), recovery, loss (after a timeout). */
  caState: 'open' | 'disorder' | 'recovery' | 'loss';
  /** Segments the scoreboard counts lost now. */
  lost: number;
  /** Reordering degree seen, in segments. */
  reordering: number;
  /** RACK's reordering window now, ms. */
  rackReorderWindow: number;
  /** Tail loss probes sent. */
  lossProbes: number;
}

export class Connection implements AsyncIterable<Uint8Array>, AsyncDisposable, Disposable {
  private constructor();
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The next bytes received (at most `max`, default 1 MiB), or null at end of stream. */
  read(max?: number): Promise<Uint8Array | null>;
  /** Resolves once the stack has taken every byte: do not change them before then. */
  write(data: BytesLike): Promise<void>;
  /** Half-close: FIN after the data written. write() afterwards fails with EPIPE. */
  end(): Promise<void>;
  /** Closes: FIN after the data taken (RST if received data is left unread). */
  close(): void;
  /** Resets the connection (RST). */
  abort(): void;
  setNoDelay(noDelay?: boolean): this;
  /** Keepalive probes on (default) or off, with their timing in seconds. */
  setKeepAlive(enable?: boolean, options?: KeepAliveOptions): this;
  /** TCP_USER_TIMEOUT in ms (0: the retry count decides). */
  setUserTimeout(ms: number): this;
  setCongestion(name: Congestion): this;
  info(): ConnectionInfo;
  /** Received bytes as a stream, pulled: the receive window opens as it is read. */
  readonly readable: ReadableStream<Uint8Array>;
  /** write() per chunk; close() is end(); abort() is abort(). */
  readonly writable: WritableStream<BytesLike>;
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
  [Symbol.asyncDispose](): Promise<void>;
  [Symbol.dispose](): void;
}

export interface Datagram {
  data: Uint8Array;
  address: string;
  port: number;
}

export class UdpSocket implements AsyncIterable<Datagram>, AsyncDisposable, Disposable {
  private constructor();
  readonly address: string;
  readonly port: number;
  /** Sends one datagram at once (EMSGSIZE beyond the MTU). */
  send(data: BytesLike, host: string, port: number): void;
  /** The next datagram, or null once closed. */
  receive(): Promise<Datagram | null>;
  close(): void;
  [Symbol.asyncIterator](): AsyncIterator<Datagram>;
  [Symbol.asyncDispose](): Promise<void>;
  [Symbol.dispose](): void;
}
