#!/usr/bin/env python3
"""seeds.py: writes the committed seed corpora of the fuzz targets (tests/fuzz/corpus/NAME/)
from readable descriptions, so each seed says what it starts the fuzzer on. Run it after
changing a target's input format: python3 tests/fuzz/seeds.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, seed, data):
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


# fuzz_segments: [setup] then records [op a b d] (see fuzz_segments.c).
def rec(op, a, b, d):
    return bytes([op & 255, a & 255, b & 255, d & 255])


TS_SACK_WS = 0x07
write("segments", "data-in-order-then-close",
      bytes([TS_SACK_WS]) + rec(0, 0, 63, 1) + rec(4, 20, 0, 0) + rec(6, 50, 0, 0) +
      rec(0, 0, 0xC0, 0xC0) + rec(5, 0, 100, 0) + rec(7, 0, 0, 0) + rec(6, 100, 1, 0) +
      rec(0, 0, 0xC0, 2))
write("segments", "send-with-sack-holes",
      bytes([TS_SACK_WS]) + rec(4, 200, 0, 0) + rec(6, 5, 0, 0) + rec(0x80, 0, 0xC0, 3) +
      rec(0x80, 1, 0x80, 9) + rec(6, 255, 1, 0) + rec(0x80, 0, 0xC0, 5))
write("segments", "out-of-order-and-zero-window",
      bytes([0x03]) + rec(0, 5, 20, 0) + rec(0, 0, 5, 0) + rec(0x20, 0, 0, 0) + rec(4, 255, 255, 0) +
      rec(6, 200, 1, 0) + rec(6, 200, 1, 0) + rec(0, 0, 0xC0, 0xC0))
write("segments", "no-options-fin-first",
      bytes([0x00]) + rec(0, 0, 10, 2) + rec(7, 1, 0, 0) + rec(6, 255, 1, 0) + rec(0, 0, 0, 2))

# fuzz_wasi_pipe: [read-size byte] then 2-byte length + IPv4 packet frames.
pkt = ipv4([10, 77, 0, 1], [10, 77, 0, 2], 6, b"\0" * 20)
write("wasi_pipe", "two-frames-split-by-7", bytes([6]) + (struct.pack("!H", len(pkt)) + pkt) * 2)
write("wasi_pipe", "zero-length-frame", bytes([0]) + b"\0\0")
write("wasi_pipe", "frame-beyond-mtu", bytes([1]) + struct.pack("!H", 1501) + b"\x45")

# fuzz_relay: [options] then records [op][len16][bytes]; op bit 0x40 sets the client's
# source address, 0x80 the length and checksum; (op >> 2) & 7 picks the path.
def relay_rec(op, data):
    return bytes([op]) + struct.pack("!H", len(data)) + data


up = ipv4([0, 0, 0, 0], [10, 77, 0, 1], 6, b"\0" * 20)
down = ipv4([10, 77, 0, 1], [0, 0, 0, 0], 6, b"\0" * 20)
write("relay", "ws-up-pipe-up-net-down-drain",
      bytes([0x00]) + relay_rec(0xC1, up) + relay_rec(0xC8 | 2, up) + relay_rec(0xD0, down) +
      relay_rec(0xDC, b""))
write("relay", "fragments-text-and-oversize",
      bytes([0x02]) + relay_rec(0x20 | 0x10, b"x" * 100) + relay_rec(0x01 | 0x10, b"y" * 2100) +
      relay_rec(0x21, b"z" * 3000))

# fuzz_input: records [ctl][len/8][bytes] (ctl & 3: shape the packet, 4: TCP, 8: to the
# listener; the low 3 bits of the length are ctl >> 5), see fuzz_input.c.
syn = struct.pack("!HHIIBBHHH", 40000, 8080, 1000, 0, 0x50, 0x02, 65535, 0, 0)
tcp_syn = ipv4([192, 0, 2, 1], [192, 168, 0, 1], 6, syn)
ack = struct.pack("!HHIIBBHHH", 40000, 8080, 1001, 1, 0x50, 0x10, 65535, 0, 0) + b"hello..."
tcp_ack = ipv4([192, 0, 2, 1], [192, 168, 0, 1], 6, ack)
udp = struct.pack("!HHHH", 5353, 53, 12, 0) + b"dns?"
ip_udp = ipv4([192, 0, 2, 1], [192, 168, 0, 1], 17, udp)
write("input", "syn-then-data", bytes([0x0F, len(tcp_syn) // 8]) + tcp_syn + bytes([0x0F, len(tcp_ack) // 8]) + tcp_ack)
write("input", "udp-datagram", bytes([0x03, len(ip_udp) // 8]) + ip_udp)
