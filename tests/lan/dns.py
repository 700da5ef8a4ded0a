#!/usr/bin/env python3
"""dns.py: a tiny DNS server for tests/lan/test.sh (a resolver on the relay's host): A
records from the command line, NXDOMAIN for other names, over UDP.

Usage: dns.py ADDR PORT NAME=IPV4 [NAME=IPV4 ...]"""
import socket
import struct
import sys


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    records = dict(a.split("=", 1) for a in sys.argv[3:])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        q, peer = s.recvfrom(2048)
        if len(q) < 12:
            continue
        qid, flags, qd = struct.unpack("!HHH", q[:6])
        if flags & 0x8000 or qd != 1:
            continue
        off, labels = 12, []
        while off < len(q) and q[off]:
            labels.append(q[off + 1:off + 1 + q[off]].decode(errors="replace"))
            off += 1 + q[off]
        question = q[12:off + 5]
        qtype = struct.unpack("!H", q[off + 1:off + 3])[0] if off + 3 <= len(q) else 0
        name = ".".join(labels).lower()
        ip = records.get(name)
        answers = b""
        rcode = 0 if ip else 3
        if ip and qtype == 1:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(ip)
        head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
        s.sendto(head + question + answers, peer)


if __name__ == "__main__":
    main()
