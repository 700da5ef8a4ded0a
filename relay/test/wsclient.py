#!/usr/bin/env python3
"""wsclient.py: a small RFC 6455 WebSocket client (standard library only) that plays a wtcp
client against wtcp-relay in relay/test.sh: it reads the JSON configuration, pings the relay
with hand-made IPv4/ICMP packets, and sends forged and malformed ones.

  wsclient.py probe URL [--token-proto T] [--origin O] [--protocol P]...
      prints "status N" and, on 101, "config {...}" and "protocol P"
  wsclient.py abuse URL          the anti-spoofing / malformed-packet scenario (prints lines)
  wsclient.py toobig URL N [P..] sends an N-byte binary message (offering subprotocols P),
                                 prints the close code
  wsclient.py nopong URL         answers no ping; prints how long until the relay closed
  wsclient.py silent HOST PORT   opens TCP and sends nothing; prints seconds until closed
  wsclient.py sleeper URL S      connects, prints its address, reads nothing for S seconds
  wsclient.py ping URL [N]       N ICMP echoes to the relay's address; prints replies seen
  wsclient.py patient URL S      reads S seconds (answering pings), then pings the relay
  wsclient.py peers URL          two clients; the first pings the second's address
  wsclient.py waitclose URL      connects and prints the close code the relay sends
  wsclient.py batch URL          protocol 2 (wtcp.2): batches of pings, good and broken,
                                 beside a version 1 client; prints "expect" drop counts
Exit status 0 when the scenario behaved, 1 otherwise (with FAIL lines).
"""
import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import time
from urllib.parse import urlparse

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Refused(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}")
        self.status, self.body = status, body


class WS:
    def __init__(self, url, protocols=("wtcp",), headers=None, timeout=5.0):
        u = urlparse(url)
        port = u.port or (443 if u.scheme == "wss" else 80)
        sock = socket.create_connection((u.hostname, port), timeout)
        if u.scheme == "wss":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname=u.hostname)
        self.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        path = (u.path or "/") + (("?" + u.query) if u.query else "")
        req = [f"GET {path} HTTP/1.1", f"Host: {u.hostname}:{port}", "Upgrade: websocket",
               "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if protocols:
            req.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        for k, v in (headers or {}).items():
            req.append(f"{k}: {v}")
        sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                raise Refused(0, b"connection closed during the handshake")
            buf += chunk
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        if self.status != 101:
            raise Refused(self.status, self.buf)
        want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        if self.headers.get("sec-websocket-accept") != want:
            raise RuntimeError("bad Sec-WebSocket-Accept")
        self.answer_pings = True
        self.pings = 0

    def send(self, opcode, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        h = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            h += bytes([0x80 | n])
        elif n < 65536:
            h += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            h += bytes([0x80 | 127]) + struct.pack(">Q", n)
        body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.sock.sendall(h + mask + body)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout=None):
        """One message: (opcode, payload); pings are answered (unless told not to) and
        skipped; a close gives (8, payload)."""
        deadline = None if timeout is None else time.time() + timeout
        msg, op = b"", None
        while True:
            if deadline is not None:
                left = deadline - time.time()
                if left <= 0:
                    raise socket.timeout("timed out")
                self.sock.settimeout(left)
            else:
                self.sock.settimeout(None)
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            if b1 & 0x80:
                raise RuntimeError("server frames must not be masked")
            data = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 9:
                self.pings += 1
                if self.answer_pings:
                    self.send(10, data)
                continue
            if opcode == 10:
                continue
            if opcode == 8:
                return 8, data
            if opcode != 0:
                op = opcode
            msg += data
            if b0 & 0x80:
                return op, msg

    def close(self, code=1000):
        try:
            self.send(8, struct.pack(">H", code))
            self.sock.settimeout(2)
            while self.recv(2)[0] != 8:
                pass
        except Exception:
            pass
        self.sock.close()


# ---------------------------------------------------------------- packets

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f">{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_addr(s):
    return socket.inet_aton(s)


def ipv4(src, dst, proto, payload, ident=1, ttl=64):
    total = 20 + len(payload)
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, ident, 0, ttl, proto, 0, ip_addr(src), ip_addr(dst))
    h = h[:10] + struct.pack(">H", csum(h)) + h[12:]
    return h + payload


