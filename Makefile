# SPDX-License-Identifier: GPL-2.0
# offline_balloon: out-of-tree Rust kernel module. Kbuild holds the module's
# build rules; this Makefile drives it and the project's tools.

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# KERNEL=6.12 (the default), KERNEL=7.3 or KERNEL=debian-7.3 selects the
# kernel (scripts/kernel-env.sh); `make check` without KERNEL tests every one.
export KERNEL
# The build directory: KDIR if given; else KERNEL's when given; else the
# running kernel's when it is Rust-ready (its own build tree, or the one
# scripts/debian-rust-kdir.sh made for a Debian kernel); else the default
# test kernel's. Variables of the command line reach $(shell) only when
# passed by hand (GNU make 4.3 does not export them to it).
print = $(shell KERNEL='$(KERNEL)' KERNEL_VARIANT='$(KERNEL_VARIANT)' $(ROOT)/scripts/print-kdir.sh $(1))
ifeq ($(KDIR)$(KERNEL),)
RUNNING := $(shell uname -r)
KDIR := $(firstword $(patsubst %/rust/libkernel.rmeta,%,$(wildcard \
	/lib/modules/$(RUNNING)/build/rust/libkernel.rmeta /usr/src/linux-rust-$(RUNNING)/rust/libkernel.rmeta)))
