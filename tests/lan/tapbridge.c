/* tapbridge.c: a Linux TAP device (IFF_TAP, no packet information) in the current network
 * namespace, its Ethernet frames on stdout and stdin, each after its length as 2 bytes
 * big-endian (the framing of wtcp-relay exec): what an emulator's NIC hands JavaScript.
 *
 * Usage: wtcp-tapbridge IFNAME   (as root; the caller brings the device up and addresses
 *        it). Ends at end of input or on an I/O error; the device goes with the process. */
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

enum { FRAME_MAX = 65535 + 14, IN_BUF = 1 << 18 };

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 || strlen(argv[1]) >= IFNAMSIZ) {
        fprintf(stderr, "usage: %s IFNAME\n", argv[0]);
        return 2;
    }
    int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tap < 0) {
        perror("tapbridge: /dev/net/tun");
        return 1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strcpy(ifr.ifr_name, argv[1]);
    if (ioctl(tap, TUNSETIFF, &ifr) < 0) {
        perror("tapbridge: TUNSETIFF");
        return 1;
    }
    static uint8_t out[2 + FRAME_MAX], in[IN_BUF];
    size_t have = 0;
    struct pollfd fds[2] = {{.fd = tap, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("tapbridge: poll");
            return 1;
        }
        if (fds[0].revents & POLLIN) { /* frames from the kernel, until none is left */
            for (int k = 0; k < 64; k++) {
                ssize_t n = read(tap, out + 2, FRAME_MAX);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                    break;
                if (n < 0) {
                    perror("tapbridge: read tap");
                    return 1;
                }
                out[0] = (uint8_t)(n >> 8);
                out[1] = (uint8_t)n;
                if (write_all(1, out, 2 + (size_t)n) < 0)
                    return 0; /* the reader went away */
                struct pollfd again = {.fd = tap, .events = POLLIN};
                if (poll(&again, 1, 0) <= 0)
                    break;
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP)) { /* frames for the kernel */
            ssize_t n = read(0, in + have, sizeof in - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return 0;
            have += (size_t)n;
            size_t off = 0;
            while (have - off >= 2) {
                size_t len = (size_t)in[off] << 8 | in[off + 1];
                if (have - off < 2 + len)
                    break;
                if (len >= 14 && write(tap, in + off + 2, len) < 0 && errno != EINVAL && errno != EIO) {
                    perror("tapbridge: write tap");
                    return 1;
                }
                off += 2 + len;
            }
            memmove(in, in + off, have - off);
            have -= off;
        }
    }
}