def icmp_echo(src, dst, ident, seq, data=b"wtcp-relay-test"):
    m = struct.pack(">BBHHH", 8, 0, 0, ident, seq) + data
    m = m[:2] + struct.pack(">H", csum(m)) + m[4:]
    return ipv4(src, dst, 1, m, ident=seq)


def is_echo_reply(pkt, src, dst, ident, seq):
    if len(pkt) < 28 or pkt[0] >> 4 != 4 or pkt[9] != 1:
        return False
    ihl = (pkt[0] & 15) * 4
    t, _, _, i, s = struct.unpack(">BBHHH", pkt[ihl:ihl + 8])
    return (t == 0 and i == ident and s == seq and socket.inet_ntoa(pkt[12:16]) == src
            and socket.inet_ntoa(pkt[16:20]) == dst)


def wait_reply(ws, src, dst, ident, seq, timeout):
    end = time.time() + timeout
    while True:
        left = end - time.time()
        if left <= 0:
            return False
        try:
            op, data = ws.recv(left)
        except socket.timeout:
            return False
        if op == 2 and is_echo_reply(data, src, dst, ident, seq):
            return True


def open_client(url, protocols=("wtcp",)):
    ws = WS(url, protocols=protocols)
    op, data = ws.recv(5)
    if op != 1:
        raise RuntimeError(f"first message: opcode {op}, want a text configuration")
    return ws, json.loads(data)


# ---------------------------------------------------------------- scenarios

failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures += 1


def probe(args):
    url = args[0]
    protocols, headers, i = [], {}, 1
    while i < len(args):
        if args[i] == "--origin":
            headers["Origin"] = args[i + 1]
        elif args[i] == "--protocol":
            protocols.append(args[i + 1])
        i += 2
    try:
        ws = WS(url, protocols=tuple(protocols) or None, headers=headers)
    except Refused as e:
        print(f"status {e.status}")
        print("body " + e.body.decode("utf-8", "replace").strip().replace("\n", " "))
        return
    print(f"status {ws.status}")
    print("protocol " + ws.headers.get("sec-websocket-protocol", "-"))
    op, data = ws.recv(5)
    print(f"config {data.decode()}" if op == 1 else f"first-opcode {op}")
    ws.close()


