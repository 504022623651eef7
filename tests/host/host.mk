# Host unit tests: every tests/host/test_X.c becomes $(BUILD)/host/test_X,
# built with ASan/UBSan together with the library sources it tests.
# Included by the top Makefile, which defines BUILD and HOSTCC.  The test
# runner executes each binary in HOST_TESTS and counts its PASS/FAIL lines.
#
# A new test needs only its test_X.c, plus a HOST_SOURCES_test_X line below
# if it tests code outside its own file.

HOSTCC ?= gcc
HOST_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror \
               -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
               -DFUMI_HOST_TEST -Ilibs -Itests/host

HOST_SOURCES_test_string := libs/common/string.c
HOST_SOURCES_test_printf := libs/common/printf.c libs/common/string.c libs/common/error.c
HOST_SOURCES_test_list :=
HOST_SOURCES_test_error := libs/common/error.c libs/common/string.c
HOST_SOURCES_test_malloc := libs/user/malloc.c libs/common/string.c
# FAT32 core (servers/fat without its IPC glue in main.c): see docs/fat.md.
FAT_CORE_SOURCES := $(filter-out servers/fat/main.c,$(wildcard servers/fat/*.c))
FAT_TEST_SOURCES := $(FAT_CORE_SOURCES) libs/common/string.c libs/common/error.c
HOST_SOURCES_test_fat := $(FAT_TEST_SOURCES)
HOST_SOURCES_test_fat_corrupt := $(FAT_TEST_SOURCES)
# TCP/IP core (servers/tcpip without its IPC glue in main.c): see docs/tcpip.md.
TCPIP_CORE_SOURCES := $(filter-out servers/tcpip/main.c,$(wildcard servers/tcpip/*.c))
TCPIP_TEST_SOURCES := $(TCPIP_CORE_SOURCES) libs/common/string.c libs/common/printf.c \
                      libs/common/error.c
TCPIP_TESTS := $(sort $(basename $(notdir $(wildcard tests/host/test_tcpip_*.c))))
$(foreach t,$(TCPIP_TESTS),$(eval HOST_SOURCES_$(t) := $(TCPIP_TEST_SOURCES)))
# The HTTP core (servers/httpd without main.c): see docs/httpd.md.
HOST_SOURCES_test_http := $(filter-out servers/httpd/main.c,$(wildcard servers/httpd/*.c)) \
                          libs/common/string.c

HOST_TEST_NAMES := $(sort $(basename $(notdir $(wildcard tests/host/test_*.c))))
HOST_TESTS := $(addprefix $(BUILD)/host/,$(HOST_TEST_NAMES))
HOST_HEADERS := $(wildcard tests/host/*.h libs/common/*.h libs/user/*.h)

define HOST_TEST_RULE
$(BUILD)/host/$(1): tests/host/$(1).c $(HOST_SOURCES_$(1)) $(HOST_HEADERS)
	@mkdir -p $$(@D)
	@echo "  HOSTCC  $$@"
	$$(Q)$$(HOSTCC) $$(HOST_CFLAGS) -o $$@ tests/host/$(1).c $(HOST_SOURCES_$(1))
endef
$(foreach t,$(HOST_TEST_NAMES),$(eval $(call HOST_TEST_RULE,$(t))))

.PHONY: host-tests
host-tests: $(HOST_TESTS)

# The FAT tests also depend on the core's headers.
$(BUILD)/host/test_fat $(BUILD)/host/test_fat_corrupt: $(wildcard servers/fat/*.h)
# So do the TCP/IP tests.
$(addprefix $(BUILD)/host/,$(TCPIP_TESTS)): $(wildcard servers/tcpip/*.h)
$(BUILD)/host/test_http: $(wildcard servers/httpd/*.h)

# FAT fuzzing (docs/fat.md): fat_fuzz is a libFuzzer target built with
# clang; fat_mkseed makes its seed images.  Neither is a test_* binary:
# tests/host/test_fatfuzz.py builds and runs them, and skips with a note
# when clang or its fuzzer runtime is missing.
FUZZ_CC ?= clang
FAT_TOOL_DEPS := $(FAT_TEST_SOURCES) $(wildcard servers/fat/*.h) tests/host/fat_exercise.h

$(BUILD)/host/fat_fuzz: tests/host/fat_fuzz.c $(FAT_TOOL_DEPS)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) -std=gnu11 -g -O1 -Wall -Wextra -Werror \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -DFUMI_HOST_TEST -Ilibs -Itests/host -o $@ tests/host/fat_fuzz.c $(FAT_TEST_SOURCES)

$(BUILD)/host/fat_mkseed: tests/host/fat_mkseed.c $(FAT_TOOL_DEPS)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_CFLAGS) -o $@ tests/host/fat_mkseed.c $(FAT_TEST_SOURCES)
