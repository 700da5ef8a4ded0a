#!/usr/bin/env python3
"""transfer.py: the upload half of the guest-LAN tests (tests/lan, tests/wisp), both ends.

  transfer.py sink ADDR PORT [BYTES_PER_S]   accepts connections; each sends its length as a
                                             decimal line, then that many bytes; answers
                                             "N SHA256" and closes (reading at most BYTES_PER_S)
  transfer.py send ADDR PORT FILE            sends FILE that way, prints the sink's answer

The length comes first because Wisp 1 cannot half-close: the end of the data is known
without a FIN."""
import hashlib
import os
import socket
import sys
import threading
import time


def serve(c, rate):
    f = c.makefile("rb")
    want = int(f.readline())
    h, n = hashlib.sha256(), 0
    while n < want:
        b = f.read(min(1 << 16, want - n))
        if not b:
            break
        h.update(b)
        n += len(b)
        if rate:
            time.sleep(len(b) / rate)
    c.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
    c.close()


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "sink":
        rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rate:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.bind((addr, port))
        s.listen(8)
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c, rate), daemon=True).start()
    path = sys.argv[4]
    s = socket.create_connection((addr, port), timeout=120)
    s.sendall(b"%d\n" % os.path.getsize(path))
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                break
            s.sendall(b)
    print(s.makefile().readline().strip())


if __name__ == "__main__":
    main()