def abuse(args):
    url = args[0]
    ws, cfg = open_client(url)
    me, gw, mtu = cfg["address"], cfg["gateway"], cfg["mtu"]
    check(cfg.get("version") == 1 and cfg.get("prefix") == 16 and mtu == 1500 and gw == "10.77.0.1",
          f"configuration message {json.dumps(cfg)}")
    ws.send(2, icmp_echo(me, gw, 7, 1))
    check(wait_reply(ws, gw, me, 7, 1, 3), f"a well-formed ICMP echo from {me} is answered by {gw}")

    # One packet in two fragments (binary + continuation) is reassembled.
    p = icmp_echo(me, gw, 7, 2)
    ws.send(2, p[:10], fin=False)
    ws.send(0, p[10:], fin=True)
    check(wait_reply(ws, gw, me, 7, 2, 3), "a packet split over two WebSocket frames is forwarded")

    forged = "10.77.0.99"
    bad = []
    bad.append(("spoofed", icmp_echo(forged, gw, 7, 3)))                        # forged source
    bad.append(("spoofed", icmp_echo("192.0.2.1", gw, 7, 4)))                   # outside address
    p = bytearray(icmp_echo(me, gw, 7, 5)); p[0] = 0x65
    bad.append(("malformed", bytes(p)))                                         # version 6
    p = bytearray(icmp_echo(me, gw, 7, 6)); p[0] = 0x44
    bad.append(("malformed", bytes(p)))                                         # IHL 4
    p = icmp_echo(me, gw, 7, 7)
    bad.append(("malformed", p + b"\0\0\0\0"))                                  # total length < message
    bad.append(("malformed", p[:-4]))                                           # total length > message
    bad.append(("malformed", p[:12]))                                           # shorter than a header
    bad.append(("malformed", b""))                                              # empty message
    p = bytearray(icmp_echo(me, gw, 7, 8)); p[10] ^= 0x55
    bad.append(("bad_checksum", bytes(p)))                                      # header checksum
    p = bytearray(icmp_echo(me, gw, 7, 9)); p[8] = 1                            # TTL changed, checksum stale
    bad.append(("bad_checksum", bytes(p)))
    bad.append(("too_big", icmp_echo(me, gw, 7, 10, b"x" * (mtu - 27))))        # MTU + 1
    bad.append(("peer", icmp_echo(me, "10.77.0.3", 7, 11)))                    # another client
    bad.append(("peer", icmp_echo(me, "10.77.255.255", 7, 12)))                # subnet broadcast
    for _, pkt in bad:
        ws.send(2, pkt)
    ws.send(1, b'{"hello": "text is not a packet"}')
    ws.send(1, icmp_echo(me, gw, 7, 13).decode("latin-1").encode("utf-8"))     # a packet as text
    seen = 0
    end = time.time() + 1.5
    while time.time() < end:
        try:
            op, data = ws.recv(max(0.05, end - time.time()))
        except socket.timeout:
            break
        if op == 2:
            seen += 1
    check(seen == 0, f"{len(bad) + 2} forged or malformed messages got no answer ({seen} came back)")

    # The connection is still usable, and so is the relay for another client.
    ws.send(2, icmp_echo(me, gw, 7, 20))
    check(wait_reply(ws, gw, me, 7, 20, 3), "the same client still gets answers after the bad packets")
    ws2, cfg2 = open_client(url)
    other = cfg2["address"]
    check(other != me, f"a second client gets its own address ({other})")
    ws2.send(2, icmp_echo(other, gw, 9, 1))
    check(wait_reply(ws2, gw, other, 9, 1, 3), "the second client is served")
    ws2.send(2, icmp_echo(other, me, 9, 2))                                     # client to client
    ws.send(2, icmp_echo(me, other, 9, 3))
    time.sleep(0.5)
    ws2.close()
    ws.close(1000)
    counts = {}
    for why, _ in bad:
        counts[why] = counts.get(why, 0) + 1
    counts["peer"] += 2
    counts["not_binary"] = 2
    print("expect " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))


def frame(pkts):
    """A protocol 2 message: each packet after its 2-byte big-endian length."""
    return b"".join(struct.pack(">H", len(p)) + p for p in pkts)


def unframe(data):
    out, off = [], 0
    while off + 2 <= len(data):
        n = struct.unpack(">H", data[off:off + 2])[0]
        if n == 0 or off + 2 + n > len(data):
            raise RuntimeError(f"bad batch from the relay at offset {off}")
        out.append(data[off + 2:off + 2 + n])
        off += 2 + n
    if off != len(data):
        raise RuntimeError("trailing bytes in a batch from the relay")
    return out


def replies(ws, src, dst, ident, want, timeout=3.0):
    """Reads protocol 2 messages until `want` echo replies (by sequence number) came;
    returns (sequence numbers seen, messages, most packets in one message)."""
    seen, msgs, most = set(), 0, 0
    end = time.time() + timeout
    while len(seen) < want and time.time() < end:
        try:
            op, data = ws.recv(max(0.05, end - time.time()))
        except socket.timeout:
            break
        if op != 2:
            continue
        pkts = unframe(data)
        msgs += 1
        most = max(most, len(pkts))
        for p in pkts:
            for q in range(1, 1000):
                if is_echo_reply(p, src, dst, ident, q):
                    seen.add(q)
                    break
    return seen, msgs, most


