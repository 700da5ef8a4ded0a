/* link.c: the WTCP_* settings from the environment and the 2-byte length framing, shared by the WASI commands (loop.c) and the POSIX layer (posix/). */
#define _DEFAULT_SOURCE /* getentropy() */

#include "link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int env_addr(const char *prog, const char *name, uint32_t *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    if (wtcp_addr_parse(v, out) < 0) {
        fprintf(stderr, "%s: %s='%s' is not an IPv4 address (a.b.c.d)\n", prog, name, v);
        return -1;
    }
    return 1;
}

static int env_uint(const char *prog, const char *name, unsigned long lo, unsigned long hi,
                    unsigned long *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || *end || v[0] == '-' || v[0] == '+' || n < lo || n > hi) {
        fprintf(stderr, "%s: %s='%s' is not a number in %lu..%lu\n", prog, name, v, lo, hi);
        return -1;
    }
    *out = n;
    return 1;
}

int link_settings_read(link_settings *s, const char *prog)
{
    memset(s, 0, sizeof *s);
    s->addr = 0x0a4d0002u; /* 10.77.0.2 */
    s->prefix = 16;
    s->mtu = 1500;

    unsigned long n = 0;
    int r;
    if (env_addr(prog, "WTCP_ADDR", &s->addr) < 0)
        return -1;
    if ((r = env_uint(prog, "WTCP_PREFIX", 0, 32, &n)) < 0)
        return -1;
    if (r)
        s->prefix = (uint8_t)n;
    if ((r = env_uint(prog, "WTCP_MTU", 576, 65535, &n)) < 0)
        return -1;
    if (r)
        s->mtu = (uint16_t)n;
    if ((r = env_uint(prog, "WTCP_VERBOSE", 0, 9, &n)) < 0)
        return -1;
    s->verbose = r ? (int)n : 0;

    uint32_t mask = s->prefix ? 0xffffffffu << (32 - s->prefix) : 0;
    const char *gw = getenv("WTCP_GATEWAY");
    if (gw && !strcmp(gw, "none")) {
        s->gateway = 0;
    } else if ((r = env_addr(prog, "WTCP_GATEWAY", &s->gateway)) < 0) {
        return -1;
    } else if (r == 0) {
        s->gateway = (s->addr & mask) | 1u; /* where the relay sits */
        if (s->gateway == s->addr || s->prefix > 30)
            s->gateway = 0;
    } else if ((s->gateway & mask) != (s->addr & mask) || s->gateway == s->addr) {
        char a[16], g[16];
        wtcp_addr_format(s->addr, a);
        wtcp_addr_format(s->gateway, g);
        fprintf(stderr, "%s: WTCP_GATEWAY=%s is not another address on %s/%u\n", prog, g, a,
                (unsigned)s->prefix);
        return -1;
    }
    return 0;
}

int link_settings_config(const link_settings *s, const char *prog, wtcp_config *cfg)
{
    wtcp_config_init(cfg);
    cfg->addr = s->addr;
    /* With a gateway every destination is reachable through the link. */
    cfg->prefix_len = s->gateway ? 0 : s->prefix;
    cfg->mtu = s->mtu;
    if (getentropy(cfg->isn_key, sizeof cfg->isn_key) != 0) {
        fprintf(stderr, "%s: getentropy: %s\n", prog, strerror(errno));
        return -1;
    }
    return 0;
}

int link_frame_check(const uint8_t *p, size_t avail, uint16_t mtu, size_t *len, char *why,
                     size_t why_len)
{
    if (avail < 2)
        return LINK_FRAME_SHORT;
    size_t n = (size_t)p[0] << 8 | p[1];
    if (n == 0) {
        snprintf(why, why_len, "zero-length frame");
        return LINK_FRAME_BAD;
    }
    if (n > mtu) {
        snprintf(why, why_len, "frame of %zu bytes exceeds the MTU of %u", n, (unsigned)mtu);
        return LINK_FRAME_BAD;
    }
    if (avail - 2 < n)
        return LINK_FRAME_SHORT;
    const uint8_t *pkt = p + 2;
    size_t total = n >= 4 ? (size_t)pkt[2] << 8 | pkt[3] : 0;
    if (n < 20 || pkt[0] >> 4 != 4 || (pkt[0] & 15) < 5 || total != n) {
        snprintf(why, why_len,
                 "a frame of %zu bytes that is not one IPv4 packet (first bytes %02x %02x %02x %02x)",
                 n, pkt[0], n > 1 ? pkt[1] : 0, n > 2 ? pkt[2] : 0, n > 3 ? pkt[3] : 0);
        return LINK_FRAME_BAD;
    }
    *len = n;
    return LINK_FRAME_OK;
}

void link_frame_put(uint8_t *out, const uint8_t *packet, size_t len)
{
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    memcpy(out + 2, packet, len);
}
