/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux 7.3: the balloon core (mm/balloon.c, since 7.0) with one global
 * balloon_pages_lock; it inserts the new page, counts BALLOON_MIGRATE and
 * fixes up the managed page count after the driver's migratepage, which only
 * talks to the hypervisor. PageOffline stays set until the page is freed.
 */
#ifndef OFFLINE_BALLOON_LINUX_7_3_H
#define OFFLINE_BALLOON_LINUX_7_3_H

#include <linux/balloon.h>
#include <linux/mm.h>

/* The page type goes with the page when it is freed (free_pages_prepare). */
void ob_free_offline_page(struct page *page);

#endif
