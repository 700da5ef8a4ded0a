// ethernet.test.js: Ethernet interfaces and the guest LAN in JavaScript: a remote stack
// and a gateway over pair(), a guest stack on the gateway's Ethernet LAN (frames carried
// by onframe/input): TCP through NAT both ways, a port forward, DNS answered by a
// handler, the counters, and bad arguments.

import { describe, it, expect } from 'vitest';
import { pair, createStack, WtcpError } from 'wtcp';
import { pattern, sameBytes, readAll, writeAll } from './helpers.js';

/** remote (10.0.0.1) -- pair -- gateway (10.0.0.2, LAN 10.0.2.2/24) -- frames -- guest (10.0.2.15) */
async function lanOf(guestLanOptions) {
  const [remote, gw] = await pair();
  const lan = gw.addGuestLan({ address: '10.0.2.2/24', dns: false, ...guestLanOptions });
  const guest = await createStack({ address: '192.168.200.1', prefix: 24 });
  const eth = guest.addEthernet({ address: '10.0.2.15/24', mac: '52:54:00:12:34:56' });
  eth.setDefaultRoute('10.0.2.2');
  lan.onframe = (f) => eth.input(f);
  eth.onframe = (f) => lan.input(f);
  const close = () => {
    guest.close();
    gw.close();
    remote.close();
  };
  return { remote, gw, lan, guest, eth, close };
}

describe('Ethernet interfaces and the guest LAN', () => {
  it('carries TCP from a guest through NAT both ways, byte-exact', async () => {
    const n = await lanOf();
    const server = n.remote.listen({ port: 80 });
    const data = pattern(4 << 20, 7);
    const accepted = (async () => {
      const c = await server.accept();
      const got = await readAll(c);
      await writeAll(c, got);
      await c.end();
      return c;
    })();
    const conn = await n.guest.connect({ host: '10.0.0.1', port: 80 });
    expect(conn.localAddress).toBe('10.0.2.15');
    const [, echoed] = await Promise.all([(async () => { await writeAll(conn, data); await conn.end(); })(), readAll(conn)]);
    const c = await accepted;
    expect(c.remoteAddress).toBe('10.0.0.2'); // the gateway's address: NAT
    expect(c.remotePort).toBeGreaterThanOrEqual(61000);
    expect(sameBytes(echoed, data)).toBe(true);
    const s = n.gw.stats();
    expect(s.natOut).toBeGreaterThan(1000);
    expect(s.natIn).toBeGreaterThan(1000);
    expect(s.natFlows).toBe(1);
    expect(s.ethIn).toBeGreaterThan(1000);
    expect(s.arpOut).toBeGreaterThanOrEqual(1);
    const st = n.lan.stats();
    expect(st.framesIn).toBe(s.ethIn);
    expect(st.bytesOut).toBeGreaterThan(data.length);
    expect(n.lan.droppedFrames).toBe(0);
    conn.close();
    n.close();
  });

  it('forwards a port of the gateway to the guest', async () => {
    const n = await lanOf({ forwards: [{ protocol: 'tcp', port: 8080, to: '10.0.2.15:80' }] });
    const server = n.guest.listen({ port: 80 });
    const accepted = server.accept();
    const conn = await n.remote.connect({ host: '10.0.0.2', port: 8080 });
    const c = await accepted;
    expect(c.remoteAddress).toBe('10.0.0.1'); // the guest sees who called
    await c.write('from the guest');
    await c.end();
    expect(new TextDecoder().decode(await readAll(conn))).toBe('from the guest');
    expect(() => n.gw.forward({ port: 8080, to: '10.0.2.15:81' })).toThrow(/EADDRINUSE|in use/);
    n.gw.unforward('tcp', 8080);
    await expect(n.remote.connect({ host: '10.0.0.2', port: 8080 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    n.close();
  });

  it('answers the guest\'s DNS with a handler, and serves on the LAN address', async () => {
    const queries = [];
    const n = await lanOf({
      dns: (query, from) => {
        queries.push({ text: new TextDecoder().decode(query), from });
        return new TextEncoder().encode('answer:' + new TextDecoder().decode(query));
      },
    });
    const sock = n.guest.udp.bind({ port: 5000 });
    sock.send('example.test', '10.0.2.2', 53);
    const reply = await sock.receive();
    expect(new TextDecoder().decode(reply.data)).toBe('answer:example.test');
    expect(reply.address).toBe('10.0.2.2');
    expect(reply.port).toBe(53);
    expect(queries).toEqual([{ text: 'example.test', from: { address: '10.0.2.15', port: 5000 } }]);
    // JavaScript listens on the gateway's LAN address; the guest connects to it.
    const server = n.gw.listen({ host: '10.0.2.2', port: 8000 });
    const accepted = server.accept();
    const conn = await n.guest.connect({ host: '10.0.2.2', port: 8000 });
    const c = await accepted;
    expect(c.remoteAddress).toBe('10.0.2.15');
    expect(c.localAddress).toBe('10.0.2.2');
    conn.close();
    sock.close();
    n.close();
  });

  it('refuses bad arguments with typed errors', async () => {
    const [a] = await pair();
    const bad = (fn, re) => {
      let err;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WtcpError);
      expect(err.message).toMatch(re);
    };
    bad(() => a.addEthernet({ address: '10.9.0.1/24', mac: '01:00:5e:00:00:01' }), /not a unicast address/);
    bad(() => a.addEthernet({ address: '10.9.0.1/24', mac: 'zz' }), /MAC address like/);
    bad(() => a.addEthernet({ address: '10.9.0.1/33' }), /prefix length must be 1..30/);
    bad(() => a.addEthernet({ address: 42 }), /a\.b\.c\.d\/len/);
    bad(() => a.addEthernet({ address: '10.0.0.1/24' }), /addEthernet/); // the stack's own address
    bad(() => a.forward({ port: 80, to: '10.9.0.5:80' }), /forward tcp port 80/); // no NAT
    const lan = a.addEthernet({ address: '10.9.0.1/24' });
    bad(() => lan.dhcp({ first: '10.9.1.10', last: '10.9.1.20' }), /the pool must be on the prefix/);
    bad(() => lan.onframe = 3, /onframe must be a function/);
    bad(() => lan.setDefaultRoute('10.8.0.1'), /not on 10\.9\.0\.1\/24/);
    lan.dhcp({ first: '10.9.0.100', last: '10.9.0.110', static: [{ mac: '52:54:00:00:00:01', address: '10.9.0.5' }] });
    expect(lan.leases()).toEqual([]);
    expect(lan.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(parseInt(lan.mac.slice(0, 2), 16) & 3).toBe(2); // locally administered, unicast
    a.close();
  });
});
