# Fumi: one entry point for build, run, test, bench and trace.
# `make` builds build/kernel.elf (the kernel with every server in its initfs).
# See docs/build.md for the layout of the build and how to add a server.

# make UBSAN=1 builds everything with -fsanitize=undefined into build/ubsan.
UBSAN    ?= 0
ifeq ($(UBSAN),1)
BUILD    ?= build/ubsan
endif
BUILD    ?= build
CROSS    ?=
CC       := $(CROSS)gcc
LD       := $(CROSS)ld
AR       := $(CROSS)ar
NM       := $(CROSS)nm
OBJCOPY  := $(CROSS)objcopy
HOSTCC   ?= gcc
PYTHON   ?= python3
QEMU     ?= qemu-system-x86_64
MEM      ?= 256
KVM      ?= 0
V        ?= 0

ifeq ($(V),0)
Q := @
else
Q :=
endif

# ---- flags ------------------------------------------------------------------
WARNINGS := -Wall -Wextra -Werror -Wno-unused-parameter -Wstrict-prototypes -Wshadow
BASE_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -ffreestanding -fno-builtin -nostdlib \
    -fno-pic -fno-pie -fstack-protector-strong -mstack-protector-guard=global \
    -fno-omit-frame-pointer -fno-strict-aliasing \
    -mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables \
    -Ilibs -I$(BUILD)/gen -MMD -MP
ifeq ($(UBSAN),1)
BASE_CFLAGS += -fsanitize=undefined -DFUMI_UBSAN
endif
KERNEL_CFLAGS := $(BASE_CFLAGS) -mcmodel=kernel -Ikernel -Wstack-usage=2048 -DKERNEL
USER_CFLAGS   := $(BASE_CFLAGS) -mcmodel=small
# The sanitizer runtime itself is never sanitized.
nosan = $(if $(filter libs/common/ubsan.c,$<),-fno-sanitize=all)
ASFLAGS  := -Ilibs -I$(BUILD)/gen -MMD -MP

# ---- the IDL ----------------------------------------------------------------
IDL_FILES := $(sort $(wildcard interfaces/*.idl))
IDL_STAMP := $(BUILD)/gen/.stamp
IDL_OUT   := $(BUILD)/gen/idl.h $(BUILD)/gen/idl_server.c $(BUILD)/gen/idl_client.c \
             $(BUILD)/gen/idl_names.c

$(IDL_STAMP): $(IDL_FILES) tools/genidl.py libs/common/error.h
	@echo "  GENIDL  $(BUILD)/gen"
	$(Q)$(PYTHON) tools/genidl.py --out $(BUILD)/gen --docs docs/messages.md \
	    --lua tools/wireshark/fumi_messages.lua $(IDL_FILES)
	@touch $@
$(IDL_OUT): $(IDL_STAMP)

# ---- kernel -----------------------------------------------------------------
KERNEL_SRCS := $(sort $(wildcard kernel/*.c kernel/arch/x64/*.c)) \
               $(filter-out kernel/initfs.S,$(sort $(wildcard kernel/*.S kernel/arch/x64/*.S)))
COMMON_SRCS := $(sort $(wildcard libs/common/*.c))
KERNEL_OBJS := $(patsubst %,$(BUILD)/k/%.o,$(KERNEL_SRCS) $(COMMON_SRCS)) \
               $(BUILD)/k/gen/idl_server.c.o $(BUILD)/k/gen/idl_names.c.o

$(BUILD)/k/gen/%.c.o: $(BUILD)/gen/%.c $(IDL_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/k/%.c.o: %.c $(IDL_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(KERNEL_CFLAGS) $(nosan) -c $< -o $@
$(BUILD)/k/%.S.o: %.S
	@mkdir -p $(@D)
	@echo "  AS      $@"
	$(Q)$(CC) $(ASFLAGS) -c $< -o $@

$(BUILD)/k/initfs.o: kernel/initfs.S $(BUILD)/initfs.bin
	@mkdir -p $(@D)
	$(Q)$(CC) -DINITFS_PATH='"$(BUILD)/initfs.bin"' -c $< -o $@

KERNEL_LDFLAGS := -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments \
                  -T kernel/arch/x64/kernel.ld

# Two links: the second adds the symbol table for backtraces (tools/mksyms.py).
$(BUILD)/kernel.elf: $(KERNEL_OBJS) $(BUILD)/k/initfs.o kernel/arch/x64/kernel.ld tools/mksyms.py
	@echo "  LD      $@"
	$(Q)$(PYTHON) tools/mksyms.py < /dev/null > $(BUILD)/k/ksyms0.c
	$(Q)$(CC) $(KERNEL_CFLAGS) -c $(BUILD)/k/ksyms0.c -o $(BUILD)/k/ksyms0.o
	$(Q)$(LD) $(KERNEL_LDFLAGS) -o $@.nosyms $(KERNEL_OBJS) $(BUILD)/k/initfs.o $(BUILD)/k/ksyms0.o
	$(Q)$(NM) -n $@.nosyms | $(PYTHON) tools/mksyms.py > $(BUILD)/k/ksyms.c
	$(Q)$(CC) $(KERNEL_CFLAGS) -c $(BUILD)/k/ksyms.c -o $(BUILD)/k/ksyms.o
	$(Q)$(LD) $(KERNEL_LDFLAGS) -o $@ $(KERNEL_OBJS) $(BUILD)/k/initfs.o $(BUILD)/k/ksyms.o

# ---- user runtime -----------------------------------------------------------
ULIB_SRCS := $(sort $(wildcard libs/user/*.c libs/user/*.S)) $(COMMON_SRCS)
ULIB_OBJS := $(patsubst %,$(BUILD)/u/%.o,$(ULIB_SRCS)) \
             $(patsubst %,$(BUILD)/u/gen/%.c.o,idl_server idl_client idl_names)
ULIB      := $(BUILD)/libuser.a

$(BUILD)/u/gen/%.c.o: $(BUILD)/gen/%.c $(IDL_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@
$(BUILD)/u/%.c.o: %.c $(IDL_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(USER_CFLAGS) $(nosan) -c $< -o $@
$(BUILD)/u/%.S.o: %.S
	@mkdir -p $(@D)
	@echo "  AS      $@"
	$(Q)$(CC) $(ASFLAGS) -c $< -o $@
$(ULIB): $(ULIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# ---- servers: every servers/NAME/ with a build.mk ---------------------------
# build.mk may set NAME-srcs (default: all .c files of the directory).
SERVERS := $(sort $(patsubst servers/%/build.mk,%,$(wildcard servers/*/build.mk)))
$(foreach s,$(SERVERS),$(eval include servers/$(s)/build.mk))

