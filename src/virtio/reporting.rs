// SPDX-License-Identifier: GPL-2.0

//! Free page reporting (`VIRTIO_BALLOON_F_REPORTING`): the kernel's page
//! reporting framework hands the device free buddy blocks of at least
//! `page_reporting_order` (sysfs `/sys/module/page_reporting/parameters/`),
//! a scatterlist at a time, from its own work item; [`report`] queues them on
//! the reporting virtqueue and waits until the host has discarded their
//! memory. A ballooned page is never free, so it is never reported: every
//! reported block's head is checked, and one that is an offline page is
//! counted in `reported_offline_pages` (a bug if ever non-zero).
//!
//! One device may report at a time (`page_reporting_register` fails with
//! -EBUSY otherwise). Registration follows the device: after `probe` and
//! `restore`, undone before `remove` and `freeze` reset it.

use super::host::{VirtioHost, VQ_REPORTING};
use crate::bindings;
use crate::compat;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The page reporting device and its counters.
#[pin_data]
pub(super) struct Reporting {
    #[pin]
    info: Opaque<bindings::page_reporting_dev_info>,
    registered: AtomicBool,
    /// 4 KiB pages reported.
    pages: AtomicU64,
    /// Reports (scatterlists) the host took.
    requests: AtomicU64,
    /// Reported blocks whose head was an offline page.
    offline: AtomicU64,
}

impl Reporting {
    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            info: Opaque::uninit(),
            registered: AtomicBool::new(false),
            pages: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            offline: AtomicU64::new(0),
        })
    }

    pub(super) fn write_stats(&self, w: &mut dyn Write) -> fmt::Result {
        writeln!(w, "reported_pages_total {}", self.pages.load(Relaxed))?;
        writeln!(w, "report_requests_total {}", self.requests.load(Relaxed))?;
        writeln!(w, "reported_offline_pages {}", self.offline.load(Relaxed))
    }
}

impl VirtioHost {
    /// Registers the device with the page reporting framework if the feature
    /// was negotiated. The reporting virtqueue must exist.
    pub(super) fn start_reporting(&self) -> Result {
        if !self.has_feature(bindings::VIRTIO_BALLOON_F_REPORTING) {
            return Ok(());
        }
        let info = self.reporting.info.get();
        // SAFETY: the queue was found for the negotiated feature and is live.
        let ring = unsafe { bindings::virtqueue_get_vring_size(self.vq(VQ_REPORTING)) };
        // SAFETY: `info` is pinned in this host and not registered: nothing else uses it.
        unsafe {
            info.write(bindings::page_reporting_dev_info {
                report: Some(report),
                ..Default::default()
            });
            compat::page_reporting_prepare(info, ring)?;
            // As virtio_balloon: with 64 KiB pages pageblock_order means 512 MiB,
            // which free memory rarely reaches; report from 2 MiB (order 5) there.
            #[cfg(all(CONFIG_ARM64, CONFIG_ARM64_64K_PAGES))]
            {
                (*info).order = 5;
            }
            kernel::error::to_result(bindings::page_reporting_register(info))
                .inspect_err(|e| pr_err!("free page reporting: cannot register: {:?}\n", e))?;
        }
        self.reporting.registered.store(true, Relaxed);
        Ok(())
    }

    /// Unregisters from page reporting, waiting for a report in progress.
    pub(super) fn stop_reporting(&self) {
        if self.reporting.registered.swap(false, Relaxed) {
            // SAFETY: registered by `start_reporting`; unregistering waits for the
            // framework's work item, after which `report` is not called any more.
            unsafe { bindings::page_reporting_unregister(self.reporting.info.get()) };
        }
    }

    /// Sends the free blocks of `sg` (`nents` entries) to the host and waits
    /// until it used them.
    fn report(&self, sg: *mut bindings::scatterlist, nents: u32) -> ffi::c_int {
        let vq = self.vq(VQ_REPORTING);
        let mut pages = 0u64;
        let mut entry = sg;
        for _ in 0..nents {
            // SAFETY: `sg` has `nents` entries, each a free block isolated from the buddy
            // allocator for this report.
            unsafe {
                if bindings::ob_page_offline(bindings::ob_sg_page(entry)) {
                    self.reporting.offline.fetch_add(1, Relaxed);
                }
                pages += u64::from((*entry).length) / bindings::OB_PAGE_SIZE as u64;
                entry = bindings::ob_sg_next(entry);
            }
        }
        // SAFETY: the reporting queue is live (reporting stops before a reset) and used
        // only here, by one report at a time. The blocks stay isolated until we return.
        let err = unsafe {
            bindings::virtqueue_add_inbuf(
                vq,
                sg,
                nents,
                core::ptr::from_ref(self).cast_mut().cast::<ffi::c_void>(),
                bindings::OB_GFP_NOWAIT,
            )
        };
        if err != 0 {
            pr_err!(
                "free page reporting: cannot queue {} blocks: error {}\n",
                nents,
                err
            );
            return err;
        }
        // SAFETY: as above; the callback wakes `acked` when the host used the buffer.
        unsafe {
            bindings::virtqueue_kick(vq);
            bindings::ob_wait_for_used_buf(self.acked.get(), vq);
        }
        self.reporting.pages.fetch_add(pages, Relaxed);
        self.reporting.requests.fetch_add(1, Relaxed);
        0
    }
}

/// The `page_reporting_dev_info.report` callback (process context, from the
/// framework's work item).
///
/// # Safety
///
/// Called by the page reporting framework with the `info` of a registered
/// [`VirtioHost`] and a scatterlist of `nents` isolated free blocks.
unsafe extern "C" fn report(
    info: *mut bindings::page_reporting_dev_info,
    sg: *mut bindings::scatterlist,
    nents: ffi::c_uint,
) -> ffi::c_int {
    // SAFETY: `info` is the `reporting.info` of a live host: registered hosts are
    // unregistered (which waits for this callback) before they are freed.
    let host = unsafe {
        &*kernel::container_of!(
            info.cast::<Opaque<bindings::page_reporting_dev_info>>(),
            VirtioHost,
            reporting.info
        )
    };
    host.report(sg, nents)
}
