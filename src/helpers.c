// SPDX-License-Identifier: GPL-2.0
/*
 * One-line C wrappers for static inline functions and macros; see helpers.h.
 */
#include "helpers.h"
#include <linux/moduleparam.h>
#include <linux/vmstat.h>

static bool simulate;
module_param(simulate, bool, 0444);
MODULE_PARM_DESC(simulate, "No device: the target comes from debugfs target_pages (default: virtio backend)");
bool ob_param_simulate(void) { return simulate; }

static bool movable = true;
module_param(movable, bool, 0444);
MODULE_PARM_DESC(movable, "Inflated pages are movable by compaction (refcount 1) or frozen (refcount 0) (default: 1)");
bool ob_param_movable(void) { return movable; }

struct page *ob_alloc_pages(gfp_t gfp, unsigned int order) { return alloc_pages(gfp, order); }
void ob_free_page(struct page *page) { __free_page(page); }
void ob_set_page_offline(struct page *page) { __SetPageOffline(page); }
void ob_clear_page_offline(struct page *page) { __ClearPageOffline(page); }
bool ob_page_offline(struct page *page) { return PageOffline(page); }
int ob_page_count(struct page *page) { return page_count(page); }
void ob_get_page(struct page *page) { get_page(page); }
void ob_put_page(struct page *page) { put_page(page); }
bool ob_page_ref_freeze(struct page *page, int count) { return page_ref_freeze(page, count); }
void ob_page_ref_unfreeze(struct page *page, int count) { page_ref_unfreeze(page, count); }
unsigned long ob_page_to_pfn(struct page *page) { return page_to_pfn(page); }
bool ob_page_same_zone(struct page *a, struct page *b) { return page_zone(a) == page_zone(b); }
unsigned long ob_totalram_pages(void) { return totalram_pages(); }

void ob_set_page_skippable(struct page *page) { set_bit(PG_owner_2, &page->flags); }
void ob_clear_page_skippable(struct page *page) { clear_bit(PG_owner_2, &page->flags); }
bool ob_page_skippable(struct page *page) { return test_bit(PG_owner_2, &page->flags); }

void ob_init_list_head(struct list_head *list) { INIT_LIST_HEAD(list); }
bool ob_list_empty(struct list_head *list) { return list_empty(list); }
void ob_page_list_push(struct list_head *list, struct page *page) { balloon_page_push(list, page); }
struct page *ob_page_list_pop(struct list_head *list) { return balloon_page_pop(list); }

void ob_balloon_devinfo_init(struct balloon_dev_info *b_dev_info) { balloon_devinfo_init(b_dev_info); }
void ob_balloon_page_insert(struct balloon_dev_info *b_dev_info, struct page *page) { balloon_page_insert(b_dev_info, page); }
void ob_balloon_page_finalize(struct page *page) { balloon_page_finalize(page); }
unsigned long ob_spin_lock_irqsave(spinlock_t *lock) { unsigned long flags; spin_lock_irqsave(lock, flags); return flags; }
void ob_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags) { spin_unlock_irqrestore(lock, flags); }
void ob_count_vm_event(enum vm_event_item item) { count_vm_event(item); }

void ob_cond_resched(void) { cond_resched(); }
