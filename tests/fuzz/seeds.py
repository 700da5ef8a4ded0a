#!/usr/bin/env python3
"""seeds.py: writes the committed seed corpora of the fuzz targets (tests/fuzz/corpus/NAME/)
from readable descriptions, so each seed says what it starts the fuzzer on. Run it after
changing a target's input format: python3 tests/fuzz/seeds.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, seed, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), "wb") as f:
        f.write(data)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto=6, payload=b""):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0,
                    bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


# fuzz_segments: [setup] then records (the format is in fuzz_segments.c's opening comment).
TS, SACK, WS, MSS536, ACTIVE, NEWRENO = 1, 2, 4, 8, 16, 32
ALL = TS | SACK | WS
FLAGS = {"": 0, "F": 1, "R": 2, "S": 3, "U": 4, "EC": 5, "SF": 6, "noack": 7, "bare-syn": 7}
TSMODE = {"new": 0, "same": 1, "old": 2, "none": 3}
SEQ = {"nxt": 0, "edge": 1, "mss": 2, "ack": 3}
ACK = {"una": 0, "max": 1, "between": 2, "far": 3}
WIN = {"full": 0, "zero": 1, "small": 2, "kib": 3}
SACKK = {"sent": 0, "below": 1, "beyond": 2, "backwards": 3}


def seg(base="nxt", off=0, length=0, flags="", psh=False, ts="new", ecr_garbage=False,
        ack=("una", 0), win=("full", 0), sacks=(), opts=None, burst=1):
    """A segment record; length is bytes (<= 63, or a multiple of 24 up to 1512) or
    "mss", "mss+1", "2mss"."""
    if length == "mss":
        l = 0xC0
    elif length == "mss+1":
        l = 0xC1
    elif length == "2mss":
        l = 0xC2
    elif length <= 63:
        l = length
    else:
        assert length % 24 == 0 and length <= 63 * 24
        l = 0x40 | length // 24
    f = (1 if psh or flags == "bare-syn" else 0) | FLAGS[flags] << 1 | TSMODE[ts] << 4 | (0x40 if ecr_garbage else 0)
    if opts is not None:
        f |= 0x80
    k = ACK[ack[0]] | (ack[1] & 0x3F) << 2
    w = WIN[win[0]] | (win[1] & 0x3F) << 2
    x = len(sacks)
    for i, kind in enumerate(sacks):
        x |= SACKK[kind] << (2 + 2 * i)
    op = SEQ[base] << 3 | (burst - 1) << 5
    out = bytes([op, off & 0xFF, l, f, k, w, x])
    if opts is not None:
        out += bytes([len(opts)]) + bytes(opts)
    return out


def app(kind, a=0, b=0, c=0):
    return bytes([kind, a & 0xFF, b & 0xFF, c & 0xFF])


def write(n):
    return app(4, n >> 8, n)


def read(all_of_it=True):
    return app(5, 255, 1 if all_of_it else 0)


def wait(ms=0, tenths=0, tens_of_s=0, deadlines=0):
    if deadlines:
        return app(6, 3, deadlines - 1)
    if tens_of_s:
        return app(6, 2, tens_of_s)
    if tenths:
        return app(6, 1, tenths)
    return app(6, 0, ms)


def ctl(what, b=0, c=0):
    return app(7, {"shut_wr": 0, "shut_rd": 1, "shut_rdwr": 2, "close": 3, "abort": 4,
                   "sockopt": 5, "connect": 7, "memcap": 8, "icmp": 9}[what], b, c)


def connect(how, acceptable=True, unfinished=False, cookie=False):
    return ctl("connect", {"new-port": 0, "same-port": 1, "active": 2}[how],
               (0 if acceptable else 1) | (2 if unfinished else 0) | (4 if cookie else 0))


def icmp(kind, quoted="una", quote_len=8, value=0):
    """kind: frag-needed (value: the MTU is 68 + 6 * value), frag-needed-no-mtu, host,
    port, proto, time-exceeded, source-quench, net; quoted: the sequence number quoted."""
    k = ["frag-needed", "frag-needed-no-mtu", "host", "port", "proto", "time-exceeded",
         "source-quench", "net"].index(kind)
    q = ["una", "max-1", "max", "una-1", "una+mss*c", "una+c"].index(quoted)
    ql = {8: 0, 12: 1, 16: 2}.get(quote_len, 3)
    return ctl("icmp", k | q << 3 | ql << 6, value if ql != 3 else quote_len)


ACK_ALL = seg(ack=("max", 0))  # acknowledges everything the stack sent


def segments(name, setup, *records):
    save("segments", name, bytes([setup]) + b"".join(records))


segments("data-both-ways-then-active-close", ALL,
         seg(length="mss", psh=True), read(), write(3000), wait(ms=10), seg(ack=("max", 0)),
         ctl("shut_wr"), wait(ms=5), seg(ack=("max", 0)), seg(flags="F", ack=("max", 0)),
         wait(deadlines=3))
segments("passive-close-last-ack", ALL,
         seg(length=40, flags="F", psh=True), read(), write(100), ctl("close"), wait(ms=5),
         seg(ack=("max", 0)), wait(deadlines=2))
segments("simultaneous-close-closing", ALL,
         ctl("shut_wr"), wait(ms=1), seg(flags="F", ack=("una", 0)), wait(ms=5),
         seg(ack=("max", 0)), wait(deadlines=3))
segments("out-of-order-nine-holes-then-filled", ALL,
         ctl("sockopt", 1, 128), read(), seg(length=1),
         *[seg(base="mss", off=2 * i, length="mss") for i in range(1, 11)],
         seg(length="mss"), *[seg(base="ack", length="mss") for _ in range(10)], read())
segments("sack-recovery-and-full-ack", ALL,
         write(8000), wait(ms=1),
         seg(ack=("una", 0), sacks=["sent"]), seg(ack=("una", 0), sacks=["sent", "sent"]),
         seg(ack=("una", 0), sacks=["sent", "sent", "sent"]), wait(ms=20),
         seg(ack=("between", 32)), wait(ms=20), ACK_ALL, wait(deadlines=2))
segments("newreno-dupacks-without-sack", TS | WS | NEWRENO,
         write(8000), wait(ms=1), seg(ack=("una", 0)), seg(ack=("una", 0)), seg(ack=("una", 0)),
         seg(ack=("una", 0)), wait(ms=10), seg(ack=("between", 20)), ACK_ALL)
segments("d-sack-and-sack-beyond-what-was-sent", ALL,
         write(4000), wait(ms=1), seg(ack=("between", 40), sacks=["below"]),
         seg(ack=("between", 40), sacks=["beyond", "backwards"]), ACK_ALL)
segments("rto-backoff-then-ack", ALL,
         write(3000), wait(deadlines=6), ACK_ALL, wait(deadlines=2))
segments("zero-window-probes-then-open", ALL,
         write(2000), wait(ms=1), seg(ack=("max", 0), win=("zero", 0)), write(6000),
         wait(deadlines=5), seg(ack=("una", 0), win=("full", 0)), wait(ms=10), ACK_ALL)
segments("peer-fills-receive-window-app-reads-late", ALL,
         seg(length="mss", burst=8), seg(base="edge", length="mss"), wait(tenths=3),
         read(), wait(ms=1), seg(length=24, psh=True))
segments("beyond-right-edge-and-trimmed", ALL,
         seg(base="edge", off=-100, length=240), seg(base="edge", off=1, length=10),
         seg(base="nxt", off=-5, length=30), read())
segments("time-wait-then-reopened-by-a-new-syn", ALL,
         ctl("close"), wait(ms=1), seg(ack=("max", 0)), seg(flags="F", ack=("max", 0)),
         wait(ms=1), connect("same-port"), seg(length=10), read(), wait(tens_of_s=1))
segments("time-wait-syn-not-acceptable", 0,
         ctl("close"), wait(ms=1), seg(ack=("max", 0), ts="none"),
         seg(flags="F", ack=("max", 0), ts="none"), connect("same-port", acceptable=False),
         seg(flags="F", ack=("max", 0), ts="none"), wait(tens_of_s=1))
segments("time-wait-table-full-recycles", ALL,
         *[ctl("close") + wait(ms=1) + seg(ack=("max", 0)) + seg(flags="F", ack=("max", 0)) +
           connect("new-port") for _ in range(6)])
segments("rst-in-window-challenge-then-exact-rst", ALL,
         seg(off=10, flags="R", ts="none"), seg(flags="S"), seg(off=-1, length=1),
         seg(flags="R", ts="none"), wait(deadlines=1))
segments("paws-old-timestamps", ALL,
         seg(length=20), seg(length=20, ts="old"), seg(off=0, length=20, ts="same"), read())
segments("keepalive-times-out", ALL,
         ctl("sockopt", 3, 0x21), ctl("sockopt", 9, 0), wait(deadlines=8))
segments("active-open-newreno-mss-536", ALL | ACTIVE | NEWRENO | MSS536,
         write(5000), wait(ms=2), seg(ack=("between", 16)), seg(length="mss"), read(),
         seg(ack=("max", 0)), ctl("abort"))
segments("no-options-fin-first-then-data", 0,
         seg(length=10, flags="F", ts="none"), seg(length=10, ts="none"), read(), ctl("close"),
         wait(deadlines=4))
segments("allocation-failures-under-load", ALL,
         ctl("memcap", 4), seg(length="mss", burst=4), write(8000), seg(base="mss", off=3, length="mss"),
         read(), ctl("memcap", 0), write(8000), wait(deadlines=3))
segments("options-garbage-in-established", ALL,
         seg(length=10, opts=[0, 1, 2, 3]), seg(length=10, opts=[2 | 8 * 5, 3 | 8 * 14, 4, 5 | 64]),
         seg(length=10, opts=[6, 6 | 8, 6 | 16 | 32, 7]), seg(length=10, opts=[1]), read())
segments("tiny-segments-nodelay-small-mss", ALL,
         ctl("sockopt", 0, 1), ctl("sockopt", 7, 8), *[write(3) for _ in range(10)],
         *[seg(length=1, burst=8) for _ in range(4)], read(), ACK_ALL)
segments("shrink-buffers-mid-transfer", ALL,
         write(8000), seg(length="mss", burst=4), ctl("sockopt", 1, 4), ctl("sockopt", 2, 4),
         ACK_ALL, read(), seg(length="mss", burst=2), wait(tenths=12))
segments("path-mtu-drops-while-data-in-flight", ALL,
         write(8000), wait(ms=1), icmp("frag-needed", value=(600 - 68) // 6),
         icmp("frag-needed", quoted="max"), icmp("port", quoted="max-1"), icmp("host", quote_len=4),
         icmp("time-exceeded"), icmp("frag-needed-no-mtu"), seg(ack=("between", 20)), ACK_ALL)
segments("syn-cookie-connection-when-the-syn-queue-is-full", ALL,
         connect("new-port", cookie=True), seg(length=96), read(), write(500), ACK_ALL,
         connect("new-port", cookie=True, unfinished=True), seg(ack=("una", 1)), seg(ack=("una", 0)),
         seg(length=10), read())
segments("syn-cookie-ack-with-seq-and-ack-moved-by-one", ALL,
         connect("new-port", cookie=True, unfinished=True), seg(off=1, length=1, ack=("una", 1)),
         read(), write(10), ACK_ALL)
segments("reset-then-a-new-syn-on-the-same-tuple", ALL,
         seg(flags="R"), seg(flags="bare-syn"), seg(ack=("una", 0)), seg(length=10), read(),
         write(10), ACK_ALL)
segments("passive-handshake-finished-by-data", ALL,
         connect("new-port", unfinished=True), seg(length=50, psh=True, ack=("una", 0)), read(),
         write(100), ACK_ALL)
segments("active-open-synack-from-the-fuzzer", TS | SACK,
         connect("active", unfinished=True), seg(flags="S", off=-1, ack=("una", 0)), write(200),
         seg(length=20), read(), ACK_ALL)
segments("simultaneous-open", ALL,
         connect("active", unfinished=True), seg(flags="bare-syn", off=-1), wait(ms=1),
         seg(ack=("una", 0)), write(100), seg(length=10, ack=("max", 0)), read())
segments("ack-of-unsent-and-too-old", ALL,
         write(1000), wait(ms=1), seg(ack=("far", 5)), seg(ack=("far", -5)), seg(ack=("max", 20)),
         seg(ack=("una", -3)), ACK_ALL)

# fuzz_wasi_pipe: [read-size byte] then 2-byte length + IPv4 packet frames.
pkt = ipv4([10, 77, 0, 1], [10, 77, 0, 2], 6, b"\0" * 20)
save("wasi_pipe", "two-frames-split-by-7", bytes([6]) + (struct.pack("!H", len(pkt)) + pkt) * 2)
save("wasi_pipe", "zero-length-frame", bytes([0]) + b"\0\0")
save("wasi_pipe", "frame-beyond-mtu", bytes([1]) + struct.pack("!H", 1501) + b"\x45")

# fuzz_relay: [options] then records [op][len16][bytes]; op bit 0x40 sets the client's
# source address, 0x80 the length and checksum; (op >> 2) & 7 picks the path (0-1 a WebSocket
# fragment, 2-3 pipe bytes, 4-5 a packet from the TUN, 6 the client reads, 7 a
# Sec-WebSocket-Protocol list).
def relay_rec(op, data):
    return bytes([op]) + struct.pack("!H", len(data)) + data


up = ipv4([0, 0, 0, 0], [10, 77, 0, 1], 6, b"\0" * 20)
down = ipv4([10, 77, 0, 1], [0, 0, 0, 0], 6, b"\0" * 20)
save("relay", "ws-up-pipe-up-net-down-drain",
      bytes([0x00]) + relay_rec(0xC1, up) + relay_rec(0xC8 | 2, up) + relay_rec(0xD0, down) +
      relay_rec(0xD8, b""))
save("relay", "fragments-text-and-oversize",
      bytes([0x02]) + relay_rec(0x20 | 0x10, b"x" * 100) + relay_rec(0x01 | 0x10, b"y" * 2100) +
      relay_rec(0x21, b"z" * 3000))
save("relay", "subprotocol-lists",
     bytes([0x00]) + b"".join(relay_rec(0x1C, l) for l in [
         b"wtcp", b"chat, wtcp", b" \twtcp.token.secret\t, wtcp", b"wtcp.token.", b",,,",
         b"wtcp.token." + b"t" * 520, b"x" * 600]))

# fuzz_input: records [ctl][len/8][bytes] (ctl & 3: shape the packet, 4: TCP, 8: to the
# listener; the low 3 bits of the length are ctl >> 5), see fuzz_input.c.
syn = struct.pack("!HHIIBBHHH", 40000, 8080, 1000, 0, 0x50, 0x02, 65535, 0, 0)
tcp_syn = ipv4([192, 0, 2, 1], [192, 168, 0, 1], 6, syn)
ack = struct.pack("!HHIIBBHHH", 40000, 8080, 1001, 1, 0x50, 0x10, 65535, 0, 0) + b"hello..."
tcp_ack = ipv4([192, 0, 2, 1], [192, 168, 0, 1], 6, ack)
udp = struct.pack("!HHHH", 5353, 53, 12, 0) + b"dns?"
ip_udp = ipv4([192, 0, 2, 1], [192, 168, 0, 1], 17, udp)
save("input", "syn-then-data", bytes([0x0F, len(tcp_syn) // 8]) + tcp_syn + bytes([0x0F, len(tcp_ack) // 8]) + tcp_ack)
save("input", "udp-datagram", bytes([0x03, len(ip_udp) // 8]) + ip_udp)

# fuzz_ether: records [ctl][len/8][frame] as fuzz_input's (ctl & 3: 1 ARP, 2 UDP, 3 TCP or
# ICMP; 4 broadcast MAC; 8 ARP for the gateway / UDP from 0.0.0.0; 16 UDP to the gateway
# rather than broadcast), see fuzz_ether.c.
def ether_rec(flags, frame):
    return bytes([((len(frame) & 7) << 5) | flags, len(frame) >> 3]) + frame


def ether(dst, src, etype, payload):
    return bytes(dst) + bytes(src) + struct.pack("!H", etype) + payload


guest_mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56]
bootp = struct.pack("!BBBBIHHIIII16s64s128sI", 1, 1, 6, 0, 0x1234, 0, 0x8000, 0, 0, 0, 0,
                    bytes(guest_mac), b"", b"", 0x63825363)
discover = bootp + bytes([53, 1, 1, 55, 3, 1, 3, 6, 255]) + b"\0" * 50
request = bootp + bytes([53, 1, 3, 50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 2, 255]) + b"\0" * 43
def dhcp_frame(msg):
    u = struct.pack("!HHHH", 68, 67, 8 + len(msg), 0) + msg
    return ether([0xFF] * 6, guest_mac, 0x0800, ipv4([0, 0, 0, 0], [255, 255, 255, 255], 17, u))
arp_req = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, bytes(guest_mac), bytes([10, 0, 2, 15]),
                      b"\0" * 6, bytes([10, 0, 2, 2]))
save("ether", "dhcp-discover-request-arp",
     ether_rec(14, dhcp_frame(discover)) + ether_rec(14, dhcp_frame(request)) +
     ether_rec(13, ether([0xFF] * 6, guest_mac, 0x0806, arp_req + b"\0" * 18)))