def batch(args):
    url = args[0]
    ws = WS(url, protocols=("wtcp.2", "wtcp"))
    op, data = ws.recv(5)
    cfg = json.loads(data)
    me, gw, mtu = cfg["address"], cfg["gateway"], cfg["mtu"]
    check(ws.headers.get("sec-websocket-protocol") == "wtcp.2" and cfg.get("version") == 2 and
          cfg.get("max_message") == 65535, f"offered wtcp.2, wtcp: answered wtcp.2, config {json.dumps(cfg)}")
    old, cfg1 = open_client(url)
    check(cfg1.get("version") == 1 and "max_message" not in cfg1,
          f"a version 1 client on the same relay gets version 1 ({json.dumps(cfg1)})")

    ws.send(2, frame([icmp_echo(me, gw, 5, q) for q in range(1, 21)]))
    seen, msgs, most = replies(ws, gw, me, 5, 20)
    check(len(seen) == 20 and most >= 2, f"20 echoes in one message: {len(seen)} replies in {msgs} messages (at most {most} in one)")
    old.send(2, icmp_echo(cfg1["address"], gw, 6, 1))
    check(wait_reply(old, gw, cfg1["address"], 6, 1, 3), "the version 1 client is answered alongside")

    # Exactly max_message bytes: 44 packets of 1480 bytes and one that fills the rest.
    big = [icmp_echo(me, gw, 8, q, b"b" * (1480 - 28)) for q in range(1, 45)]
    rest = 65535 - len(frame(big)) - 2
    big.append(icmp_echo(me, gw, 8, 45, b"r" * (rest - 28)))
    check(len(frame(big)) == 65535, f"a batch of {len(frame(big))} bytes")
    ws.send(2, frame(big))
    seen, msgs, most = replies(ws, gw, me, 8, 45)
    check(len(seen) == 45, f"a batch at the size limit (45 packets): {len(seen)} replies in {msgs} messages")

    drops = {"bad_checksum": 0, "bad_batch": 0, "too_big": 0}
    p = bytearray(icmp_echo(me, gw, 9, 2)); p[10] ^= 0x55
    ws.send(2, frame([icmp_echo(me, gw, 9, 1), bytes(p), icmp_echo(me, gw, 9, 3)]))
    drops["bad_checksum"] += 1
    seen, _, _ = replies(ws, gw, me, 9, 2)
    check(seen == {1, 3}, f"one malformed packet in the middle of a batch: only it is dropped (replies {sorted(seen)})")
    ws.send(2, frame([icmp_echo(me, gw, 10, 1), icmp_echo(me, gw, 10, 2, b"x" * (mtu - 27)), icmp_echo(me, gw, 10, 3)]))
    drops["too_big"] += 1
    seen, _, _ = replies(ws, gw, me, 10, 2)
    check(seen == {1, 3}, f"a packet over the MTU in a batch: only it is dropped (replies {sorted(seen)})")
    ws.send(2, frame([icmp_echo(me, gw, 11, 1), icmp_echo(me, gw, 11, 2)]) + b"\x05")
    drops["bad_batch"] += 1
    seen, _, _ = replies(ws, gw, me, 11, 2)
    check(seen == {1, 2}, f"a batch ending in half a length: the packets before it pass (replies {sorted(seen)})")
    ws.send(2, frame([icmp_echo(me, gw, 12, 1)]) + struct.pack(">H", 1000) + icmp_echo(me, gw, 12, 2))
    drops["bad_batch"] += 1
    seen, _, _ = replies(ws, gw, me, 12, 1)
    check(seen == {1}, f"a length that overruns the message drops the rest of it (replies {sorted(seen)})")
    ws.send(2, frame([icmp_echo(me, gw, 13, 1)]) + b"\0\0" + frame([icmp_echo(me, gw, 13, 2)]))
    drops["bad_batch"] += 1
    seen, _, _ = replies(ws, gw, me, 13, 2, 1.0)
    check(seen == {1}, f"a zero length drops the rest of the message (replies {sorted(seen)})")
    ws.send(2, b"")
    drops["bad_batch"] += 1
    ws.send(2, frame([icmp_echo(me, gw, 14, 1)]))
    seen, _, _ = replies(ws, gw, me, 14, 1)
    check(seen == {1}, "after an empty message the connection still works")
    old.close()
    ws.close()
    print("expect " + " ".join(f"{k}={v}" for k, v in sorted(drops.items())))


