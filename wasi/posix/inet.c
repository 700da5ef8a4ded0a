/* inet.c: inet_addr, inet_network, inet_ntoa, inet_makeaddr, inet_lnaof, inet_netof for the wtcp POSIX layer (POSIX inet_addr; the 4.2BSD dotted forms and classful parts). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>

/* The parts of "a", "a.b", "a.b.c" or "a.b.c.d", each decimal, 0-octal or 0x-hex, with
 * nothing before or after (no spaces, no signs): their number, or 0 if malformed. */
static int dotted_parts(const char *s, uint32_t v[4])
{
    int n = 0;
    for (;;) {
        uint32_t x = 0, base = 10;
        int digits = 0;
        if (*s == '0') {
            base = 8, digits = 1, s++;
            if (*s == 'x' || *s == 'X')
                base = 16, digits = 0, s++;
        }
        for (;; s++, digits++) {
            uint32_t d;
            if (*s >= '0' && *s <= '9')
                d = (uint32_t)(*s - '0');
            else if (*s >= 'a' && *s <= 'f')
                d = (uint32_t)(*s - 'a' + 10);
            else if (*s >= 'A' && *s <= 'F')
                d = (uint32_t)(*s - 'A' + 10);
            else
                break;
            if (d >= base)
                return 0; /* a digit beyond the base ("08", "1a") */
            if (x > (UINT32_MAX - d) / base)
                return 0;
            x = x * base + d;
        }
        if (!digits)
            return 0;
        v[n++] = x;
        if (*s == '\0')
            return n;
        if (*s != '.' || n == 4)
            return 0;
        s++;
    }
}

/* inet_addr: the a, a.b (8.24 bits), a.b.c (8.8.16) and a.b.c.d forms as inet_aton; network
 * order; INADDR_NONE when malformed (and, as everywhere, for 255.255.255.255). */
in_addr_t inet_addr(const char *cp)
{
    uint32_t v[4];
    int n = cp ? dotted_parts(cp, v) : 0;
    static const uint32_t last_max[5] = {0, 0xffffffff, 0xffffff, 0xffff, 0xff};
    uint32_t a = 0;
    if (!n || v[n - 1] > last_max[n])
        return INADDR_NONE;
    for (int i = 0; i < n - 1; i++) {
        if (v[i] > 0xff)
            return INADDR_NONE;
        a |= v[i] << (24 - 8 * i);
    }
    return htonl(a | v[n - 1]);
}

/* inet_network: up to four parts of 8 bits each, concatenated ("10.1" is 0x0a01); host
 * order; INADDR_NONE when malformed. */
in_addr_t inet_network(const char *cp)
{
    uint32_t v[4], a = 0;
    int n = cp ? dotted_parts(cp, v) : 0;
    if (!n)
        return INADDR_NONE;
    for (int i = 0; i < n; i++) {
        if (v[i] > 0xff)
            return INADDR_NONE;
        a = a << 8 | v[i];
    }
    return a;
}

/* inet_ntoa: dotted quad in a static buffer, overwritten by each call. */
char *inet_ntoa(struct in_addr in)
{
    static char buf[16];
    const unsigned char *b = (const unsigned char *)&in.s_addr;
    snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return buf;
}

/* inet_makeaddr, inet_lnaof, inet_netof: the classful (A/B/C) network and host parts. */
struct in_addr inet_makeaddr(in_addr_t net, in_addr_t host)
{
    struct in_addr in;
    if (net < 0x80)
        in.s_addr = net << 24 | (host & 0xffffff);
    else if (net < 0x10000)
        in.s_addr = net << 16 | (host & 0xffff);
    else if (net < 0x1000000)
        in.s_addr = net << 8 | (host & 0xff);
    else
        in.s_addr = net | host;
    in.s_addr = htonl(in.s_addr);
    return in;
}

in_addr_t inet_lnaof(struct in_addr in)
{
    uint32_t a = ntohl(in.s_addr);
    return !(a & 0x80000000) ? a & 0xffffff : !(a & 0x40000000) ? a & 0xffff : a & 0xff;
}

in_addr_t inet_netof(struct in_addr in)
{
    uint32_t a = ntohl(in.s_addr);
    return !(a & 0x80000000) ? a >> 24 : !(a & 0x40000000) ? a >> 16 : a >> 8;
}
