// SPDX-License-Identifier: GPL-2.0
/*
 * One-line C wrappers for static inline functions and macros; see helpers.h.
 */
#include "helpers.h"
#include <linux/moduleparam.h>
#include <linux/virtio_balloon.h>
#include <linux/vmstat.h>

/* Here rather than in module!, whose key for it differs between kernels. */
MODULE_AUTHOR("offline_balloon developers");

static bool simulate;
module_param(simulate, bool, 0444);
MODULE_PARM_DESC(simulate, "No device: the target comes from debugfs target_pages (default: virtio backend)");
bool ob_param_simulate(void) { return simulate; }

static bool movable = true;
module_param(movable, bool, 0444);
MODULE_PARM_DESC(movable, "Inflated pages are movable by compaction (refcount 1) or frozen (refcount 0) (default: 1)");
bool ob_param_movable(void) { return movable; }

static unsigned int batch = 1024;
module_param(batch, uint, 0444);
MODULE_PARM_DESC(batch, "Pages per inflate/deflate batch and per host request, 1-16384 (default 1024)");
unsigned int ob_param_batch(void) { return batch; }

static unsigned int order = 9;
module_param(order, uint, 0444);
MODULE_PARM_DESC(order, "Inflate blocks of 2^order pages first while free ones exist; 0: single pages only (default 9: 2 MiB)");
unsigned int ob_param_order(void) { return order; }

static bool evacuate = true;
module_param(evacuate, bool, 0444);
MODULE_PARM_DESC(evacuate, "Frozen pages in a memory block going offline are replaced by pages elsewhere (1) or go offline with it (0) (default: 1)");
bool ob_param_evacuate(void) { return evacuate; }

static bool report_blocks = true;
module_param(report_blocks, bool, 0444);
MODULE_PARM_DESC(report_blocks, "Whole 2 MiB blocks go to the host on the free page reporting queue, one descriptor each, when REPORTING is negotiated and free pages need not keep a value (default: 1)");
bool ob_param_report_blocks(void) { return report_blocks; }

static bool keep_hotplugged;
module_param(keep_hotplugged, bool, 0444);
MODULE_PARM_DESC(keep_hotplugged, "The balloon keeps the pages it lacks of hot-added memory being onlined, never onlined (frozen); takes the kernel's one online page callback, which virtio_mem and hv_balloon need (default: 0)");
bool ob_param_keep_hotplugged(void) { return keep_hotplugged; }

struct page *ob_alloc_pages(gfp_t gfp, unsigned int order) { return alloc_pages(gfp, order); }
void ob_free_page(struct page *page) { __free_page(page); }
void ob_set_page_offline(struct page *page) { __SetPageOffline(page); }
bool ob_page_offline(struct page *page) { return PageOffline(page); }
int ob_page_count(struct page *page) { return page_count(page); }
bool ob_page_ref_freeze(struct page *page, int count) { return page_ref_freeze(page, count); }
void ob_page_ref_unfreeze(struct page *page, int count) { page_ref_unfreeze(page, count); }
unsigned long ob_page_to_pfn(struct page *page) { return page_to_pfn(page); }
struct page *ob_pfn_to_page(unsigned long pfn) { return pfn_to_page(pfn); }
bool ob_page_same_zone(struct page *a, struct page *b) { return page_zone(a) == page_zone(b); }
bool ob_page_hwpoison(struct page *page) { return PageHWPoison(page); }
bool ob_page_owner_on(void) { struct dentry *d = IS_ENABLED(CONFIG_PAGE_OWNER) ? debugfs_lookup("page_owner", NULL) : NULL; if (IS_ERR_OR_NULL(d)) return false; dput(d); return true; }
unsigned long ob_totalram_pages(void) { return totalram_pages(); }

void ob_set_page_skippable(struct page *page) { folio_set_owner_2(page_folio(page)); }
void ob_clear_page_skippable(struct page *page) { folio_clear_owner_2(page_folio(page)); }
bool ob_page_skippable(struct page *page) { return folio_test_owner_2(page_folio(page)); }
/* PG_owner_priv_1, whose page accessors carry the name of its pagecache alias PG_checked. */
void ob_set_page_never_onlined(struct page *page) { SetPageChecked(page); }
void ob_clear_page_never_onlined(struct page *page) { ClearPageChecked(page); }
bool ob_page_never_onlined(struct page *page) { return PageChecked(page); }

void ob_init_list_head(struct list_head *list) { INIT_LIST_HEAD(list); }
bool ob_list_empty(struct list_head *list) { return list_empty(list); }
void ob_page_list_push(struct list_head *list, struct page *page) { list_add(&page->lru, list); }
struct page *ob_page_list_pop(struct list_head *list) { struct page *page = list_first_entry_or_null(list, struct page, lru); if (page) list_del(&page->lru); return page; }
struct page *ob_page_list_first(struct list_head *list) { return list_first_entry_or_null(list, struct page, lru); }
struct page *ob_page_list_next(struct list_head *list, struct page *page) { return list_is_last(&page->lru, list) ? NULL : list_next_entry(page, lru); }

