#!/bin/sh
# udhcpc.sh: busybox udhcpc's event script for tests/lan/test.sh and the v86 guest (Debian's
# busybox ships none): applies the lease to the interface (address, MTU, default route,
# resolv.conf, which `ip netns exec` keeps per namespace under /etc/netns), prints it, and
# appends it to $UDHCPC_LOG when that is set.
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound | renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    for r in $router; do ip route replace default via "$r" dev "$interface"; done
    : >/etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
    line="$1 ip=$ip/$mask router=$router dns=$dns mtu=$mtu lease=$lease serverid=$serverid"
    echo "lease: $line"
    [ -n "${UDHCPC_LOG:-}" ] && echo "$line" >>"$UDHCPC_LOG"
    ;;
esac
exit 0