def toobig(args):
    ws, _ = open_client(args[0], tuple(args[2:]) or ("wtcp",))
    ws.send(2, b"\x45" + b"\0" * (int(args[1]) - 1))
    try:
        op, data = ws.recv(5)
        while op != 8:
            op, data = ws.recv(5)
        code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else 1005
        print(f"close {code} {data[2:].decode(errors='replace')}")
    except (EOFError, socket.timeout, ConnectionError) as e:
        print(f"no-close-frame {type(e).__name__}")


def nopong(args):
    ws, _ = open_client(args[0])
    ws.answer_pings = False
    t0 = time.time()
    try:
        while True:
            op, _ = ws.recv(30)
            if op == 8:
                break
    except (EOFError, ConnectionError, socket.timeout):
        pass
    print(f"closed-after {time.time() - t0:.1f} pings {ws.pings}")


def silent(args):
    s = socket.create_connection((args[0], int(args[1])), 5)
    s.settimeout(30)
    t0 = time.time()
    try:
        while s.recv(4096):
            pass
    except (ConnectionError, socket.timeout):
        pass
    print(f"closed-after {time.time() - t0:.1f}")


def sleeper(args):
    ws, cfg = open_client(args[0])
    print(f"address {cfg['address']}", flush=True)
    time.sleep(float(args[1]))
    ws.sock.close()


def ping(args):
    ws, cfg = open_client(args[0])
    n = int(args[1]) if len(args) > 1 else 1
    me, gw = cfg["address"], cfg["gateway"]
    for i in range(n):
        ws.send(2, icmp_echo(me, gw, 11, i + 1))
    got = 0
    end = time.time() + 2
    while time.time() < end:
        try:
            op, data = ws.recv(max(0.05, end - time.time()))
        except socket.timeout:
            break
        if op == 2:
            got += 1
    print(f"address {me} sent {n} replies {got}")
    ws.close()


def patient(args):
    ws, cfg = open_client(args[0])
    me, gw = cfg["address"], cfg["gateway"]
    end = time.time() + float(args[1])
    try:
        while time.time() < end:
            try:
                op, _ = ws.recv(max(0.05, end - time.time()))
                if op == 8:
                    break
            except socket.timeout:
                pass
        ws.send(2, icmp_echo(me, gw, 12, 1))
        alive = wait_reply(ws, gw, me, 12, 1, 3)
    except (EOFError, ConnectionError):
        alive = False
    print(f"{'alive' if alive else 'dead'} pings {ws.pings}")


def peers(args):
    a, ca = open_client(args[0])
    b, cb = open_client(args[0])
    a.send(2, icmp_echo(ca["address"], cb["address"], 13, 1))
    got = "nothing"
    try:
        while True:
            op, data = b.recv(2)
            if op == 2:
                got = f"{socket.inet_ntoa(data[12:16])}->{socket.inet_ntoa(data[16:20])}"
                break
    except socket.timeout:
        pass
    print(f"from {ca['address']} to {cb['address']} received {got}")
    a.close()
    b.close()


def waitclose(args):
    ws, cfg = open_client(args[0])
    print(f"address {cfg['address']}", flush=True)
    try:
        while True:
            op, data = ws.recv(30)
            if op == 8:
                code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else 1005
                print(f"close {code} {data[2:].decode(errors='replace')}")
                return
    except (EOFError, ConnectionError, socket.timeout) as e:
        print(f"no-close-frame {type(e).__name__}")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd, args = sys.argv[1], sys.argv[2:]
    {"probe": probe, "abuse": abuse, "toobig": toobig, "nopong": nopong, "silent": silent,
     "sleeper": sleeper, "ping": ping, "patient": patient, "peers": peers,
     "waitclose": waitclose, "batch": batch}[cmd](args)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
