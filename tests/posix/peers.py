#!/usr/bin/env python3
"""peers.py: the Linux peers of tests/posix/test.sh, on kernel sockets.

  sink HOST PORT                 TCP: accepts, reads and discards, never sends
  echo-clients HOST PORT N SIZE  N TCP clients at once, each sends SIZE random bytes
                                 and must read them back exactly; prints "N of N byte-exact"
  line-server HOST PORT          TCP, one client: "welcome", each line back uppercased,
                                 "bye" after the client's end of file, then exits
  udp-upper HOST PORT            UDP: each datagram back uppercased to its sender
  udp-ask HOST PORT MSG...       UDP client: prints "reply: TEXT" per message (retries)
"""
import os
import selectors
import socket
import sys
import time


def sink(host, port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is ls:
                c, _ = ls.accept()
                sel.register(c, selectors.EVENT_READ)
            else:
                try:
                    d = key.fileobj.recv(65536)
                except OSError:
                    d = b""
                if not d:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()


def echo_clients(host, port, n, size, deadline=60):
    sel = selectors.DefaultSelector()
    state = {}
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((host, port))
        data = os.urandom(size)
        state[s] = {"data": data, "sent": 0, "got": bytearray(), "done": False, "err": None}
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    end = time.monotonic() + deadline
    open_ = n
    while open_ and time.monotonic() < end:
        for key, ev in sel.select(1):
            s, st = key.fileobj, state[key.fileobj]
            try:
                if ev & selectors.EVENT_WRITE and st["sent"] < size:
                    st["sent"] += s.send(st["data"][st["sent"]:st["sent"] + 65536])
                    if st["sent"] == size:
                        s.shutdown(socket.SHUT_WR)
                        sel.modify(s, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    d = s.recv(65536)
                    if d:
                        st["got"] += d
                        continue
                    st["done"] = True
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                st["err"] = str(e)
            if st["done"] or st["err"]:
                sel.unregister(s)
                s.close()
                open_ -= 1
    good = sum(1 for st in state.values() if st["done"] and bytes(st["got"]) == st["data"])
    print(f"{good} of {n} byte-exact")
    for st in state.values():
        if not (st["done"] and bytes(st["got"]) == st["data"]):
            print(f"  sent {st['sent']} got {len(st['got'])} err {st['err']} done {st['done']}", file=sys.stderr)
    return 0 if good == n else 1


def line_server(host, port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(1)
    print("ready", flush=True)
    c, _ = ls.accept()
    c.sendall(b"welcome\n")
    pending = b""
    while True:
        d = c.recv(4096)
        if not d:
            break
        pending += d
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            c.sendall(line.upper() + b"\n")
    if pending:
        c.sendall(pending.upper() + b"\n")
    c.sendall(b"bye\n")
    c.close()
    return 0


def udp_upper(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    while True:
        d, peer = s.recvfrom(65536)
        s.sendto(d.upper(), peer)


def udp_ask(host, port, msgs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    failures = 0
    for m in msgs:
        for _ in range(5):
            s.sendto(m.encode(), (host, port))
            try:
                d, _ = s.recvfrom(65536)
                print("reply: " + d.decode(errors="replace"), flush=True)
                break
            except socket.timeout:
                continue
        else:
            print("no reply to " + m, flush=True)
            failures += 1
    return 1 if failures else 0


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, host, port = a[0], a[1], int(a[2])
    if cmd == "sink":
        return sink(host, port)
    if cmd == "echo-clients":
        return echo_clients(host, port, int(a[3]), int(a[4]))
    if cmd == "line-server":
        return line_server(host, port)
    if cmd == "udp-upper":
        return udp_upper(host, port)
    if cmd == "udp-ask":
        return udp_ask(host, port, a[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
