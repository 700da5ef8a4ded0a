# posix.mk: `make bench-posix` (root): the BSD-sockets layer for WASI (wasi/posix) against
# the wtcp.h API under the same relay and runtime, side by side (bench/posix.sh). Included
# by the top-level Makefile after wasi/wasi.mk, relay/relay.mk and tests/posix/posix.mk.

.PHONY: bench-posix
bench-posix: wasi $(BUILD)/wtcp-relay \
    $(BUILD)/tests/posix/wasm/httpd_poll.wasm $(BUILD)/tests/posix/wasm/echo_select.wasm \
    $(BUILD)/tests/posix/native/httpd_poll $(BUILD)/tests/posix/native/echo_select
	bench/posix.sh $(BUILD)
