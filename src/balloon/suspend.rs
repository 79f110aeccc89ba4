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
//! free above the zones' high watermarks and lowmem reserves (the kernel's
//! `totalreserve_pages`, which hibernation also keeps free), as far as it
//! holds pages. Reclaimable memory does not count: during the transition
//! allocations may not do IO or enter filesystems, so slab shrinkers do not
//! run. After the transition, succeeded or not, the worker follows the
//! target again and takes the pages back if the target says so.

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
        // Counted once: the free page count lags behind frees (per-CPU lists
        // and counter deltas), and reading it again would give back more.
        let (free, reserve) = free_and_reserve_pages();
        let lacking = (reserve + PM_FREE_PAGES).saturating_sub(free) as usize;
        let n = self.deflate_up_to(lacking);
        if n > 0 {
            self.stats.pm_deflated_total.fetch_add(n as u64, Relaxed);
            pr_info!(
                "gave back {n} pages for the devices to suspend and resume ({free} were free, {reserve} reserved)\n"
            );
        }
    }

    /// The suspend or hibernation is over (or failed): follow the target again.
    pub(crate) fn pm_finished(&self) {
        self.pm_holding.store(false, Relaxed);
        self.kick_shared();
    }
}

/// Free pages, and the pages the kernel keeps free (`totalreserve_pages`,
/// summed over the online nodes since it is not exported).
fn free_and_reserve_pages() -> (u64, u64) {
    let mut info = bindings::sysinfo::default();
    // SAFETY: `info` is a valid sysinfo to fill.
    unsafe { bindings::si_meminfo(&mut info) };
    let reserve = (0..bindings::OB_MAX_NUMNODES)
        // SAFETY: `nid` is below MAX_NUMNODES.
        .filter(|&nid| unsafe { bindings::ob_node_online(nid) })
        // SAFETY: `nid` is an online node, whose `pg_data_t` exists.
        .map(|nid| unsafe { bindings::ob_node_reserve_pages(nid) } as u64)
        .sum();
    (info.freeram as u64, reserve)
}
