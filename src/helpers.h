/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-line C wrappers for the static inline functions and macros the Rust
 * crate needs, and the module parameters (module_param is a C macro).
 * Everything here is declared for bindgen, which turns it into Rust.
 */
#ifndef OFFLINE_BALLOON_HELPERS_H
#define OFFLINE_BALLOON_HELPERS_H

#include "compat/compat.h"
#include <linux/debugfs.h>
#include <linux/gfp.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/notifier.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/suspend.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

/* Module parameters. */
bool ob_param_simulate(void);
bool ob_param_movable(void);
unsigned int ob_param_batch(void);
unsigned int ob_param_order(void);
bool ob_param_evacuate(void);
bool ob_param_keep_hotplugged(void);
bool ob_param_report_blocks(void);

/* Page allocation, type and refcount. */
struct page *ob_alloc_pages(gfp_t gfp, unsigned int order);
void ob_free_page(struct page *page);
void ob_set_page_offline(struct page *page);
bool ob_page_offline(struct page *page);
int ob_page_count(struct page *page);
bool ob_page_ref_freeze(struct page *page, int count);
void ob_page_ref_unfreeze(struct page *page, int count);
unsigned long ob_page_to_pfn(struct page *page);
struct page *ob_pfn_to_page(unsigned long pfn);
bool ob_page_same_zone(struct page *a, struct page *b);
bool ob_page_hwpoison(struct page *page);
/* page_owner_inited is not exported: its debugfs file exists exactly when it is on. */
bool ob_page_owner_on(void);
unsigned long ob_totalram_pages(void);

/*
 * The proposal's "skippable" PageOffline state, kept in the page owner's flag
 * PG_owner_2 as upstream later did for PG_offline_skippable.
 */
void ob_set_page_skippable(struct page *page);
void ob_clear_page_skippable(struct page *page);
bool ob_page_skippable(struct page *page);
/*
 * The proposal's "never onlined" state (a page of a hot-added memory block
 * kept out of the buddy when the block was onlined), in PG_owner_priv_1.
 */
void ob_set_page_never_onlined(struct page *page);
void ob_clear_page_never_onlined(struct page *page);
bool ob_page_never_onlined(struct page *page);

/* Lists of pages linked through page->lru. */
void ob_init_list_head(struct list_head *list);
bool ob_list_empty(struct list_head *list);
void ob_page_list_push(struct list_head *list, struct page *page);
struct page *ob_page_list_pop(struct list_head *list);
struct page *ob_page_list_first(struct list_head *list);
struct page *ob_page_list_next(struct list_head *list, struct page *page);

/*
 * What a frozen offline page's struct page holds besides its type, flags and
 * refcount: the balloon's self-check reads it and never writes it.
 */
struct list_head *ob_page_lru_next(struct page *page);
struct list_head *ob_page_lru_prev(struct page *page);
struct page *ob_lru_page(struct list_head *lru);
bool ob_pfn_valid(unsigned long pfn);
unsigned long ob_page_private(struct page *page);
bool ob_page_has_mapping(struct page *page);

/* XArrays (xa_init and xa_err are inline). */
void ob_xa_init(struct xarray *xa);
int ob_xa_err(void *entry);

/* The balloon core (more in compat/). */
void ob_balloon_devinfo_init(struct balloon_dev_info *b_dev_info);

/* Memory hotplug notifiers (static inline stubs without CONFIG_MEMORY_HOTPLUG). */
int ob_register_memory_notifier(struct notifier_block *nb);
void ob_unregister_memory_notifier(struct notifier_block *nb);

/* PM notifiers (static inline stubs without CONFIG_PM_SLEEP). */
int ob_register_pm_notifier(struct notifier_block *nb);
int ob_unregister_pm_notifier(struct notifier_block *nb);

/* Scheduling and waiting. */
void ob_cond_resched(void);
void ob_init_waitqueue_head(struct wait_queue_head *wq);
void ob_wake_up(struct wait_queue_head *wq);
void ob_wait_for_used_buf(struct wait_queue_head *wq, struct virtqueue *vq);

/* Spinlocks taken in interrupt context too. */
void ob_spin_lock_init(spinlock_t *lock);
unsigned long ob_spin_lock_irqsave(spinlock_t *lock);
void ob_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);

/* The free page hint work item's workqueue (alloc_workqueue is a macro). */
struct workqueue_struct *ob_alloc_hint_workqueue(void);

/* Scatterlists (sg_next is inline in 7.x) and page addresses. */
struct scatterlist *ob_sg_next(struct scatterlist *sg);
struct page *ob_sg_page(struct scatterlist *sg);
void ob_sg_set_page(struct scatterlist *sg, struct page *page, unsigned int len);
void *ob_page_address(struct page *page);

/* What free pages hold: zeroes (init_on_free) or the poison pattern. */
bool ob_want_init_on_free(void);
bool ob_page_poisoning_enabled(void);

/* debugfs (a _Generic macro in 7.x). */
struct dentry *ob_debugfs_create_file(const char *name, umode_t mode, struct dentry *parent, void *data,
				      const struct file_operations *fops);

/* Memory statistics. */
unsigned long ob_node_page_state(enum node_stat_item item);
bool ob_node_online(int nid);
struct zone *ob_node_zone(int nid, enum zone_type zid);
unsigned long ob_zone_free_pages(struct zone *zone);
/* Free pages no allocation without ALLOC_RESERVES or ALLOC_CMA takes (__zone_watermark_unusable_free). */
unsigned long ob_zone_unusable_free_pages(struct zone *zone);
unsigned long ob_zone_high_wmark_pages(struct zone *zone);
long ob_zone_lowmem_reserve(struct zone *zone, enum zone_type highest);

/* Virtio. */
int ob_register_virtio_driver(struct virtio_driver *drv);
bool ob_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit);
void ob_virtio_clear_feature(struct virtio_device *vdev, unsigned int fbit);
bool ob_virtio_is_little_endian(struct virtio_device *vdev);
int ob_virtio_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
		       struct virtqueue_info vqs_info[]);
void ob_virtio_device_ready(struct virtio_device *vdev);
void ob_virtio_del_vqs(struct virtio_device *vdev);
u32 ob_virtio_balloon_num_pages(struct virtio_device *vdev);
void ob_virtio_balloon_set_actual(struct virtio_device *vdev, u32 actual);
u32 ob_virtio_balloon_cmd_id(struct virtio_device *vdev);
void ob_virtio_balloon_set_poison(struct virtio_device *vdev, u32 value);

#endif
