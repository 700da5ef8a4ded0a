#!/usr/bin/env bash
# netdb.sh: the native test of wasi/posix/netdb.c and inet.c: a hostile little DNS server (Python, on 127.0.0.1) and a hosts file, then netdb_check.
#
# Usage: tests/posix/netdb.sh [BUILD_DIR | NETDB_CHECK]   (default build: build/tests/posix/netdb_check)
# netdb_check prints "ok ..." / "FAIL ..." lines and "N passed, N failed"; exit status 1
# when a check failed. No root needed.
set -u

check=${1:-build}
[ -d "$check" ] && check=${check%/}/tests/posix/netdb_check
[ -x "$check" ] || { echo "netdb.sh: no $check (make $check)" >&2; exit 2; }

tmp=$(mktemp -d)
dns_pid=
cleanup() {
    if [ -n "$dns_pid" ]; then kill "$dns_pid" 2>/dev/null; wait "$dns_pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/dns.py" <<'EOF'
# A DNS server for netdb_check: each name under .test asks for one behaviour.
import socket, struct, sys

def enc(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"

def rr(owner, rtype, data, rclass=1):
    return owner + struct.pack("!HHIH", rtype, rclass, 60, len(data)) + data

def a(owner, ip):
    return rr(owner, 1, socket.inet_aton(ip))

Q = b"\xc0\x0c"  # a pointer to the question's name

def msg(qid, question, answers=(), rcode=0, flags=0x8180, count=None):
    body = b"".join(answers)
    n = len(answers) if count is None else count
    return struct.pack("!HHHHHH", qid, flags | rcode, 1, n, 0, 0) + question + body

def main():
    port_file = sys.argv[1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    other_port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other_port.bind(("127.0.0.1", 0))
    try:
        other_addr = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other_addr.bind(("127.0.0.2", port))
    except OSError:
        other_addr = other_port
    with open(port_file + ".part", "w") as f:
        f.write(str(port))
    import os
    os.rename(port_file + ".part", port_file)
    counts, last = {}, (0, 0)
    while True:
        q, peer = s.recvfrom(2048)
        if len(q) < 17:
            continue
        qid, flags, qd = struct.unpack("!HHH", q[:6])
        if flags & 0x8000 or qd != 1:
            continue
        off, labels = 12, []
        while off < len(q) and q[off]:
            labels.append(q[off + 1:off + 1 + q[off]].decode(errors="replace"))
            off += 1 + q[off]
        question = q[12:off + 5]
        qtype = struct.unpack("!H", q[off + 1:off + 3])[0]
        name = ".".join(labels).lower()
        counts[name] = counts.get(name, 0) + 1
        send = lambda m, sock=s: sock.sendto(m, peer)
        good = lambda ip: send(msg(qid, question, [a(Q, ip)]))
        if name == "last.test":  # the previous query's ID and source port, as an address
            send(msg(qid, question, [rr(Q, 1, struct.pack("!HH", *last))]))
            continue
        last = (qid, peer[1])
        if name.startswith("count."):  # how many queries the rest of the name had
            send(msg(qid, question, [a(Q, "0.0.0.%d" % min(counts.get(name[6:], 0), 255))]))
        elif qtype == 12:
            if name == "1.0.0.10.in-addr.arpa":
                send(msg(qid, question, [rr(Q, 12, enc("ptr-host.test"))]))
            elif name == "4.0.0.10.in-addr.arpa":  # RFC 2317 style: CNAME then PTR
                send(msg(qid, question, [rr(Q, 5, enc("4.sub.test")),
                                         rr(enc("4.sub.test"), 12, enc("classless.test"))]))
            elif name == "5.0.0.10.in-addr.arpa":  # a name with bytes a name cannot have
                send(msg(qid, question, [rr(Q, 12, b"\x07ev\nl\x00!x\x04test\x00")]))
            elif name != "3.0.0.10.in-addr.arpa":  # 3: no reply
                send(msg(qid, question, rcode=3))
        elif qtype != 1:
            send(msg(qid, question, rcode=4))
        elif name == "dns.test":
            good("10.0.0.1")
        elif name == "shadow.test":  # the hosts file has it: never asked
            good("10.9.9.9")
        elif name.endswith(".long.test"):
            good("10.0.0.99")
        elif name == "alias.test":  # a CNAME chain, records out of order, a stranger's A
            send(msg(qid, question, [a(enc("real.test"), "10.0.0.5"), rr(Q, 5, enc("mid.test")),
                                     a(enc("evil.test"), "10.6.6.6"),
                                     rr(enc("mid.test"), 5, enc("real.test")),
                                     rr(enc("real.test"), 1, b"\1\2\3\4\5"),
                                     a(enc("real.test"), "10.0.0.6")]))
        elif name == "cnameloop.test":  # CNAMEs in a circle, no A
            send(msg(qid, question, [rr(Q, 5, enc("cnameloop.test"))]))
        elif name == "multi.test":
            send(msg(qid, question, [a(Q, "10.0.1.%d" % i) for i in range(1, 5)]))
        elif name == "many.test":  # more A records than are kept (16)
            send(msg(qid, question, [a(Q, "10.0.2.%d" % i) for i in range(1, 31)]))
        elif name == "nx.test":
            send(msg(qid, question, rcode=3))
        elif name == "fail.test":
            send(msg(qid, question, rcode=2))
        elif name == "refused.test":
            send(msg(qid, question, rcode=5))
        elif name == "noa.test":
            send(msg(qid, question))
        elif name == "case.test":  # the question echoed in other case (0x20)
            send(msg(qid, question.upper(), [a(Q, "10.0.0.11")]))
        elif name == "wrongid.test":
            send(msg(qid ^ 0x5555, question, [a(Q, "10.9.9.9")]))
            good("10.0.0.7")
        elif name == "wrongq.test":
            send(msg(qid, enc("other.test") + b"\0\1\0\1", [a(Q, "10.9.9.9")]))
            send(msg(qid, question[:-4] + b"\0\x1c\0\1", [a(Q, "10.9.9.9")]))  # AAAA
            good("10.0.0.12")
        elif name == "wrongport.test":
            send(msg(qid, question, [a(Q, "10.9.9.9")]), other_port)
            good("10.0.0.13")
        elif name == "wrongaddr.test":
            send(msg(qid, question, [a(Q, "10.9.9.9")]), other_addr)
            good("10.0.0.14")
        elif name == "notreply.test":  # QR clear, then another opcode
            send(msg(qid, question, [a(Q, "10.9.9.9")], flags=0x0100))
            send(msg(qid, question, [a(Q, "10.9.9.9")], flags=0x8980))
            send(msg(qid, b"", [], count=0)[:4] + b"\0\0\0\0\0\0\0\0")  # no question
            good("10.0.0.15")
        elif name == "cut.test":  # counts say 2, the datagram ends inside the second: dropped
            m = msg(qid, question, [a(Q, "10.9.9.9"), a(Q, "10.9.9.8")])
            send(m[:-3])
            send(m[:11])  # inside the header
            good("10.0.0.8")
        elif name == "tc.test":  # truncated (TC): the complete answers are taken
            m = msg(qid, question, [a(Q, "10.0.0.9"), a(Q, "10.0.0.10"), a(Q, "10.9.9.9")],
                    flags=0x8380)
            send(m[:-6])
        elif name == "tcempty.test":  # TC and nothing usable
            send(msg(qid, question, [], flags=0x8380, count=2))
        elif name == "loop.test":  # compression loops in the answer's name, then the answer
            hdr = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question
            o = len(hdr)
            tail = struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("10.9.9.9")
            send(hdr + struct.pack("!H", 0xc000 | o) + tail)                 # itself
            send(hdr + b"\x01a" + struct.pack("!H", 0xc000 | o) + tail)      # a label and back
            send(hdr + struct.pack("!H", 0xc000 | (o + 2)) + struct.pack("!H", 0xc000 | o) + tail)
            good("10.0.0.16")
        elif name == "timeout.test":
            pass
        else:
            send(msg(qid, question, rcode=3))

main()
EOF

python3 "$tmp/dns.py" "$tmp/port" &
dns_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || { echo "netdb.sh: the DNS server did not start" >&2; exit 2; }

long=$(printf 'x%.0s' $(seq 1100))
cat >"$tmp/hosts" <<EOF
# a hosts file for netdb_check
10.1.0.1	hostone.test  h1 one   # trailing comment
10.1.0.2 HostTwo.Test
  10.1.0.3   multi.hosts
10.1.0.4 multi.hosts second.hosts
::1 v6only.test
fe80::1%lo v6only.test
not-an-address bad.test
10.1.0.5 $long longline.test
10.1.0.6 after.long
127.0.0.2 shadow.test
10.1.0.7
1.2.3 short.form
EOF

WTCP_DNS="127.0.0.1:$(cat "$tmp/port")" WTCP_HOSTS="$tmp/hosts" WTCP_DNS_TIMEOUT=300 "$check"