endif
ifeq ($(KDIR),)
KDIR := $(call print)
# Debian's kernel: the module builds in its chroot, with its own toolchain.
OB_CHROOT := $(call print,chroot)
endif
# gcc or clang (and which clang) as the kernel in KDIR was built with; an
# LLVM= of the command line wins, one of the environment does not.
ifneq ($(origin LLVM),command line)
LLVM := $(shell $(ROOT)/scripts/kdir-llvm.sh $(KDIR))
endif
ifneq ($(filter -%,$(LLVM)),)
export LIBCLANG_PATH ?= /usr/lib/llvm$(LLVM)/lib
endif
# The rustc the kernel in KDIR was built with: rustup's (which builds the
# test kernels) comes first in PATH only when it is that one, so that a
# distribution kernel gets the distribution's rustc and bindgen.
KDIR_RUSTC := $(shell sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"/\1/p' $(KDIR)/.config 2>/dev/null)
ifeq ($(shell $(HOME)/.cargo/bin/rustc --version 2>/dev/null),$(KDIR_RUSTC))
export PATH := $(HOME)/.cargo/bin:$(PATH)
endif
# KERNEL_VARIANT=kasan selects the debug kernel (scripts/kernel-kasan.config).
export KERNEL_VARIANT
KMAKE = $(MAKE) -C $(KDIR) M=$(ROOT) LLVM=$(LLVM)

.PHONY: all modules clean modules_install setup kernel print-kdir print-image print-moddir fmt check check-kasan check-debian-install check-libvirt stress run bench vm

all: modules

ifneq ($(OB_CHROOT),)
modules clean modules_install:
	@$(ROOT)/scripts/debian-chroot.sh run make $(if $(findstring s,$(firstword -$(MAKEFLAGS))),-s) \
		-C $(ROOT) KDIR=$(KDIR:$(OB_CHROOT)%=%) $(if $(OB_WERROR),OB_WERROR=$(OB_WERROR)) $@
else
modules:
	@test -f $(KDIR)/rust/libkernel.rmeta || { echo "no Rust-enabled kernel build in $(KDIR): run 'make kernel' or set KDIR"; exit 1; }
	@test "$$(rustc --version)" = "$(KDIR_RUSTC)" || { echo "the kernel in $(KDIR) was built with '$(KDIR_RUSTC)', rustc here is '$$(rustc --version)'"; exit 1; }
	@# Builds of one kernel source with other configs (the test, KASAN and
	@# performance kernels) share paths that Kbuild compares: start clean
	@# when the build directory changes, or stale objects and bindings stay.
	@test "$$(cat .ob-kdir 2>/dev/null)" = "$(KDIR)" || { $(MAKE) -s clean >/dev/null && echo "$(KDIR)" > .ob-kdir; }
	$(KMAKE) modules
	@$(ROOT)/scripts/check-module.sh $(KDIR) $(ROOT)/offline_balloon.ko

clean:
	$(KMAKE) clean
	rm -f src/bindings_generated.rs .ob-kdir

modules_install:
	$(KMAKE) modules_install
endif

setup:
	@scripts/setup.sh

kernel:
	@scripts/setup.sh
	@scripts/build-kernel.sh

print-kdir:
	@echo $(KDIR)

# The selected kernel's image and lib/modules/<release> tree (for tools
# that boot it outside the project).
print-image print-moddir:
	@echo $(call print,$(@:print-%=%))

# Format the Rust code with the kernel's rustfmt settings.
RUSTFMT_TOML = $(firstword $(wildcard $(KDIR)/source/.rustfmt.toml $(KDIR)/.rustfmt.toml))
fmt:
	$(if $(RUSTFMT_TOML),,$(error no .rustfmt.toml in $(KDIR): build that kernel first ('make kernel')))
	rustfmt --edition 2021 --config-path $(RUSTFMT_TOML) src/main.rs

# Every selftest in a booted guest (after rustfmt and clippy checks);
# T=<name>[,<name>...] runs only those test scripts; REPEAT=N boots each
# kernel's guests N times in a row. Installs what is missing, builds what is stale.
# Every supported kernel in turn, or only KERNEL's; one summary line per
# kernel, then the combined one.
check:
	@REPEAT=$(or $(REPEAT),1) scripts/check.sh $(T)

# The bounded KASAN tier: the review regression tests and the core scenarios
# on the KASAN kernel (scripts/kernel-kasan.config), in under 30 minutes.
KASAN_TESTS := test_movable,test_frozen,test_virtio,test_offline,test_offline_storm,test_oom_batch,test_probe_fail,test_debugfs_open,test_suspend,test_fault_inject
check-kasan:
	@KERNEL_VARIANT=kasan scripts/prepare.sh
	@KERNEL_VARIANT=kasan OB_TIMEOUT=$${OB_TIMEOUT:-2400} scripts/run-guest.sh check $(KASAN_TESTS)

# The stress tier in full: the scenarios make check runs in a bounded form,
# with 60 s storms, ten times the fuzz cases and 20000 host target changes
# (and 30 minutes per script); then all of the kernel's own mm selftests
# next to a balloon in a 3 GiB guest (khugepaged needs 1 GiB of huge pages
# besides the balloon), and their migration test in one of two NUMA nodes
# and 4 CPUs (its threads need 3); and test_probe_fail's DIMM in a guest
# booted with pci=noacpi, as the KASAN tier boots (the guest's own BARs
# in the DIMM area: scripts/guest.py, dimm_addr_past_bars).
# The variables reach the guest's /init as environment (kernel parameters).
STRESS_TESTS := test_pressure,test_virtio_hostile,test_offline,test_fuzz,test_stress
STRESS_APPEND := $(OB_APPEND) OB_STRESS_SECONDS=60 OB_FUZZ_COUNT=600 OB_STORM_COUNT=20000 OB_TEST_TIMEOUT=1800 OB_MM_FULL=1
stress:
	@scripts/prepare.sh
	@rc=0; OB_APPEND="$(STRESS_APPEND)" scripts/run-guest.sh check $(STRESS_TESTS) || rc=1; \
		OB_MEM=3072 OB_LOG_NAME=mm OB_APPEND="$(STRESS_APPEND)" scripts/run-guest.sh check test_mm_selftests || rc=1; \
		OB_MEM=3072 OB_NUMA=2 OB_SMP=4 OB_LOG_NAME=mm-numa OB_APPEND="$(STRESS_APPEND)" scripts/run-guest.sh check test_mm_selftests || rc=1; \
		OB_LOG_NAME=noacpi OB_APPEND="$(STRESS_APPEND) pci=noacpi" scripts/run-guest.sh check test_probe_fail || rc=1; \
		exit $$rc

# README's "Install on Debian 13" followed as written in a fresh Debian 13
# chroot: build, modules_install, DKMS and signing (about 10 minutes).
check-debian-install:
	@scripts/setup.sh
	@scripts/check-debian-install.sh

# libvirt from Debian's packages drives the balloon of a TCG guest: virsh
# setmem inflates and deflates it, virsh dommemstat shows it (KERNEL=).
check-libvirt:
	@scripts/prepare.sh
	@scripts/check-libvirt.sh

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
