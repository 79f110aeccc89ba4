// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers of Linux 6.12's static inlines; see linux_6_12.h.
 */
#include "compat.h"
#include <linux/vmstat.h>

void ob_balloon_page_insert(struct balloon_dev_info *b_dev_info, struct page *page) { balloon_page_insert(b_dev_info, page); }
void ob_balloon_page_finalize(struct page *page) { balloon_page_finalize(page); }
void ob_count_vm_event(enum vm_event_item item) { count_vm_event(item); }
void ob_get_page(struct page *page) { get_page(page); }
void ob_put_page(struct page *page) { put_page(page); }
void ob_free_offline_page(struct page *page) { __ClearPageOffline(page); __free_page(page); }
void ob_clear_offline_state(struct page *page) { __ClearPageOffline(page); page->mapping = NULL; }
void ob_offline_block_tail_prepare(struct page *page) { __ClearPageOffline(page); page->mapping = NULL; INIT_LIST_HEAD(&page->lru); }
void ob_free_offline_block(struct page *head, unsigned int order) { __ClearPageOffline(head); __free_pages(head, order); }
unsigned long ob_alloc_pages_bulk(gfp_t gfp, unsigned int nr, struct page **array) { return alloc_pages_bulk_array(gfp, nr, array); }
bool ob_alloc_profiling_on(void) { return IS_ENABLED(CONFIG_MEM_ALLOC_PROFILING); }
