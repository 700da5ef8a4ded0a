#!/usr/bin/env bash
# test.sh: the soak, short, as make test runs it (tests/soak/soak.sh for 20 s; make soak
# runs it as long as SOAK_SECONDS says). Usage: tests/soak/test.sh BUILD_DIR
exec "$(dirname "$0")/soak.sh" "${1:-build}" "${SOAK_TEST_SECONDS:-20}"
