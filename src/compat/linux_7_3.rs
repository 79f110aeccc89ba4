// SPDX-License-Identifier: GPL-2.0

//! The kernel-version layer for Linux 7.3 (see `compat.h` for the C side).
//!
//! The balloon core (`mm/balloon.c`, since 7.0) guards every device's list
//! with one global `balloon_pages_lock` that drivers never see, moves pages in
//! and out of the managed page count itself when told to
//! (`adjust_managed_page_count`, set once here), and does all of a migration
//! but talking to the host: after `migratepage` returns 0 it takes the
//! reference on the new page, inserts it, counts `BALLOON_MIGRATE`, fixes up
//! the managed page count across zones and releases the old page. PageOffline
//! stays set until the page is freed.

use crate::bindings;
use kernel::time::{Instant, Monotonic};
use kernel::uaccess::{UserPtr, UserSlice};

/// Measures elapsed time on the monotonic clock.
pub(crate) struct Stopwatch(Instant<Monotonic>);

impl Stopwatch {
    /// Starts measuring now.
    pub(crate) fn start() -> Self {
        Self(Instant::now())
    }

    /// Nanoseconds since [`Self::start`].
    pub(crate) fn elapsed_ns(&self) -> u64 {
        self.0.elapsed().as_nanos().max(0) as u64
    }
}

/// The user memory of a `write` call.
pub(crate) fn user_slice(buf: *const kernel::ffi::c_char, len: usize) -> UserSlice {
    UserSlice::new(UserPtr::from_addr(buf as usize), len)
}

/// Whether the balloon core moves movable pages in and out of the managed
/// page count: in 7.3 it does, on enqueue, dequeue and migration.
pub(crate) const CORE_COUNTS_MOVABLE: bool = true;

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
        (*b).adjust_managed_page_count = CORE_COUNTS_MOVABLE;
    }
}

/// Pages of `b` isolated by migrations in progress.
///
/// # Safety
///
/// `b` is a live balloon device initialised by [`balloon_init`].
pub(crate) unsafe fn balloon_isolated(b: *mut bindings::balloon_dev_info) -> u64 {
    // SAFETY: the lock that guards the count is private to mm/balloon.c: a plain
    // word-sized read, for statistics (the kernel's data_race(READ_ONCE())).
    unsafe { core::ptr::read_volatile(&raw const (*b).isolated_pages) as u64 }
}

/// Completes the migration of the isolated page `old` of `b` to `new` once
/// the host knows: the core does all of it after `migratepage` returns 0.
///
/// # Safety
///
/// Called from `b`'s `migratepage` (nothing to uphold on this kernel).
pub(crate) unsafe fn balloon_migrated(
    _b: *mut bindings::balloon_dev_info,
    _new: *mut bindings::page,
    _old: *mut bindings::page,
) -> i32 {
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
    /// Reads them from the node statistics, where 7.x keeps them (`events`,
    /// the VM events, no longer has them).
    pub(crate) fn read(_events: &[kernel::ffi::c_ulong]) -> Self {
        // SAFETY: plain reads of global counters.
        let node =
            |item: bindings::node_stat_item| unsafe { bindings::ob_node_page_state(item) } as u64;
        Self {
            kswapd_scan: node(bindings::node_stat_item_PGSCAN_KSWAPD),
            direct_scan: node(bindings::node_stat_item_PGSCAN_DIRECT),
            kswapd_steal: node(bindings::node_stat_item_PGSTEAL_KSWAPD),
            direct_steal: node(bindings::node_stat_item_PGSTEAL_DIRECT),
        }
    }
}
