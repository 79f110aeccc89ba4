// SPDX-License-Identifier: GPL-2.0

//! The kernel-version layer: everything that differs between the supported
//! kernels, behind one interface for the rest of the crate. `linux` is the
//! implementation for the kernel being built against, `compat/linux_<version>.rs`
//! (C side: `compat/compat.h`), chosen by the `ob_compat` cfg that `Kbuild`
//! sets from the kernel's version. README "Kernels" lists the differences.

use crate::bindings;

#[cfg_attr(ob_compat = "linux_6_12", path = "compat/linux_6_12.rs")]
#[cfg_attr(ob_compat = "linux_7_3", path = "compat/linux_7_3.rs")]
mod linux;

pub(crate) use linux::{
    balloon_isolated, balloon_migrated, page_reporting_prepare, set_virtio_shutdown, user_slice,
};

/// Measures elapsed time on the monotonic clock.
pub(crate) struct Stopwatch(linux::Instant);

impl Stopwatch {
    /// Starts measuring now.
    pub(crate) fn start() -> Self {
        Self(linux::now())
    }

    /// Nanoseconds since [`Self::start`].
    pub(crate) fn elapsed_ns(&self) -> u64 {
        linux::ns_since(&self.0)
    }
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
    /// Reads the counters; `events` was filled by `all_vm_events()`.
    pub(crate) fn read(events: &[kernel::ffi::c_ulong]) -> Self {
        linux::read_reclaim(events)
    }
}

/// Initialises the balloon device `b`, whose migrations go to `migratepage`.
/// The balloon core leaves the managed page count alone (7.3's
/// `adjust_managed_page_count` stays false): [`crate::offline_page`] moves it
/// on both kernels, once per run of pages rather than per page.
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
