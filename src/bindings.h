/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel headers whose types and exported functions the Rust crate uses.
 * Run through bindgen by Kbuild into src/bindings_generated.rs; the items
 * taken are listed in Kbuild. Never compiled as C.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/notifier.h>
#include <linux/oom.h>
#include <linux/page_reporting.h>
#include <linux/pm_wakeup.h>
#include <linux/poison.h>
#include <linux/scatterlist.h>
#include <linux/shrinker.h>
#include <linux/sort.h>
#include <linux/virtio.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <linux/vmstat.h>
#include <linux/xarray.h>
#include "helpers.h"

/* Constants from macros bindgen cannot evaluate. */
const gfp_t OB_GFP_MOVABLE = GFP_HIGHUSER_MOVABLE | __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN;
const gfp_t OB_GFP_UNMOVABLE = GFP_HIGHUSER | __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN;
const gfp_t OB_GFP_KERNEL = GFP_KERNEL;
const gfp_t OB_GFP_NOWAIT = GFP_NOWAIT | __GFP_NOWARN;
/* Free page hinting takes free blocks only: no reclaim, no reserves, no warning. */
const gfp_t OB_GFP_HINT = __GFP_NORETRY | __GFP_NOWARN | __GFP_NOMEMALLOC;
const xa_mark_t OB_XA_PRESENT = XA_PRESENT;
const int OB_EOPNOTSUPP = EOPNOTSUPP;
const gfp_t OB_GFP_RECLAIM = __GFP_RECLAIM;
const unsigned int OB_MAX_PAGE_ORDER = MAX_PAGE_ORDER;
const unsigned long OB_PAGE_SIZE = PAGE_SIZE;
const int OB_MAX_NUMNODES = MAX_NUMNODES;
