// SPDX-License-Identifier: GPL-2.0

//! [`super`] for Linux 6.12 (C side: `linux_6_12.h`).
//!
//! Balloon compaction (`mm/balloon_compaction.c`) guards each device's list
//! with its own `pages_lock` and leaves most of a migration to the driver:
//! its `migratepage` takes a reference on the new page, inserts it, counts
//! `BALLOON_MIGRATE`, and finalizes and releases the old page. It never
//! moves the managed page count. Dequeueing clears PageOffline, and a page
//! must not be PageOffline when it is freed.

use super::Reclaim;
use crate::bindings;
use kernel::prelude::*;
use kernel::uaccess::UserSlice;

pub(super) type Instant = kernel::time::Ktime;

pub(super) fn now() -> Instant {
    Instant::ktime_get()
}

pub(super) fn ns_since(start: &Instant) -> u64 {
    (Instant::ktime_get().to_ns() - start.to_ns()).max(0) as u64
}

/// The user memory of a `write` call.
pub(crate) fn user_slice(buf: *const kernel::ffi::c_char, len: usize) -> UserSlice {
    UserSlice::new(buf as usize, len)
}

/// Pages of `b` isolated by migrations in progress.
///
/// # Safety
///
/// `b` is a live balloon device initialised by [`super::balloon_init`].
pub(crate) unsafe fn balloon_isolated(b: *mut bindings::balloon_dev_info) -> u64 {
    // SAFETY: `pages_lock` guards `isolated_pages`.
    unsafe {
        let flags = bindings::ob_spin_lock_irqsave(&raw mut (*b).pages_lock);
        let n = (*b).isolated_pages;
        bindings::ob_spin_unlock_irqrestore(&raw mut (*b).pages_lock, flags);
        n as u64
    }
}

/// Completes the migration of the isolated page `old` of `b` to `new` once
/// the host knows: `new` goes on the list with a reference of the balloon's
/// own; `old` is finalized and the balloon's reference dropped, which leaves
/// it to the migration core. Returns the value `migratepage` returns.
///
/// # Safety
///
/// Called from `b`'s `migratepage` with `old` an isolated page of `b` and
/// `new` a fresh page with refcount 1, both locked.
pub(crate) unsafe fn balloon_migrated(
    b: *mut bindings::balloon_dev_info,
    new: *mut bindings::page,
    old: *mut bindings::page,
) -> i32 {
    // SAFETY: per the function's contract; the list and `isolated_pages` under `pages_lock`.
    unsafe {
        bindings::ob_get_page(new);
        let flags = bindings::ob_spin_lock_irqsave(&raw mut (*b).pages_lock);
        bindings::ob_balloon_page_insert(b, new);
        (*b).isolated_pages -= 1;
        bindings::ob_count_vm_event(bindings::vm_event_item_BALLOON_MIGRATE);
        bindings::ob_spin_unlock_irqrestore(&raw mut (*b).pages_lock, flags);
        bindings::ob_balloon_page_finalize(old);
        bindings::ob_put_page(old);
    }
    0
}

/// In 6.12 the reclaim counters are VM events.
pub(super) fn read_reclaim(events: &[kernel::ffi::c_ulong]) -> Reclaim {
    let ev = |item: bindings::vm_event_item| events[item as usize] as u64;
    Reclaim {
        kswapd_scan: ev(bindings::vm_event_item_PGSCAN_KSWAPD),
        direct_scan: ev(bindings::vm_event_item_PGSCAN_DIRECT),
        kswapd_steal: ev(bindings::vm_event_item_PGSTEAL_KSWAPD),
        direct_steal: ev(bindings::vm_event_item_PGSTEAL_DIRECT),
    }
}

/// Prepares `info` for `page_reporting_register` with a reporting queue of
/// `ring` entries. 6.12 reports up to `PAGE_REPORTING_CAPACITY` blocks at a
/// time, whatever the queue holds: a smaller queue is refused (-ENOSPC), as
/// virtio_balloon does. The order is left to the framework (0: its default).
///
/// # Safety
///
/// `info` points to a `page_reporting_dev_info` that is not registered.
pub(crate) unsafe fn page_reporting_prepare(
    _info: *mut bindings::page_reporting_dev_info,
    ring: u32,
) -> Result {
    if ring < bindings::PAGE_REPORTING_CAPACITY {
        pr_err!(
            "free page reporting: the queue holds {} entries, fewer than {}\n",
            ring,
            bindings::PAGE_REPORTING_CAPACITY
        );
        return Err(ENOSPC);
    }
    Ok(())
}

/// 6.12's virtio core has no driver `shutdown` hook: at system shutdown it
/// breaks and resets the device itself. Nothing to set.
pub(crate) fn set_virtio_shutdown(_drv: &mut bindings::virtio_driver) {}
