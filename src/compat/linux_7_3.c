// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers of Linux 7.3's static inlines; see linux_7_3.h.
 */
#include "compat.h"

void ob_free_offline_page(struct page *page) { __free_page(page); }
