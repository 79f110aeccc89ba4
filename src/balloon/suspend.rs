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
//! may not take, as the allocator's watermark check counts them. Free memory of other zones (`ZONE_MOVABLE`, which hot-added memory
//! may be onlined to) does not count, nor does reclaimable memory: during
//! the transition allocations may not do IO or enter filesystems, so slab
//! shrinkers do not run. After the transition, succeeded or not, the worker
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
        let before = kernel_free_pages();
        let mut n = 0;
        // Measured again after each deflation: pages of the balloon in other
        // zones do not help. Pages freed to per-CPU lists are not counted yet,
        // which can give back up to those lists' size more than needed.
        loop {
            let lacking = PM_FREE_PAGES.saturating_sub(kernel_free_pages()) as usize;
            let got = if lacking > 0 {
                self.deflate(lacking)
            } else {
                0
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
/// the allocator's watermark check counts.
fn kernel_free_pages() -> u64 {
    let highest = bindings::zone_type_ZONE_NORMAL;
    let mut pages = 0;
    for nid in 0..bindings::OB_MAX_NUMNODES {
        // SAFETY: `nid` is below MAX_NUMNODES.
        if !unsafe { bindings::ob_node_online(nid) } {
            continue;
        }
        for zid in 0..=highest {
            // SAFETY: `nid` is an online node, whose `pg_data_t` exists, and `zid` one of
            // its zones; the zone is only read.
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
            pages += free.saturating_sub(reserve);
        }
    }
    pages
}
