/* link.h: what every WASI program of wtcp shares about its link: the WTCP_* settings from the environment, and the 2-byte length framing of packets. */
#ifndef WASI_LINK_H
#define WASI_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <wtcp.h>

/*
 * Settings (the relay sets them; wasi/README.md lists them):
 *   WTCP_ADDR     our address                    default 10.77.0.2
 *   WTCP_PREFIX   on-link prefix length          default 16
 *   WTCP_GATEWAY  the relay's address, or "none" default the subnet's first address (.1)
 *   WTCP_MTU      link MTU, 576..65535           default 1500
 *   WTCP_VERBOSE  1: settings and counters on stderr
 */
typedef struct link_settings {
    uint32_t addr;      /* host byte order */
    uint32_t gateway;   /* 0: none */
    uint8_t prefix;
    uint16_t mtu;
    int verbose;
} link_settings;

/* Reads the environment. Returns 0, or prints "prog: why" on stderr and returns -1. */
int link_settings_read(link_settings *s, const char *prog);
/* A stack configuration for the settings (address, routes, MTU, ISN key from getentropy);
 * the caller sets cfg->output. Returns 0, or prints why and returns -1. */
int link_settings_config(const link_settings *s, const char *prog, wtcp_config *cfg);

/* Framing: each packet is preceded by its length, 2 bytes big-endian. */
enum link_frame { LINK_FRAME_OK = 0, LINK_FRAME_SHORT = 1, LINK_FRAME_BAD = -1 };
/* Looks at the bytes at p (avail of them): LINK_FRAME_OK with *len the packet's length
 * (the packet is at p + 2) when a whole frame of one IPv4 packet is there,
 * LINK_FRAME_SHORT when more bytes are needed, LINK_FRAME_BAD with a reason in why when
 * the framing is broken (a zero length, over the MTU, not exactly one IPv4 packet). */
int link_frame_check(const uint8_t *p, size_t avail, uint16_t mtu, size_t *len, char *why,
                     size_t why_len);
/* Frames a packet into out (which must have len + 2 bytes). */
void link_frame_put(uint8_t *out, const uint8_t *packet, size_t len);

#endif