struct list_head *ob_page_lru_next(struct page *page) { return READ_ONCE(page->lru.next); }
struct list_head *ob_page_lru_prev(struct page *page) { return READ_ONCE(page->lru.prev); }
struct page *ob_lru_page(struct list_head *lru) { return list_entry(lru, struct page, lru); }
bool ob_pfn_valid(unsigned long pfn) { return pfn_valid(pfn); }
unsigned long ob_page_private(struct page *page) { return page_private(page); }
bool ob_page_has_mapping(struct page *page) { return READ_ONCE(page->mapping) != NULL; }

void ob_xa_init(struct xarray *xa) { xa_init(xa); }
int ob_xa_err(void *entry) { return xa_err(entry); }

void ob_balloon_devinfo_init(struct balloon_dev_info *b_dev_info) { balloon_devinfo_init(b_dev_info); }

int ob_register_memory_notifier(struct notifier_block *nb) { return register_memory_notifier(nb); }
void ob_unregister_memory_notifier(struct notifier_block *nb) { unregister_memory_notifier(nb); }

int ob_register_pm_notifier(struct notifier_block *nb) { return register_pm_notifier(nb); }
int ob_unregister_pm_notifier(struct notifier_block *nb) { return unregister_pm_notifier(nb); }

void ob_cond_resched(void) { cond_resched(); }
void ob_init_waitqueue_head(struct wait_queue_head *wq) { init_waitqueue_head(wq); }
void ob_wake_up(struct wait_queue_head *wq) { wake_up(wq); }
void ob_wait_for_used_buf(struct wait_queue_head *wq, struct virtqueue *vq) { unsigned int len; wait_event(*wq, virtqueue_get_buf(vq, &len)); }

void ob_spin_lock_init(spinlock_t *lock) { spin_lock_init(lock); }
unsigned long ob_spin_lock_irqsave(spinlock_t *lock) { unsigned long flags; spin_lock_irqsave(lock, flags); return flags; }
void ob_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags) { spin_unlock_irqrestore(lock, flags); }

struct workqueue_struct *ob_alloc_hint_workqueue(void) { return alloc_workqueue("offline-balloon-hint", WQ_FREEZABLE | WQ_UNBOUND, 0); }

struct scatterlist *ob_sg_next(struct scatterlist *sg) { return sg_next(sg); }
struct page *ob_sg_page(struct scatterlist *sg) { return sg_page(sg); }
void ob_sg_set_page(struct scatterlist *sg, struct page *page, unsigned int len) { sg_set_page(sg, page, len, 0); }
void *ob_page_address(struct page *page) { return page_address(page); }

bool ob_want_init_on_free(void) { return want_init_on_free(); }
bool ob_page_poisoning_enabled(void) { return page_poisoning_enabled_static(); }

struct dentry *ob_debugfs_create_file(const char *name, umode_t mode, struct dentry *parent, void *data,
				      const struct file_operations *fops) { return debugfs_create_file(name, mode, parent, data, fops); }

unsigned long ob_node_page_state(enum node_stat_item item) { return global_node_page_state(item); }
bool ob_node_online(int nid) { return node_online(nid); }
struct zone *ob_node_zone(int nid, enum zone_type zid) { return &NODE_DATA(nid)->node_zones[zid]; }
unsigned long ob_zone_free_pages(struct zone *zone) { return zone_page_state_snapshot(zone, NR_FREE_PAGES); }
unsigned long ob_zone_unusable_free_pages(struct zone *zone) { return READ_ONCE(zone->nr_free_highatomic) + zone_page_state(zone, NR_FREE_CMA_PAGES); }
unsigned long ob_zone_high_wmark_pages(struct zone *zone) { return high_wmark_pages(zone); }
long ob_zone_lowmem_reserve(struct zone *zone, enum zone_type highest) { return zone->lowmem_reserve[highest]; }

int ob_register_virtio_driver(struct virtio_driver *drv) { return register_virtio_driver(drv); }
bool ob_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit) { return virtio_has_feature(vdev, fbit); }
void ob_virtio_clear_feature(struct virtio_device *vdev, unsigned int fbit) { __virtio_clear_bit(vdev, fbit); }
bool ob_virtio_is_little_endian(struct virtio_device *vdev) { return virtio_is_little_endian(vdev); }
int ob_virtio_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
		       struct virtqueue_info vqs_info[]) { return virtio_find_vqs(vdev, nvqs, vqs, vqs_info, NULL); }
void ob_virtio_device_ready(struct virtio_device *vdev) { virtio_device_ready(vdev); }
void ob_virtio_del_vqs(struct virtio_device *vdev) { vdev->config->del_vqs(vdev); }
u32 ob_virtio_balloon_num_pages(struct virtio_device *vdev) { u32 v; virtio_cread_le(vdev, struct virtio_balloon_config, num_pages, &v); return v; }
void ob_virtio_balloon_set_actual(struct virtio_device *vdev, u32 actual) { virtio_cwrite_le(vdev, struct virtio_balloon_config, actual, &actual); }
u32 ob_virtio_balloon_cmd_id(struct virtio_device *vdev) { u32 v; virtio_cread_le(vdev, struct virtio_balloon_config, free_page_hint_cmd_id, &v); return v; }
void ob_virtio_balloon_set_poison(struct virtio_device *vdev, u32 value) { virtio_cwrite_le(vdev, struct virtio_balloon_config, poison_val, &value); }
