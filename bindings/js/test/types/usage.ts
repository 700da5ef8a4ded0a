// usage.ts: a sample that uses the whole public API with its types; `tsc --noEmit`
// checks it against lib/index.d.ts and lib/node.d.ts (packaging.test.js runs it).

import http from 'node:http';
import {
  createStack,
  pair,
  linkStacks,
  parseRelayConfig,
  WtcpError,
  errnos,
  FaultInjector,
  type Stack,
  type Connection,
  type Listener,
  type UdpSocket,
  type ConnectionInfo,
  type StackStats,
  type Datagram,
  type WtcpErrorCode,
  type RelayConfig,
  type EthernetInterface,
  type DhcpLease,
} from 'wtcp';
import { createServer, connect, createConnection, Agent, Socket, Server } from 'wtcp/node';
import { attachV86, connectV86, type V86Like } from 'wtcp/v86';

async function main(): Promise<void> {
  const [a, b]: [Stack, Stack] = await pair({ faults: { seed: 1, loss: 0.01 }, timeWait: 1000, a: { mtu: 1400 } });
  const raw: Stack = await createStack({ address: '10.0.2.15', prefix: 24, mtu: 1500, onpacket: (p: Uint8Array) => void p });
  const relayed: Stack = await createStack({ relay: 'ws://127.0.0.1:8787', relayTimeout: 5000 });
  const other = await createStack({ address: '10.9.0.1', gateway: '10.9.0.254', sendBuffer: 65536, timestamps: false });
  linkStacks(raw, other, { faults: new FaultInjector({ seed: 5 }).set({ reorder: 0.1 }) });

  const address: string = a.address;
  const prefix: number = a.prefix;
  const gateway: string | null = a.gateway;
  void [address, prefix, gateway, a.mtu, a.link?.kind, a.closed];

  const listener: Listener = b.listen({ port: 80, backlog: 16 });
  const port: number = listener.port;
  void port;
  (async () => {
    for await (const conn of listener) {
      for await (const chunk of conn) await conn.write(chunk);
      await conn.end();
    }
  })();
  const accepted: Connection | null = await listener.accept();
  accepted?.close();

  const conn: Connection = await a.connect({ host: '10.0.0.2', port: 80, timeout: 5000, noDelay: true });
  await conn.write('text');
  await conn.write(new Uint8Array([1, 2, 3]));
  await conn.write(new ArrayBuffer(8));
  const chunk: Uint8Array | null = await conn.read(1024);
  void chunk;
  conn.setNoDelay(false).setNoDelay();
  const info: ConnectionInfo = conn.info();
  const figures: number[] = [info.cwnd, info.srtt, info.rto, info.retransmits, info.bytesSent, info.bytesReceived];
  const state: string = info.state;
  void [figures, state, conn.localAddress, conn.localPort, conn.remoteAddress, conn.remotePort];
  const reader = conn.readable.getReader();
  const { value } = await reader.read();
  const firstByte: number | undefined = value?.[0];
  void firstByte;
  reader.releaseLock();
  await conn.readable.pipeTo(conn.writable);
  await conn.end();
  conn.close();
  conn.abort();
  await conn[Symbol.asyncDispose]();
  conn[Symbol.dispose]();

  try {
    await a.connect({ host: '10.0.0.2', port: 81 });
  } catch (err) {
    if (err instanceof WtcpError) {
      const code: WtcpErrorCode = err.code;
      const errno: number | undefined = err.errno;
      void [code, errno, errnos.ECONNREFUSED];
    }
  }

  const udp: UdpSocket = a.udp.bind({ port: 53 });
  udp.send('ping', '10.0.0.2', 53);
  const d: Datagram | null = await udp.receive();
  for await (const dg of udp) void [dg.data.length, dg.address, dg.port];
  void d;
  udp.close();

  raw.onpacket = (packet) => other.input(packet);
  raw.onpacket = null;
  for await (const packet of other.packets) raw.input(packet);
  const stats: StackStats = a.stats();
  void [stats.ipIn, stats.drops, stats.dropReasons['tcp: bad checksum'], stats.heapBytes];

  const config: RelayConfig = parseRelayConfig('{"version":1,"address":"10.77.0.2","prefix":16}');
  void config;

  // Node adapter.
  const httpServer = http.createServer((req, res) => res.end('ok'));
  const server: Server = createServer({ stack: b }, (socket: Socket) => httpServer.emit('connection', socket));
  server.listen(8080, () => void server.address()?.port);
  const socket: Socket = connect({ stack: a, host: '10.0.0.2', port: 8080 }, () => socket.end('bye'));
  socket.setNoDelay(true).setTimeout(1000);
  const s2 = createConnection({ stack: a, host: '10.0.0.2', port: 8080, timeout: 100 });
  s2.destroy();
  http.get({ host: '10.0.0.2', port: 8080, agent: new Agent({ stack: a, keepAlive: true }) });
  http.request({ host: '10.0.0.2', port: 8080, createConnection: (opts: http.ClientRequestArgs) => connect({ stack: a, host: String(opts.host), port: Number(opts.port) }) });
  server.close();

  // Ethernet and a guest LAN (an emulator's NIC on the other end of the frames).
  const lan: EthernetInterface = a.addGuestLan({
    address: '10.0.2.2/24',
    dhcp: { first: '10.0.2.15', last: '10.0.2.99', lease: 3600, static: [{ mac: '52:54:00:12:34:56', address: '10.0.2.10' }] },
    dns: (query: Uint8Array) => query,
    forwards: [{ protocol: 'tcp', port: 8080, to: '10.0.2.15:80' }],
  });
  lan.onframe = (frame: Uint8Array) => void frame.length;
  lan.input(new Uint8Array(60));
  const leases: DhcpLease[] = lan.leases();
  void leases[0]?.state;
  a.forward({ port: 2222, to: { host: '10.0.2.15', port: 22 } });
  a.unforward('tcp', 2222);
  const emulator: V86Like = { add_listener() {}, remove_listener() {}, bus: { send() {} } };
  const attached = attachV86(emulator, b, { address: '10.0.3.2/24', dhcp: { lease: 600 } });
  attached.detach();
  void attached.lan.mac;
  const viaRelay = await connectV86(emulator, { relay: 'ws://127.0.0.1:8787', dns: false });
  viaRelay.stack.close();
  const viaWisp = await connectV86(emulator, { wisp: 'ws://127.0.0.1:5001/', dns: '10.88.0.1' });
  viaWisp.lan.intercept({ udp: (d) => void d.reply(d.data) });
  viaWisp.stack.close();
  const eth = b.addEthernet({ address: '10.9.0.1/24', mac: '02:00:00:00:00:01', mtu: 1500 });
  eth.setDefaultRoute(null);
  void eth.stats().framesIn;

  await listener[Symbol.asyncDispose]();
  await a[Symbol.asyncDispose]();
  b.close();
  raw.close();
  relayed.close();
  other.close();
}

void main;
