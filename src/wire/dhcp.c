/* dhcp.c: checked parsing of DHCP messages (RFC 2131 section 2, the options of RFC 2132
 * that a server needs). */
#include <string.h>

#include "wire.h"

int wire_dhcp_parse(const uint8_t *msg, size_t len, wire_dhcp *out)
{
    if (len < WIRE_DHCP_MIN || wire_get32(msg + WIRE_DHCP_FIXED) != 0x63825363u)
        return WTCP_DROP_DHCP_MALFORMED;
    memset(out, 0, sizeof *out);
    out->op = msg[0];
    out->htype = msg[1];
    out->hlen = msg[2];
    out->xid = wire_get32(msg + 4);
    out->secs = wire_get16(msg + 8);
    out->flags = wire_get16(msg + 10);
    out->ciaddr = wire_get32(msg + 12);
    out->yiaddr = wire_get32(msg + 16);
    out->siaddr = wire_get32(msg + 20);
    out->giaddr = wire_get32(msg + 24);
    memcpy(out->chaddr, msg + 28, 16);
    size_t off = WIRE_DHCP_MIN;
    while (off < len) {
        uint8_t code = msg[off++];
        if (code == WIRE_DHCPO_PAD)
            continue;
        if (code == WIRE_DHCPO_END)
            break;
        if (off >= len || off + 1 + msg[off] > len)
            return WTCP_DROP_DHCP_MALFORMED; /* a length running past the message */
        uint8_t olen = msg[off];
        const uint8_t *v = msg + off + 1;
        off += 1 + (size_t)olen;
        switch (code) {
        case WIRE_DHCPO_TYPE:
            if (olen != 1 || out->type)
                return WTCP_DROP_DHCP_MALFORMED;
            out->type = v[0];
            break;
        case WIRE_DHCPO_REQUESTED:
            if (olen != 4 || out->has_requested)
                return WTCP_DROP_DHCP_MALFORMED;
            out->has_requested = 1;
            out->requested = wire_get32(v);
            break;
        case WIRE_DHCPO_SERVER:
            if (olen != 4 || out->has_server)
                return WTCP_DROP_DHCP_MALFORMED;
            out->has_server = 1;
            out->server = wire_get32(v);
            break;
        case WIRE_DHCPO_OVERLOAD:
            /* Options in sname/file: no client a server must serve needs it; refused
             * rather than half read. */
            return WTCP_DROP_DHCP_MALFORMED;
        default:
            break; /* what a server need not read (client id, hostname, parameter list...) */
        }
    }
    if (out->type < WIRE_DHCP_DISCOVER || out->type > WIRE_DHCP_INFORM)
        return WTCP_DROP_DHCP_MALFORMED;
    return WIRE_OK;
}
