/* tunclient.c: Linux's own TCP as a wtcp-relay client: `wtcp-relay exec` runs it, it opens a TUN device with the relay's address for it and moves packets between the TUN and its stdin/stdout (2-byte big-endian length, then the IPv4 packet; docs/PROTOCOL.md).
 *
 * Run inside a network namespace of its own (ip netns exec NS tunclient ...) so the kernel
 * there reaches the network only through the relay: bench/relay-lossy.sh uses it to put
 * Linux's sender on exactly the path the wasm stack takes (the relay, its faults, the
 * nftables losses), with the same Linux receiver at the other end.
 *
 * Usage: tunclient READY-FILE   (environment from the relay: WTCP_ADDR, WTCP_PREFIX,
 *        WTCP_GATEWAY, WTCP_MTU). It creates TUN "wtcpc0", gives it WTCP_ADDR/WTCP_PREFIX
 *        and the MTU, routes everything through it to WTCP_GATEWAY, writes READY-FILE, and
 *        forwards until stdin ends. Packets it cannot deliver are counted on stderr at exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define DEV "wtcpc0"

static int die(const char *what)
{
    fprintf(stderr, "tunclient: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int run(const char *cmd)
{
    int st = system(cmd);
    if (st != 0)
        fprintf(stderr, "tunclient: failed (%d): %s\n", st, cmd);
    return st;
}

/* Reads exactly n bytes from fd; 0 at a clean end before any byte, -1 on error. */
static int read_full(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k == 0)
            return got ? -1 : 0;
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)k;
    }
    return 1;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k, n -= (size_t)k;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *addr = getenv("WTCP_ADDR"), *prefix = getenv("WTCP_PREFIX");
    const char *gw = getenv("WTCP_GATEWAY"), *mtu = getenv("WTCP_MTU");
    if (argc != 2 || !addr || !prefix || !gw || !mtu) {
        fprintf(stderr, "usage: wtcp-relay exec -- ip netns exec NS tunclient READY-FILE\n");
        return 2;
    }
    int tun = open("/dev/net/tun", O_RDWR);
    if (tun < 0)
        die("/dev/net/tun");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, DEV, IFNAMSIZ - 1);
    if (ioctl(tun, TUNSETIFF, &ifr) < 0)
        die("TUNSETIFF");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ip addr add %s/%s dev " DEV " && ip link set " DEV " mtu %s up && "
             "ip route add default via %s dev " DEV, addr, prefix, mtu, gw);
    if (run(cmd) != 0)
        return 1;
    FILE *ready = fopen(argv[1], "w");
    if (!ready || fprintf(ready, "ready %s\n", addr) < 0 || fclose(ready) != 0)
        die(argv[1]);

    static uint8_t buf[65536 + 2];
    unsigned long long up = 0, down = 0, bad = 0;
    struct pollfd pf[2] = { { .fd = 0, .events = POLLIN }, { .fd = tun, .events = POLLIN } };
    for (;;) {
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) { /* relay -> kernel */
            int r = read_full(0, buf, 2);
            if (r == 0)
                break;
            size_t n = (size_t)buf[0] << 8 | buf[1];
            if (r < 0 || n == 0 || read_full(0, buf, n) != 1)
                break;
            if (write(tun, buf, n) < 0)
                bad++;
            else
                down++;
        }
        if (pf[1].revents & POLLIN) { /* kernel -> relay */
            ssize_t n = read(tun, buf + 2, 65535);
            if (n > 0) {
                buf[0] = (uint8_t)(n >> 8);
                buf[1] = (uint8_t)n;
                if (write_full(1, buf, (size_t)n + 2) < 0)
                    break;
                up++;
            }
        }
    }
    fprintf(stderr, "tunclient: %llu packets up, %llu down, %llu not delivered\n", up, down, bad);
    return 0;
}
