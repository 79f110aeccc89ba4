/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux 6.12: balloon compaction (mm/balloon_compaction.c) with a per-device
 * pages_lock; the driver's migratepage inserts the new page and finalizes
 * the old page itself.
 */
#ifndef OFFLINE_BALLOON_LINUX_6_12_H
#define OFFLINE_BALLOON_LINUX_6_12_H

#include <linux/balloon_compaction.h>
#include <linux/mm.h>

void ob_balloon_page_insert(struct balloon_dev_info *b_dev_info, struct page *page);
void ob_balloon_page_finalize(struct page *page);
void ob_count_vm_event(enum vm_event_item item);
void ob_get_page(struct page *page);
void ob_put_page(struct page *page);
/* A page must not be PageOffline when it goes back to the buddy. */
void ob_free_offline_page(struct page *page);
/*
 * A hardware-poisoned page is freed as it is (the buddy keeps it out before
 * it resets anything): no type, and no PAGE_MAPPING_MOVABLE left by
 * balloon_page_finalize(), which memory offlining would take for a movable
 * page it never manages to get.
 */
void ob_clear_offline_state(struct page *page);
/*
 * Freeing a block of order > 0 checks its tail pages as they are (no page
 * type, mapping NULL; a dequeued balloon page keeps PAGE_MAPPING_MOVABLE) and
 * cleans up only the head. A tail page's lru, which the buddy leaves as it
 * is, is reset too: no link to the balloon list it came from survives.
 */
void ob_offline_block_tail_prepare(struct page *page);
void ob_free_offline_block(struct page *head, unsigned int order);
/* Bulk page allocation into an array (its name differs by kernel). */
unsigned long ob_alloc_pages_bulk(gfp_t gfp, unsigned int nr, struct page **array);

/* Allocation profiling: its key is not exported, so configured means on. */
bool ob_alloc_profiling_on(void);

#endif
