// SPDX-License-Identifier: GPL-2.0

//! Suspend, hibernation and resume leave memory to the devices.
//!
//! A balloon at a target it cannot reach has taken free memory down to the
//! allocator's watermarks. While the system suspends the OOM killer is
//! disabled (and with it the OOM notifier) and kswapd is frozen, so an
//! allocation that needs more than light reclaim fails. Resuming a device
//! allocates (virtqueues are allocated anew after a reset, virtio_console
//! refills its receive queues), and a device that fails to resume stays
//! broken: with such a balloon the guest's virtio-serial device failed its
//! restore with -ENOMEM, and its next use hit a `BUG` in
//! `virtqueue_get_buf_ctx()`.
//!
//! So before the system suspends or hibernates (the PM notifier, called
//! before tasks are frozen), the balloon stops inflating until the
//! transition is over and gives pages back until [`PM_FREE_PAGES`] are
//! free for the devices: free pages of the zones `GFP_KERNEL` allocates
//! from, above each zone's high watermark and the reserve it keeps from such
//! allocations (`lowmem_reserve`), less the highatomic and CMA pages they
//! may not take, as the allocator's watermark check counts them. Free
//! memory of other zones (`ZONE_MOVABLE`, which hot-added memory may be
//! onlined to) does not count, nor does reclaimable memory: during the
//! transition allocations may not do IO or enter filesystems, so slab
//! shrinkers do not run. It gives back at most the shortfall (with what the
//! zones lack to reach their reserves) plus [`PM_FREE_PAGES`], whatever zones
//! the pages return to. After the transition, succeeded or not, the worker
//! follows the target again and takes the pages back if the target says so.

use super::Balloon;
use crate::bindings;
use core::sync::atomic::Ordering::Relaxed;
use kernel::prelude::*;

/// Memory the balloon leaves free while the system suspends: 16 MiB,
/// several times what the restore of this project's guests' virtio devices
/// allocates (their virtqueue rings, and virtio_console's two receive
/// queues of 128 pages each).
const PM_FREE_PAGES: u64 = (16 << 20) / bindings::OB_PAGE_SIZE as u64;

impl Balloon {
    /// The system starts to suspend or hibernate (tasks not yet frozen):
    /// stop inflating, wait for a run of the worker in progress, and give
    /// back pages until [`PM_FREE_PAGES`] are free above the reserves.
    /// Like the OOM notifier it waits for the host to take each deflate
    /// request.
    pub(crate) fn pm_prepare(&self) {
        self.pm_holding.store(true, Relaxed);
        // Runs queued from now on see `pm_holding` and inflate nothing.
        self.flush_work();
        let (before, below) = kernel_free_pages();
        // The shortfall, what the zones lack to reach their reserves, and 16 MiB
        // for pages that return to zones the devices do not allocate from or stay
        // uncounted on per-CPU lists.
        let most = match PM_FREE_PAGES.saturating_sub(before) {
            0 => 0,
            lacking => (lacking + below + PM_FREE_PAGES) as usize,
        };
        let mut n = 0;
        // Measured again after each deflation, for those pages.
        while n < most {
            let lacking = PM_FREE_PAGES.saturating_sub(kernel_free_pages().0) as usize;
            let got = match lacking.min(most - n) {
                0 => 0,
                want => self.deflate(want),
            };
            if got == 0 {
                break;
            }
            n += got;
        }
        if n > 0 {
            self.stats.pm_deflated_total.fetch_add(n as u64, Relaxed);
            pr_info!(
                "gave back {n} pages for the devices to suspend and resume ({before} free for them before)\n"
            );
        }
    }

    /// The suspend or hibernation is over (or failed): follow the target again.
    pub(crate) fn pm_finished(&self) {
        self.pm_holding.store(false, Relaxed);
        self.kick_shared();
    }
}

/// Free pages a `GFP_KERNEL` allocation can take without reclaim: of each
/// zone up to `ZONE_NORMAL` on each online node, what is above the zone's
/// high watermark plus its reserve against such allocations, not counting
/// the free pages such allocations may not take (highatomic and CMA), as
/// the allocator's watermark check counts; and the pages the zones below
/// that mark lack to reach it.
fn kernel_free_pages() -> (u64, u64) {
    let highest = bindings::zone_type_ZONE_NORMAL;
    let (mut above, mut below) = (0, 0);
    for nid in 0..bindings::OB_MAX_NUMNODES {
        // SAFETY: `nid` is below MAX_NUMNODES.
        if !unsafe { bindings::ob_node_online(nid) } {
            continue;
        }
        for zid in 0..=highest {
            // SAFETY: `nid` is an online node, whose `pg_data_t` exists (and is never freed,
            // even if the node goes offline), and `zid` one of its zones. The zone's counters,
            // watermarks and reserves are read without a lock, as the allocator reads them.
            let (free, reserve) = unsafe {
                let zone = bindings::ob_node_zone(nid, zid);
                let lowmem = bindings::ob_zone_lowmem_reserve(zone, highest).max(0) as u64;
                (
                    bindings::ob_zone_free_pages(zone) as u64,
                    bindings::ob_zone_high_wmark_pages(zone) as u64
                        + lowmem
                        + bindings::ob_zone_unusable_free_pages(zone) as u64,
                )
            };
            above += free.saturating_sub(reserve);
            below += reserve.saturating_sub(free);
        }
    }
    (above, below)
}
