/* tun.c: opens the TUN device (IFF_TUN | IFF_NO_PI) and gives it its address, netmask and MTU with ioctl(2). */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* if_nametoindex without <net/if.h>, which clashes with <linux/if.h>. */
static int iface_exists(const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/sys/class/net/%s", name);
    return access(path, F_OK) == 0;
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    memcpy(sa, &sin, sizeof sin);
}

/* The kernel would otherwise send IPv6 router solicitations and MLD reports into the
 * TUN; they could only be dropped. */
static void disable_ipv6(const char *name)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (write(fd, "1", 1) != 1) {
        /* not fatal: the relay drops and counts what is not IPv4 */
    }
    close(fd);
}

static int configure(relay *r, int existed)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        relay_log("error tun=%s msg=\"socket: %s\"", r->tun_name, strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    const char *step = NULL;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, r->tun_name, sizeof ifr.ifr_name);

    set_sin(&ifr.ifr_addr, r->o.addr);
    if (!step && ioctl(s, SIOCSIFADDR, &ifr) < 0)
        step = "SIOCSIFADDR";
    set_sin(&ifr.ifr_netmask, r->netmask);
    if (!step && ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
        step = "SIOCSIFNETMASK";
    ifr.ifr_mtu = (int)r->o.mtu;
    if (!step && ioctl(s, SIOCSIFMTU, &ifr) < 0)
        step = "SIOCSIFMTU";
    if (!step && ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        step = "SIOCGIFFLAGS";
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (!step && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        step = "SIOCSIFFLAGS";
    int err = errno;
    close(s);
    if (!step)
        return 0;
    if (existed && (err == EPERM || err == EACCES)) {
        /* A persistent device given to an unprivileged relay: its owner configured it. */
        relay_log("warning tun=%s msg=\"cannot configure an existing device (%s: %s); using it as it is\"",
                  r->tun_name, step, strerror(err));
        return 0;
    }
    relay_log("error tun=%s msg=\"%s: %s\"", r->tun_name, step, strerror(err));
    return -1;
}

int tun_open(relay *r)
{
    const char *name = r->o.tun_name;
    if (strlen(name) >= IFNAMSIZ) {
        relay_log("error msg=\"--tun %s: a device name has at most %d characters\"", name,
                  IFNAMSIZ - 1);
        return -1;
    }
    int existed = !strchr(name, '%') && iface_exists(name);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        relay_log("error msg=\"/dev/net/tun: %s\"", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int err = errno;
        relay_log("error tun=%s msg=\"TUNSETIFF: %s%s\"", name, strerror(err),
                  err == EPERM ? " (needs root or CAP_NET_ADMIN, or a persistent device owned by this user)"
                  : err == EBUSY ? " (another program holds it)" : "");
        close(fd);
        return -1;
    }
    memcpy(r->tun_name, ifr.ifr_name, sizeof r->tun_name);
    r->tun_name[sizeof r->tun_name - 1] = 0;
    /* The relay never sets TUNSETPERSIST: a device it created goes away with its fd. */
    r->tun_created = !existed;
    r->tun_fd = fd;
    disable_ipv6(r->tun_name);
    if (configure(r, existed) < 0) {
        close(fd);
        r->tun_fd = -1;
        return -1;
    }
    return 0;
}
