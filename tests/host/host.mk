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
