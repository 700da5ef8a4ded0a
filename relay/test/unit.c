/* unit.c: unit tests of the relay's IPv4 checks (RFC 791, RFC 1071), its address pool and its
 * reading of the Sec-WebSocket-Protocol list. */
#include "packet.h"
#include "pool.h"
#include "subprotocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        checks++;                                                                              \
        if (!(cond)) {                                                                         \
            failures++;                                                                        \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                             \
        }                                                                                      \
    } while (0)

/* The header from RFC 1071's neighbourhood of examples, as every tutorial has it:
 * 192.168.0.1 -> 192.168.0.199, UDP, checksum 0xb861. */
static const uint8_t known_header[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                         0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

static size_t make_packet(uint8_t *p, size_t len)
{
    memset(p, 0xab, len);
    memcpy(p, known_header, 20);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[10] = p[11] = 0;
    uint16_t c = ipv4_checksum(p, 20);
    p[10] = (uint8_t)(c >> 8);
    p[11] = (uint8_t)c;
    return len;
}

static void test_checksum(void)
{
    uint8_t h[20];
    memcpy(h, known_header, 20);
    CHECK(ipv4_checksum(h, 20) == 0);
    h[10] = h[11] = 0;
    CHECK(ipv4_checksum(h, 20) == 0xb861);
    const uint8_t odd[3] = {0x01, 0x02, 0x03}; /* 0x0102 + 0x0300 = 0x0402 */
    CHECK(ipv4_checksum(odd, 3) == (uint16_t)~0x0402);
}

static void test_ipv4_check(void)
{
    uint8_t p[100];
    size_t n = make_packet(p, 60);
    CHECK(ipv4_check(p, n) == DROP_NONE);
    CHECK(ipv4_src(p) == 0xc0a80001u && ipv4_dst(p) == 0xc0a800c7u);
    CHECK(ipv4_check(p, 19) == DROP_MALFORMED);      /* shorter than a header */
    CHECK(ipv4_check(p, 0) == DROP_MALFORMED);
    CHECK(ipv4_check(p, n - 1) == DROP_MALFORMED);   /* total length > message */
    CHECK(ipv4_check(p, n + 1) == DROP_MALFORMED);   /* total length < message */
    p[0] = 0x65;
    CHECK(ipv4_check(p, n) == DROP_MALFORMED);       /* version 6 */
    p[0] = 0x44;
    CHECK(ipv4_check(p, n) == DROP_MALFORMED);       /* IHL 4 */
    p[0] = 0x4f;                                     /* IHL 15: 60 bytes, = the packet */
    CHECK(ipv4_check(p, n) == DROP_CHECKSUM);        /* right length, wrong sum */
    n = make_packet(p, 40);
    p[0] = 0x4f;                                     /* IHL 15 in a 40-byte packet */
    CHECK(ipv4_check(p, n) == DROP_MALFORMED);
    n = make_packet(p, 20);
    CHECK(ipv4_check(p, n) == DROP_NONE);            /* a bare header is a packet */
    p[8] ^= 1;
    CHECK(ipv4_check(p, n) == DROP_CHECKSUM);
    CHECK(!strcmp(relay_drop_name(DROP_SPOOFED), "spoofed"));
    for (int i = 0; i < DROP_COUNT; i++)
        CHECK(relay_drop_name((enum relay_drop)i) && strcmp(relay_drop_name((enum relay_drop)i), "none"));
}

static void test_ipv4_text(void)
{
    uint32_t a = 0;
    char s[16];
    CHECK(ipv4_parse("10.77.0.1", &a) == 0 && a == 0x0a4d0001u);
    CHECK(ipv4_parse("255.255.255.255", &a) == 0 && a == 0xffffffffu);
    CHECK(!strcmp(ipv4_format(0x0a4d0102u, s), "10.77.1.2"));
    const char *bad[] = {"", "10.77.0", "10.77.0.1.", "10.77.0.256", "1.2.3.4x", "a.b.c.d",
                         "1..2.3", "1.2.3.1234", " 1.2.3.4", "-1.2.3.4"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(ipv4_parse(bad[i], &a) < 0);
}

static void test_pool_small(void)
{
    relay_pool p;
    int owner;
    /* /30: .1 and .2 are hosts; .1 is the relay's. */
    CHECK(pool_init(&p, 0x0a000000u, 30, 0x0a000001u, 10) == 0);
    CHECK(pool_capacity(&p) == 1);
    CHECK(pool_take(&p, &owner) == 0x0a000002u);
    CHECK(pool_take(&p, &owner) == 0);
    CHECK(pool_find(&p, 0x0a000002u) == &owner);
    CHECK(pool_find(&p, 0x0a000001u) == NULL);
    pool_release(&p, 0x0a000002u);
    CHECK(pool_find(&p, 0x0a000002u) == NULL);
    CHECK(pool_take(&p, &owner) == 0x0a000002u);
    pool_destroy(&p);
    CHECK(pool_init(&p, 0, 31, 0, 1) < 0);
    CHECK(pool_init(&p, 0, 0, 0, 1) < 0);
}

static void test_pool_in_turn(void)
{
    relay_pool p;
    int o;
    CHECK(pool_init(&p, 0x0a4d0000u, 24, 0x0a4d0001u, 3) == 0);
    CHECK(pool_capacity(&p) == 253);
    CHECK(pool_take(&p, &o) == 0x0a4d0002u);
    CHECK(pool_take(&p, &o) == 0x0a4d0003u);
    pool_release(&p, 0x0a4d0002u);
    CHECK(pool_take(&p, &o) == 0x0a4d0004u); /* not .2 again at once */
    CHECK(pool_take(&p, &o) == 0x0a4d0005u);
    CHECK(pool_take(&p, &o) == 0);           /* max 3 out */
    pool_destroy(&p);

    /* The search wraps from the last address to the first. */
    CHECK(pool_init(&p, 0x0a4d0000u, 29, 0x0a4d0006u, 10) == 0); /* hosts .1-.6, relay .6 */
    uint32_t got[5];
    for (int i = 0; i < 5; i++)
        got[i] = pool_take(&p, &o);
    CHECK(got[0] == 0x0a4d0001u && got[4] == 0x0a4d0005u);
    CHECK(pool_take(&p, &o) == 0); /* exhausted */
    pool_release(&p, 0x0a4d0003u);
    CHECK(pool_take(&p, &o) == 0x0a4d0003u);
    pool_destroy(&p);
}

/* Random takes and releases against a plain array. */
static void test_pool_random(void)
{
    enum { MAX = 1000, SPAN = 65536 };
    relay_pool p;
    static void *ref[SPAN];
    static int tags[SPAN];
    memset(ref, 0, sizeof ref);
    CHECK(pool_init(&p, 0x0a4d0000u, 16, 0x0a4d0001u, MAX) == 0);
    uint64_t s = 12345;
    size_t out = 0;
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(s >> 33);
        if (r % 3 && out < MAX) {
            uint32_t a = pool_take(&p, &tags[out]);
            if (!a || ref[a & 0xffff] || a == 0x0a4d0001u || (a >> 16) != 0x0a4d)
                bad++;
            else
                ref[a & 0xffff] = &tags[out], out++;
        } else if (out) {
            /* release a random assigned address */
            unsigned k = r % SPAN;
            while (!ref[k])
                k = (k + 1) % SPAN;
            pool_release(&p, 0x0a4d0000u | k);
            ref[k] = NULL;
            out--;
        }
        if (i % 1000 == 0)
            for (unsigned k = 0; k < SPAN; k++)
                if (pool_find(&p, 0x0a4d0000u | k) != ref[k])
                    bad++;
    }
    CHECK(bad == 0);
    CHECK(p.used == out);
    pool_destroy(&p);
}

static int offers(const char *list)
{
    char b[512];
    snprintf(b, sizeof b, "%s", list);
    return subprotocol_offers(b, "wtcp");
}

static int token(const char *list, char *out, size_t cap)
{
    char b[512];
    snprintf(b, sizeof b, "%s", list);
    return subprotocol_token(b, "wtcp.token.", out, cap);
}

static void test_subprotocol(void)
{
    CHECK(offers("wtcp"));
    CHECK(offers("chat, wtcp"));
    CHECK(offers(" \twtcp ,x"));
    CHECK(!offers("wtcpx"));
    CHECK(!offers("wtc"));
    CHECK(!offers(""));
    CHECK(!offers(",,,"));
    CHECK(offers("wtcp extra")); /* an entry ends at its first blank */
    char t[8];
    CHECK(token("wtcp, wtcp.token.abc ", t, sizeof t) && !strcmp(t, "abc"));
    CHECK(token("wtcp.token.1234567", t, sizeof t) && !strcmp(t, "1234567"));
    CHECK(!token("wtcp.token.12345678", t, sizeof t)); /* does not fit */
    CHECK(!token("wtcp.token.", t, sizeof t));         /* empty */
    CHECK(!token("wtcp", t, sizeof t));
    CHECK(token("x,\twtcp.token.a b\t", t, sizeof t) && !strcmp(t, "a b"));
}

int main(void)
{
    test_checksum();
    test_ipv4_check();
    test_ipv4_text();
    test_pool_small();
    test_pool_in_turn();
    test_pool_random();
    test_subprotocol();
    printf("%d checks, %d failed\n", checks, failures);
    return failures != 0;
}
