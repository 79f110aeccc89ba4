// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers of Linux 7.3's static inlines; see linux_7_3.h.
 */
#include "compat.h"

void ob_free_offline_page(struct page *page) { __free_page(page); }
void ob_clear_offline_state(struct page *page) { __ClearPageOffline(page); }
void ob_offline_block_tail_prepare(struct page *page) { __ClearPageOffline(page); INIT_LIST_HEAD(&page->lru); }
void ob_free_offline_block(struct page *head, unsigned int order) { __free_pages(head, order); }
unsigned long ob_alloc_pages_bulk(gfp_t gfp, unsigned int nr, struct page **array) { return alloc_pages_bulk(gfp, nr, array); }
bool ob_alloc_profiling_on(void) { return mem_alloc_profiling_enabled(); }
