# relay.mk: `make relay` builds build/wtcp-relay, the TUN <-> WebSocket/pipe daemon (included by the top-level Makefile).
#
#   build/wtcp-relay            the daemon (libwebsockets 4.1, Linux)
#   build/relay/unit            unit tests of its packet checks, address pool and subprotocol list
#   build/relay/wtcp-relay-san  the daemon under AddressSanitizer/UBSan (relay/test.sh uses it)
#   make relay-test             relay/test.sh build (also part of `make test`; needs root)

RELAY_SRC  := $(sort $(wildcard relay/*.c))
RELAY_HDRS := $(wildcard relay/*.h)
# Lazy (=): pkg-config runs only when the relay is built, after `make deps`.
RELAY_LWS_CFLAGS = $(shell pkg-config --cflags libwebsockets 2>/dev/null)
RELAY_LWS_LIBS   = $(shell pkg-config --libs libwebsockets 2>/dev/null || echo -lwebsockets)
RELAY_CFLAGS = $(CFLAGS) -D_GNU_SOURCE $(RELAY_LWS_CFLAGS)

.PHONY: relay relay-test
relay: $(BUILD)/wtcp-relay

$(BUILD)/wtcp-relay: $(RELAY_SRC) $(RELAY_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(RELAY_CFLAGS) $(RELAY_SRC) $(RELAY_LWS_LIBS) -o $@

$(BUILD)/relay/wtcp-relay-san: $(RELAY_SRC) $(RELAY_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(RELAY_CFLAGS) -O1 $(SAN) $(RELAY_SRC) $(RELAY_LWS_LIBS) -o $@

RELAY_UNIT_SRC := relay/packet.c relay/pool.c relay/subprotocol.c
$(BUILD)/relay/unit: relay/test/unit.c $(RELAY_UNIT_SRC) relay/packet.h relay/pool.h relay/subprotocol.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -Irelay relay/test/unit.c $(RELAY_UNIT_SRC) -o $@

relay-test: relay wasi $(BUILD)/relay/unit $(BUILD)/relay/wtcp-relay-san
	relay/test.sh $(BUILD)

APT_PKGS += libwebsockets-dev pkg-config iproute2 curl socat nftables tcpdump python3 openssl procps
# ab (ApacheBench): the load test in tests/interop (test 7), as a user would run one.
APT_PKGS += apache2-utils
# valgrind: relay/test_abuse.sh runs the relay under memcheck.
APT_PKGS += valgrind
TEST_PREREQS += $(BUILD)/wtcp-relay $(BUILD)/relay/wtcp-relay-san $(BUILD)/relay/unit
