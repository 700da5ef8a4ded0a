#!/usr/bin/env python3
"""abuse.py: hostile and broken clients of wtcp-relay for relay/test_abuse.sh (standard
library only; the WebSocket client is wsclient.py's).

  abuse.py slowloris HOST PORT N HOLD   N TCP connections that send half an HTTP upgrade and
                                        stall; after HOLD s prints "closed C of N"
  abuse.py idle URL N HOLD              N WebSocket clients at once, each reads its
                                        configuration and then nothing; prints "open N ms T"
                                        once all are up, holds HOLD s, prints "still S"
  abuse.py flood URL SECONDS            one client sends valid packets (ICMP echoes to the
                                        relay) as fast as it can; prints "sent N"
  abuse.py noread URL SECONDS           one client that never reads, while it asks the
                                        relay for replies (pings); prints "sent N"
  abuse.py fragments URL N              a binary message in N continuation frames (a valid
                                        packet in all), then an 8 MB one in 64 KiB frames;
                                        prints "fragmented ok|closed CODE oversize CODE"
"""
import os
import selectors
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsclient  # noqa: E402


def slowloris(host, port, n, hold):
    socks = []
    for _ in range(int(n)):
        s = socket.create_connection((host, int(port)), 5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\n")  # never ends
        s.setblocking(False)
        socks.append(s)
    end = time.time() + float(hold)
    closed = set()
    while time.time() < end and len(closed) < len(socks):
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                if s.recv(4096) == b"":
                    closed.add(i)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
        time.sleep(0.2)
    print(f"closed {len(closed)} of {len(socks)}", flush=True)


def idle(url, n, hold):
    t0 = time.time()
    clients = []
    for _ in range(int(n)):
        ws, _cfg = wsclient.open_client(url)
        ws.sock.setblocking(False)
        clients.append(ws)
    print(f"open {len(clients)} ms {int((time.time() - t0) * 1000)}", flush=True)
    end = time.time() + float(hold)
    alive = set(range(len(clients)))
    while time.time() < end:
        for i in list(alive):
            try:
                if clients[i].sock.recv(65536) == b"":
                    alive.discard(i)
            except BlockingIOError:
                pass
            except OSError:
                alive.discard(i)
        time.sleep(0.5)
    print(f"still {len(alive)}", flush=True)


def flood(url, seconds):
    ws, cfg = wsclient.open_client(url)
    me, relay = cfg["address"], cfg["gateway"]
    pkt = wsclient.icmp_echo(me, relay, 7, 1)
    frame = None
    sent = 0
    end = time.time() + float(seconds)
    ws.sock.setblocking(True)
    while time.time() < end:
        # The same frame again and again (masking key fixed: the relay does not care).
        if frame is None:
            mask = b"\x01\x02\x03\x04"
            body = bytes(b ^ mask[i & 3] for i, b in enumerate(pkt))
            frame = bytes([0x82, 0x80 | len(pkt)]) + mask + body
        ws.sock.sendall(frame * 64)
        sent += 64
        # Drain what comes back, so that only the rate limit holds us.
        ws.sock.setblocking(False)
        try:
            while ws.sock.recv(1 << 20):
                pass
        except BlockingIOError:
            pass
        ws.sock.setblocking(True)
    print(f"sent {sent}", flush=True)


def noread(url, seconds):
    ws, cfg = wsclient.open_client(url)
    me, relay = cfg["address"], cfg["gateway"]
    ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sent = 0
    end = time.time() + float(seconds)
    seq = 0
    while time.time() < end:
        seq = (seq + 1) & 0xFFFF
        try:
            ws.sock.settimeout(1)
            ws.send(2, wsclient.icmp_echo(me, relay, 9, seq, b"x" * 1000))
            sent += 1
        except (socket.timeout, OSError):
            break
    print(f"sent {sent}", flush=True)


def fragments(url, n):
    ws, cfg = wsclient.open_client(url)
    me, relay = cfg["address"], cfg["gateway"]
    pkt = wsclient.icmp_echo(me, relay, 11, 1, b"y" * 200)
    n = int(n)
    step = max(1, len(pkt) // n)
    chunks = [pkt[i:i + step] for i in range(0, len(pkt), step)]
    # Empty continuation frames before the last one, up to n frames in all.
    parts = chunks[:-1] + [b""] * max(0, n - len(chunks)) + chunks[-1:]
    for i, p in enumerate(parts):
        ws.send(2 if i == 0 else 0, p, fin=(i == len(parts) - 1))
    got = "ok"
    try:
        op, data = ws.recv(5)
        if op == 8:
            got = "closed %d" % struct.unpack(">H", data[:2])[0]
    except Exception as e:  # noqa: BLE001
        got = "error " + type(e).__name__
    ws2, _ = wsclient.open_client(url)
    code = "none"
    try:
        chunk = b"z" * 65536
        for i in range(128):
            ws2.send(2 if i == 0 else 0, chunk, fin=(i == 127))
        ws2.sock.settimeout(5)
        while True:
            op, data = ws2.recv(5)
            if op == 8:
                code = str(struct.unpack(">H", data[:2])[0])
                break
    except (BrokenPipeError, ConnectionResetError, EOFError):
        code = "reset"
    except Exception as e:  # noqa: BLE001
        code = "error " + type(e).__name__
    print(f"fragmented {got} oversize {code}", flush=True)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"slowloris": slowloris, "idle": idle, "flood": flood, "noread": noread,
     "fragments": fragments}[cmd](*args)


if __name__ == "__main__":
    main()
