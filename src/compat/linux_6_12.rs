// SPDX-License-Identifier: GPL-2.0

//! The kernel-version layer for Linux 6.12 (see `compat.h` for the C side).
//!
//! Balloon compaction (`mm/balloon_compaction.c`) guards each device's list
//! with its own `pages_lock` and leaves most of a migration to the driver:
//! its `migratepage` takes a reference on the new page, inserts it, fixes up
//! the managed page count across zones, counts `BALLOON_MIGRATE`, and
//! finalizes and releases the old page. Dequeueing clears PageOffline, and a
//! page must not be PageOffline when it is freed.

use crate::bindings;
use kernel::time::Ktime;
use kernel::uaccess::UserSlice;

/// Measures elapsed time on the monotonic clock.
pub(crate) struct Stopwatch(Ktime);

impl Stopwatch {
    /// Starts measuring now.
    pub(crate) fn start() -> Self {
        Self(Ktime::ktime_get())
    }

    /// Nanoseconds since [`Self::start`].
    pub(crate) fn elapsed_ns(&self) -> u64 {
        (Ktime::ktime_get().to_ns() - self.0.to_ns()).max(0) as u64
    }
}

/// The user memory of a `write` call.
pub(crate) fn user_slice(buf: *const kernel::ffi::c_char, len: usize) -> UserSlice {
    UserSlice::new(buf as usize, len)
}

/// Whether the balloon core moves movable pages in and out of the managed
/// page count: in 6.12 the driver does (here: [`crate::offline_page`]).
pub(crate) const CORE_COUNTS_MOVABLE: bool = false;

/// Initialises the balloon device `b`, whose migrations go to `migratepage`.
///
/// # Safety
///
/// `b` points to a pinned `balloon_dev_info` that nobody else uses yet.
pub(crate) unsafe fn balloon_init(
    b: *mut bindings::balloon_dev_info,
    migratepage: bindings::MigratePage,
) {
    // SAFETY: per the function's contract.
    unsafe {
        bindings::ob_balloon_devinfo_init(b);
        (*b).migratepage = Some(migratepage);
    }
}

/// Pages of `b` isolated by migrations in progress.
///
/// # Safety
///
/// `b` is a live balloon device initialised by [`balloon_init`].
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
/// own and takes over `old`'s place in the managed page count; `old` is
/// finalized and the balloon's reference dropped, which leaves it to the
/// migration core. Returns the value `migratepage` returns.
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
        if !bindings::ob_page_same_zone(new, old) {
            bindings::adjust_managed_page_count(old, 1);
            bindings::adjust_managed_page_count(new, -1);
        }
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

/// Pages scanned and reclaimed by kswapd and by direct reclaim, for the
/// virtio balloon statistics.
pub(crate) struct Reclaim {
    pub(crate) kswapd_scan: u64,
    pub(crate) direct_scan: u64,
    pub(crate) kswapd_steal: u64,
    pub(crate) direct_steal: u64,
}

impl Reclaim {
    /// Reads them from `events`, filled by `all_vm_events()`: VM events in 6.12.
    pub(crate) fn read(events: &[kernel::ffi::c_ulong]) -> Self {
        let ev = |item: bindings::vm_event_item| events[item as usize] as u64;
        Self {
            kswapd_scan: ev(bindings::vm_event_item_PGSCAN_KSWAPD),
            direct_scan: ev(bindings::vm_event_item_PGSCAN_DIRECT),
            kswapd_steal: ev(bindings::vm_event_item_PGSTEAL_KSWAPD),
            direct_steal: ev(bindings::vm_event_item_PGSTEAL_DIRECT),
        }
    }
}
