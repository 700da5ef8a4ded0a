/* subprotocol.c: the relay's reading of a client's Sec-WebSocket-Protocol list (RFC 6455
 * 4.1, 11.3.4): the entries are comma-separated, with optional blanks around them. */
#define _POSIX_C_SOURCE 200809L
#include "subprotocol.h"

#include <string.h>

int subprotocol_offers(char *list, const char *name)
{
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        size_t l = strcspn(t, " \t");
        if (l == strlen(name) && !strncmp(t, name, l))
            return 1;
    }
    return 0;
}

int subprotocol_token(char *list, const char *prefix, char *out, size_t cap)
{
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        size_t n = strlen(t);
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            t[--n] = 0;
        size_t pl = strlen(prefix);
        if (n > pl && !strncmp(t, prefix, pl) && n - pl < cap) {
            memcpy(out, t + pl, n - pl + 1);
            return 1;
        }
    }
    return 0;
}
