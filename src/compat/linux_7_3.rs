// SPDX-License-Identifier: GPL-2.0

//! [`super`] for Linux 7.3 (C side: `linux_7_3.h`).
//!
//! The balloon core (`mm/balloon.c`, since 7.0) guards every device's list
//! with one global `balloon_pages_lock` that drivers never see, and does all
//! of a migration but talking to the host: after `migratepage` returns 0 it
//! takes the reference on the new page, inserts it, counts `BALLOON_MIGRATE`
//! and releases the old page. It could also move pages in and out of the
//! managed page count, per page (`adjust_managed_page_count`, which on 7.3
//! also recomputes every zone's lowmem reserve); the balloon leaves that
//! off and counts per run of pages, as on 6.12. PageOffline stays set until
//! the page is freed.

use super::Reclaim;
use crate::bindings;
use kernel::prelude::*;
use kernel::time::Monotonic;
use kernel::uaccess::{UserPtr, UserSlice};

pub(super) type Instant = kernel::time::Instant<Monotonic>;

pub(super) fn now() -> Instant {
    Instant::now()
}

pub(super) fn ns_since(start: &Instant) -> u64 {
    start.elapsed().as_nanos().max(0) as u64
}

/// The user memory of a `write` call.
pub(crate) fn user_slice(buf: *const kernel::ffi::c_char, len: usize) -> UserSlice {
    UserSlice::new(UserPtr::from_addr(buf as usize), len)
}

/// Pages of `b` isolated by migrations in progress.
///
/// # Safety
///
/// `b` is a live balloon device initialised by [`super::balloon_init`].
pub(crate) unsafe fn balloon_isolated(b: *mut bindings::balloon_dev_info) -> u64 {
    // SAFETY: the lock that guards the count is private to mm/balloon.c: a plain
    // word-sized read, for statistics (the kernel's data_race(READ_ONCE())).
    unsafe { core::ptr::read_volatile(&raw const (*b).isolated_pages) as u64 }
}

/// Completes the migration of an isolated page of the balloon once the host
/// knows: the core does all of it after `migratepage` returns 0.
///
/// # Safety
///
/// Called from the balloon's `migratepage` (nothing to uphold on this kernel).
pub(crate) unsafe fn balloon_migrated(
    _b: *mut bindings::balloon_dev_info,
    _new: *mut bindings::page,
    _old: *mut bindings::page,
) -> i32 {
    0
}

/// In 7.x the reclaim counters are node statistics (`events` lacks them).
pub(super) fn read_reclaim(_events: &[kernel::ffi::c_ulong]) -> Reclaim {
    // SAFETY: plain reads of global counters.
    let node =
        |item: bindings::node_stat_item| unsafe { bindings::ob_node_page_state(item) } as u64;
    Reclaim {
        kswapd_scan: node(bindings::node_stat_item_PGSCAN_KSWAPD),
        direct_scan: node(bindings::node_stat_item_PGSCAN_DIRECT),
        kswapd_steal: node(bindings::node_stat_item_PGSTEAL_KSWAPD),
        direct_steal: node(bindings::node_stat_item_PGSTEAL_DIRECT),
    }
}

/// Prepares `info` for `page_reporting_register` with a reporting queue of
/// `ring` entries: 7.3 reports at most `capacity` blocks at a time (capped
/// by the framework), and an order must be said to be unspecified (0 is
/// order 0 there), as virtio_balloon does.
///
/// # Safety
///
/// `info` points to a `page_reporting_dev_info` that is not registered.
pub(crate) unsafe fn page_reporting_prepare(
    info: *mut bindings::page_reporting_dev_info,
    ring: u32,
) -> Result {
    // SAFETY: per the function's contract.
    unsafe {
        (*info).order = bindings::PAGE_REPORTING_ORDER_UNSPECIFIED as u32;
        (*info).capacity = ring;
    }
    Ok(())
}

/// Sets the driver's `shutdown` hook: at system shutdown 7.3 calls it instead
/// of breaking and resetting the device itself, so that requests in flight
/// can finish first (as virtio_balloon's `virtballoon_shutdown`).
pub(crate) fn set_virtio_shutdown(drv: &mut bindings::virtio_driver) {
    drv.shutdown = Some(virtio_shutdown);
}

/// `virtio_driver.shutdown`: stop talking to the device, then stop it as the
/// core would have.
///
/// # Safety
///
/// Called by the virtio core at system shutdown with a device bound to this
/// driver, config changes disabled.
unsafe extern "C" fn virtio_shutdown(vdev: *mut bindings::virtio_device) {
    // SAFETY: per the function's contract.
    unsafe {
        crate::virtio::stop_talking(vdev, true);
        bindings::virtio_device_shutdown(vdev);
    }
}
