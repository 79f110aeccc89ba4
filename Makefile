# SPDX-License-Identifier: GPL-2.0
# offline_balloon: out-of-tree Rust kernel module. Kbuild holds the module's
# build rules; this Makefile drives it and the project's tools.

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export PATH := $(HOME)/.cargo/bin:$(PATH)

# KERNEL=6.12 (the default) or KERNEL=7.3 selects the test kernel
# (scripts/kernel-env.sh); `make check` without KERNEL tests every one.
export KERNEL
# Build against the running kernel when its build tree has Rust support,
# otherwise against the selected test kernel (scripts/build-kernel.sh).
HOST_KDIR := /lib/modules/$(shell uname -r)/build
ifneq ($(wildcard $(HOST_KDIR)/rust/libkernel.rmeta),)
KDIR ?= $(HOST_KDIR)
LLVM ?= 1
else
KDIR ?= $(shell $(ROOT)/scripts/print-kdir.sh)
LLVM ?= $(shell $(ROOT)/scripts/print-kdir.sh llvm)
export LIBCLANG_PATH ?= /usr/lib/llvm$(LLVM)/lib
endif
# KERNEL_VARIANT=kasan selects the debug kernel (scripts/kernel-kasan.config).
export KERNEL_VARIANT
KMAKE = $(MAKE) -C $(KDIR) M=$(ROOT) LLVM=$(LLVM)

.PHONY: all modules clean modules_install setup kernel print-kdir fmt check check-kasan stress run bench vm

all: modules

modules:
	@test -f $(KDIR)/rust/libkernel.rmeta || { echo "no Rust-enabled kernel build in $(KDIR): run 'make kernel' or set KDIR"; exit 1; }
	@# Builds of one kernel source with other configs (the test, KASAN and
	@# performance kernels) share paths that Kbuild compares: start clean
	@# when the build directory changes, or stale objects and bindings stay.
	@test "$$(cat .ob-kdir 2>/dev/null)" = "$(KDIR)" || { $(MAKE) -s clean >/dev/null && echo "$(KDIR)" > .ob-kdir; }
	$(KMAKE) modules

clean:
	$(KMAKE) clean
	rm -f src/bindings_generated.rs .ob-kdir

modules_install:
	$(KMAKE) modules_install

setup:
	@scripts/setup.sh

kernel:
	@scripts/setup.sh
	@scripts/build-kernel.sh

print-kdir:
	@echo $(KDIR)

# Format the Rust code with the kernel's rustfmt settings.
fmt:
	rustfmt --edition 2021 --config-path $(KDIR)/source/.rustfmt.toml src/main.rs

# Every selftest in a booted guest (after rustfmt and clippy checks);
# T=<name>[,<name>...] runs only those test scripts. Installs what is missing, builds what is stale.
# Every supported kernel in turn, or only KERNEL's; one summary line per
# kernel, then the combined one.
check:
	@scripts/check.sh $(T)

# The bounded KASAN tier: the review regression tests and the core scenarios
# on the KASAN kernel (scripts/kernel-kasan.config), in under 30 minutes.
KASAN_TESTS := test_movable,test_frozen,test_virtio,test_offline,test_offline_storm,test_oom_batch,test_probe_fail,test_debugfs_open,test_suspend,test_fault_inject
check-kasan:
	@KERNEL_VARIANT=kasan scripts/prepare.sh
	@KERNEL_VARIANT=kasan OB_TIMEOUT=$${OB_TIMEOUT:-2400} scripts/run-guest.sh check $(KASAN_TESTS)

# The stress tier in full: the scenarios make check runs in a bounded form,
# with 60 s storms, ten times the fuzz cases and 20000 host target changes
# (and 30 minutes per script).
# The variables reach the guest's /init as environment (kernel parameters).
STRESS_TESTS := test_pressure,test_virtio_hostile,test_offline,test_fuzz,test_stress
stress:
	@scripts/prepare.sh
	@OB_APPEND="$(OB_APPEND) OB_STRESS_SECONDS=60 OB_FUZZ_COUNT=600 OB_STORM_COUNT=20000 OB_TEST_TIMEOUT=1800" \
		scripts/run-guest.sh check $(STRESS_TESTS)

# The demo: a guest loads the module and shows it at work.
run:
	@scripts/prepare.sh
	@scripts/run-guest.sh run

# Benchmarks (not tests): ours vs the in-tree C driver in one guest per
# kernel (every supported one, or KERNEL=), on the performance kernel
# (KERNEL_VARIANT=perf unless set); a table and a JSON file each.
bench:
	@scripts/bench.sh

# An interactive guest shell (QMP socket path printed).
vm:
	@scripts/prepare.sh
	@scripts/run-guest.sh shell
