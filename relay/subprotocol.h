/* subprotocol.h: the relay's reading of a client's Sec-WebSocket-Protocol list (RFC 6455
 * 4.1, 11.3.4): does it offer "wtcp", and which token does a "wtcp.token.TOKEN" entry carry.
 * Plain string functions, callable without a connection (the unit tests, fuzz_relay). */
#ifndef WTCP_RELAY_SUBPROTOCOL_H
#define WTCP_RELAY_SUBPROTOCOL_H

#include <stddef.h>

/* list: the header's value, NUL-terminated; it is cut up in place (strtok_r). */
/* 1 when an entry, trimmed of leading blanks and ending at the first blank, is name. */
int subprotocol_offers(char *list, const char *name);
/* 1 and the token (NUL-terminated) in out when an entry, trimmed of blanks at both ends,
 * is prefix + a token shorter than cap; 0 otherwise. */
int subprotocol_token(char *list, const char *prefix, char *out, size_t cap);

#endif
