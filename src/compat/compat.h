/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel-version layer's C side: Kbuild defines OB_COMPAT_HEADER as the
 * header of the supported kernel being built against (linux_<version>.h),
 * which includes that kernel's balloon core header and declares its one-line
 * wrappers. src/compat/linux_<version>.rs is the Rust side.
 */
#ifndef OFFLINE_BALLOON_COMPAT_H
#define OFFLINE_BALLOON_COMPAT_H

#include OB_COMPAT_HEADER

#endif
