# lan.mk: the guest-LAN test's helper (included by the top-level Makefile): a TAP device's
# frames on a pipe, for tests/lan/test.sh and bench/lan-throughput.sh.
APT_PKGS += busybox iputils-ping
TEST_PREREQS += $(BUILD)/tests/wtcp-tapbridge

$(BUILD)/tests/wtcp-tapbridge: tests/lan/tapbridge.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@
