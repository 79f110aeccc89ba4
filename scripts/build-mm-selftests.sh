#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the kernel's own mm selftests that test_mm_selftests.sh runs next to
# an inflated balloon, statically, from the selected kernel's source with its
# Makefile and its own UAPI headers, plus the memory-hotplug selftest script.
# Cached by source version and this script; prints the directory.
# Usage: build-mm-selftests.sh
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"

# Those of these the kernel has (7.3 merged map_hugetlb and hugepage-mmap
# into hugetlb-mmap).
MM_TESTS=(compaction_test map_hugetlb hugepage-mmap hugetlb-mmap hugetlb-madvise transhuge-stress khugepaged migration)
out=$CACHE/mm-selftests-$(basename "$KERNEL_SRC")-$(sha256sum "$0" | cut -c1-12)
if [ ! -f "$out/mem-on-off-test.sh" ]; then
	kernel_unpack_source
	tmp=$(mktemp -d "$out.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	make -s -C "$KERNEL_SRC" O="$tmp/obj" ARCH=x86 headers_install INSTALL_HDR_PATH="$tmp/usr" >/dev/null ||
		die "headers_install of $KERNEL_SRC failed"
	mkdir "$tmp/bin"
	mm=$KERNEL_SRC/tools/testing/selftests/mm
	targets=()
	for t in "${MM_TESTS[@]}"; do
		[ -f "$mm/$t.c" ] && targets+=("$tmp/bin/$t")
	done
	# 6.12.118's khugepaged.c uses KSFT_SKIP without including kselftest.h.
	make -s -C "$mm" OUTPUT="$tmp/bin" LDFLAGS=-static \
		KHDR_INCLUDES="-isystem $tmp/usr/include" \
		EXTRA_CFLAGS="-include $KERNEL_SRC/tools/testing/selftests/kselftest.h" \
		"${targets[@]}" >"$tmp/build.log" 2>&1 || {
		cat "$tmp/build.log" >&2
		die "building the mm selftests of $KERNEL_SRC failed"
	}
	cp "$KERNEL_SRC/tools/testing/selftests/memory-hotplug/mem-on-off-test.sh" "$tmp/bin/"
	rm -rf "$out"
	mv "$tmp/bin" "$out"
fi
echo "$out"
