# fuzz: seeded random system calls and requests to the kernel server, memmgr and every server.
# Its message table comes from the IDL model (genmsgs.py reads idl.json).
FUZZ_MSGS := $(BUILD)/fuzz/fuzz_msgs.h
$(FUZZ_MSGS): $(IDL_STAMP) servers/fuzz/genmsgs.py
	@mkdir -p $(@D)
	@echo "  GEN     $@"
	$(Q)$(PYTHON) servers/fuzz/genmsgs.py $(BUILD)/gen/idl.json > $@.tmp && mv $@.tmp $@
$(BUILD)/u/servers/fuzz/main.c.o $(BUILD)/u/servers/fuzz/targets.c.o: $(FUZZ_MSGS)
$(BUILD)/u/servers/fuzz/%.c.o: USER_CFLAGS += -I$(BUILD)/fuzz
