/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux 7.3: the balloon core (mm/balloon.c, since 7.0) with one global
 * balloon_pages_lock; it inserts the new page and counts BALLOON_MIGRATE
 * after the driver's migratepage, which only talks to the hypervisor (the
 * driver moves the managed page count itself). PageOffline stays set until
 * the page is freed.
 */
#ifndef OFFLINE_BALLOON_LINUX_7_3_H
#define OFFLINE_BALLOON_LINUX_7_3_H

#include <linux/balloon.h>
#include <linux/mm.h>

/* The page type goes with the page when it is freed (free_pages_prepare). */
void ob_free_offline_page(struct page *page);
/*
 * A hardware-poisoned page is freed as it is (the buddy keeps it out before
 * it resets the type): it loses its type first, which also ends its
 * movable_ops (page_has_movable_ops() wants PageOffline), so that memory
 * offlining skips it as a poisoned page. The caller holds the refcount
 * frozen: no migration can be looking at the type meanwhile.
 */
void ob_clear_offline_state(struct page *page);
/*
 * Freeing a block of order > 0 resets the head's page type only: a tail page
 * loses its type first (it has no reference left by then, so no migration
 * can find it; the head keeps its type, which must stay while a movable_ops
 * page can be referenced). Its lru, which the buddy leaves as it is in a
 * tail page, is reset: no link to the balloon list it came from survives.
 */
void ob_offline_block_tail_prepare(struct page *page);
void ob_free_offline_block(struct page *head, unsigned int order);
/* Bulk page allocation into an array (its name differs by kernel). */
unsigned long ob_alloc_pages_bulk(gfp_t gfp, unsigned int nr, struct page **array);

/* Allocation profiling (mem_alloc_profiling_key is exported). */
bool ob_alloc_profiling_on(void);

#endif