define server_rules
$(1)-srcs ?= $$(sort $$(wildcard servers/$(1)/*.c))
$(1)-objs := $$(patsubst %,$(BUILD)/u/%.o,$$($(1)-srcs))
$(BUILD)/servers/$(1).elf: $$($(1)-objs) $(ULIB) libs/user/user.ld
	@mkdir -p $$(@D)
	@echo "  LD      $$@"
	$(Q)$(LD) -nostdlib -z max-page-size=0x1000 -z noexecstack -T libs/user/user.ld \
	    -o $$@ $$($(1)-objs) $(ULIB)
endef
$(foreach s,$(SERVERS),$(eval $(call server_rules,$(s))))

SERVER_ELFS := $(patsubst %,$(BUILD)/servers/%.elf,$(SERVERS))
MANIFEST    := servers/boot.manifest

$(BUILD)/initfs.bin: $(SERVER_ELFS) $(MANIFEST) tools/mkinitfs.py
	@echo "  INITFS  $@"
	$(Q)$(PYTHON) tools/mkinitfs.py -o $@ manifest=$(MANIFEST) \
	    $(foreach s,$(SERVERS),$(s)=$(BUILD)/servers/$(s).elf)

# ---- entry points -----------------------------------------------------------
.DEFAULT_GOAL := all
.PHONY: all setup run test bench debug gdb clean lint trace trace-live bochs

all: $(BUILD)/kernel.elf

setup:
	$(Q)tools/setup.sh build

# The disk make run attaches: an MBR + FAT32 image of the disk/ folder
# (tools/mkdisk.py, mtools). It is rebuilt only when disk/ changes, so what
# you write in Fumi stays.
DISK_FILES := $(shell find disk -type f 2>/dev/null)
$(BUILD)/disk.img: $(DISK_FILES) tools/mkdisk.py
	@mkdir -p $(@D)
	@echo "  MKDISK  $@"
	$(Q)$(PYTHON) tools/mkdisk.py $@ --size 64 --dir disk

# The serial console shares the terminal with QEMU's monitor: Ctrl-A X quits.
QEMU_RUN_FLAGS := -m $(MEM) -serial mon:stdio -display none -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -drive file=$(BUILD)/disk.img,format=raw,if=ide,index=0 \
    -netdev user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80 -device e1000,netdev=n0
ifeq ($(KVM),1)
QEMU_RUN_FLAGS += -enable-kvm -cpu host
endif

run: setup-run all $(BUILD)/disk.img
	@echo "Fumi in QEMU: the shell is on this terminal; Ctrl-A X quits."
	$(QEMU) -kernel $(BUILD)/kernel.elf -append "$(CMDLINE)" $(QEMU_RUN_FLAGS)

# The deployable boot disk (docs/deploy.md): GRUB + FAT32 with /boot and
# /www, and its conversions for clouds. SITE: the folder served as /www.
IMAGE ?= $(BUILD)/fumi.img
IMAGE_SIZE ?= 128
SITE ?= disk/www
CMDLINE_IMAGE ?=
IMAGE_BASE := $(basename $(IMAGE))

.PHONY: image image-qcow2 image-vmdk image-vhd image-gce setup-image
image: setup-image all
	@echo "  MKIMAGE $(IMAGE) (site $(SITE))"
	$(Q)$(PYTHON) tools/mkimage.py $(IMAGE) --kernel $(BUILD)/kernel.elf --files disk \
	    --site $(SITE) --size $(IMAGE_SIZE) --cmdline "$(CMDLINE_IMAGE)"

image-qcow2: image
	$(Q)qemu-img convert -O qcow2 $(IMAGE) $(IMAGE_BASE).qcow2 && echo "  IMAGE   $(IMAGE_BASE).qcow2"
image-vmdk: image
	$(Q)qemu-img convert -O vmdk -o subformat=streamOptimized $(IMAGE) $(IMAGE_BASE).vmdk \
	    && echo "  IMAGE   $(IMAGE_BASE).vmdk"
image-vhd: image
	$(Q)qemu-img convert -O vpc -o subformat=fixed,force_size $(IMAGE) $(IMAGE_BASE).vhd \
	    && echo "  IMAGE   $(IMAGE_BASE).vhd"
# GCE-style: a sparse disk.raw of a whole number of GiB in a gzipped tar.
image-gce: image
	$(Q)rm -rf $(BUILD)/gce && mkdir -p $(BUILD)/gce && cp --sparse=always $(IMAGE) $(BUILD)/gce/disk.raw \
	    && truncate -s 1G $(BUILD)/gce/disk.raw \
	    && tar --format=oldgnu -Sczf $(IMAGE_BASE)-gce.tar.gz -C $(BUILD)/gce disk.raw \
	    && rm -rf $(BUILD)/gce && echo "  IMAGE   $(IMAGE_BASE)-gce.tar.gz"

.PHONY: setup-run setup-test setup-bench
setup-run:
	$(Q)tools/setup.sh run
setup-test:
	$(Q)tools/setup.sh test
setup-bench:
	$(Q)tools/setup.sh bench
setup-image:
	$(Q)tools/setup.sh image

include tests/host/host.mk

# The system tests run twice: on the normal build and on a UBSan build.
test: setup-test all host-tests
	$(Q)$(MAKE) --no-print-directory UBSAN=1 BUILD=$(BUILD)/ubsan all
	$(Q)$(PYTHON) tests/run.py --build $(BUILD) --ubsan-build $(BUILD)/ubsan

bench: setup-bench all
	$(Q)$(PYTHON) tests/bench.py --build $(BUILD) $(if $(filter 1,$(KVM)),--kvm)

# GDB (docs/debugging.md): `make debug` starts QEMU stopped, waiting on
# :1234; `make gdb SERVER=shell` attaches with the kernel's and a server's
# symbols (servers are all linked at the same address: one at a time).
SERVER ?= memmgr
debug: setup-run all $(BUILD)/disk.img
	@echo "QEMU waits for GDB on :1234: in another terminal run make gdb SERVER=$(SERVER)"
	$(QEMU) -kernel $(BUILD)/kernel.elf -append "$(CMDLINE)" $(QEMU_RUN_FLAGS) -s -S

gdb:
	gdb -q -x tools/gdbinit -ex "fumi-load $(BUILD) $(SERVER)" -ex "target remote :1234"

# Bochs (docs/debugging.md): its debugger on this terminal, serial beside it.
bochs: setup-test all
	$(Q)$(PYTHON) tools/bochs.py $(BUILD) --interactive --cmdline "e9 $(CMDLINE)"

# IPC traces (docs/tracing.md). TRACE_FILTER=NAME keeps one process's messages.
trace: setup-test all $(BUILD)/disk.img
	$(Q)$(PYTHON) tools/trace.py record $(BUILD) --filter "$(TRACE_FILTER)"

trace-live: setup-test all $(BUILD)/disk.img
	$(Q)$(PYTHON) tools/trace.py live $(BUILD) --filter "$(TRACE_FILTER)"

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
