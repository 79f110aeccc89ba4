// SPDX-License-Identifier: GPL-2.0

//! The host channel of a bound device: its virtqueues and the buffers the
//! host reads, and the balloon's [`Host`] side (inflate and deflate requests,
//! `num_pages` and `actual` in config space).
//!
//! PFNs travel in 4 KiB units as 32-bit numbers, so pages above 16 TiB are
//! never ballooned. Requests on the inflate and deflate queues are serialised
//! by the balloon's host channel; each waits until the host used it.

use super::hinting::Hinting;
use super::reporting::Reporting;
use super::stats::StatsBuf;
use super::wakeup::Wakeup;
use crate::balloon::Host;
use crate::bindings;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering::Relaxed};
use kernel::ffi;
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, Mutex};
use kernel::types::Opaque;
use kernel::workqueue::{impl_has_work, new_work, Work};

pub(super) const VQ_INFLATE: usize = 0;
pub(super) const VQ_DEFLATE: usize = 1;
pub(super) const VQ_STATS: usize = 2;
pub(super) const VQ_FREE_PAGE: usize = 3;
pub(super) const VQ_REPORTING: usize = 4;
pub(super) const NR_VQS: usize = 5;

/// Work item IDs of [`VirtioHost`].
pub(super) const STATS_WORK: u64 = 0;
pub(super) const HINT_WORK: u64 = 1;

/// 4 KiB balloon pages per guest page.
pub(super) const PFNS_PER_PAGE: usize =
    bindings::OB_PAGE_SIZE >> bindings::VIRTIO_BALLOON_PFN_SHIFT;

/// The first guest PFN whose 4 KiB PFNs do not fit in 32 bits.
const PFN_LIMIT: u64 = (1 << 32) / PFNS_PER_PAGE as u64;

/// What the host is told through: the virtqueues and their buffers.
#[pin_data]
pub(super) struct VirtioHost {
    pub(super) vdev: *mut bindings::virtio_device,
    /// The virtqueues (null where the feature is off); replaced by `restore`,
    /// while nothing uses them.
    pub(super) vqs: [AtomicPtr<bindings::virtqueue>; NR_VQS],
    /// No statistics requests are served (set before a reset).
    pub(super) stats_stopped: AtomicBool,
    little_endian: bool,
    /// Woken by the inflate, deflate and reporting virtqueue callbacks.
    #[pin]
    pub(super) acked: Opaque<bindings::wait_queue_head>,
    /// PFNs on their way to the host (heap memory: it is DMA-mapped).
    #[pin]
    pfns: Mutex<KVec<u32>>,
    #[pin]
    pub(super) stats: Mutex<StatsBuf>,
    #[pin]
    pub(super) stats_work: Work<VirtioHost, STATS_WORK>,
    /// Free page reporting (`VIRTIO_BALLOON_F_REPORTING`).
    #[pin]
    pub(super) reporting: Reporting,
    /// Free page hinting (`VIRTIO_BALLOON_F_FREE_PAGE_HINT`).
    #[pin]
    pub(super) hinting: Hinting,
    #[pin]
    pub(super) hint_work: Work<VirtioHost, HINT_WORK>,
    /// The wakeup event held while the balloon adjusts or statistics are due.
    #[pin]
    pub(super) wakeup: Wakeup,
}

// SAFETY: the device and its virtqueues may be used from any thread; every use of a
// virtqueue is serialised (inflate/deflate by the balloon's host channel, stats by the
// `stats` mutex, the free page queue by the hint work item, the reporting queue by the
// page reporting framework's single work item), and the virtqueues are replaced only
// while none can use them (`freeze` and `restore`).
unsafe impl Send for VirtioHost {}
// SAFETY: as for `Send`.
unsafe impl Sync for VirtioHost {}

impl_has_work! {
    impl HasWork<Self, STATS_WORK> for VirtioHost { self.stats_work }
    impl HasWork<Self, HINT_WORK> for VirtioHost { self.hint_work }
}

impl VirtioHost {
    pub(super) fn new(
        vdev: *mut bindings::virtio_device,
        vqs: [*mut bindings::virtqueue; NR_VQS],
        batch: usize,
    ) -> Result<Arc<Self>> {
        // SAFETY: `vdev` is the device being probed.
        let little_endian = unsafe { bindings::ob_virtio_is_little_endian(vdev) };
        let stats = StatsBuf::new()?;
        let pfns = KVec::from_elem(0, batch * PFNS_PER_PAGE, GFP_KERNEL)?;
        let hinting = Hinting::new(little_endian)?;
        let this = Arc::pin_init(
            pin_init!(Self {
                vdev,
                vqs: vqs.map(AtomicPtr::new),
                stats_stopped: AtomicBool::new(false),
                little_endian,
                acked: Opaque::uninit(),
                pfns <- new_mutex!(pfns),
                stats <- new_mutex!(stats),
                stats_work <- new_work!("offline_balloon::stats_work"),
                reporting <- Reporting::new(),
                hinting <- hinting,
                hint_work <- new_work!("offline_balloon::hint_work"),
                wakeup <- Wakeup::new(),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `acked` is pinned in the Arc and not yet shared.
        unsafe { bindings::ob_init_waitqueue_head(this.acked.get()) };
        Ok(this)
    }

    pub(super) fn has_feature(&self, bit: u32) -> bool {
        // SAFETY: `vdev` is bound while the host is used: `remove` stops every user
        // (work items flushed, reporting and the shrinker gone) before the device goes.
        unsafe { bindings::ob_virtio_has_feature(self.vdev, bit) }
    }

    pub(super) fn little_endian(&self) -> bool {
        self.little_endian
    }

    /// `v` in the device's byte order (virtio 1.0 devices are little-endian).
    pub(super) fn cpu_to_virtio32(&self, v: u32) -> u32 {
        cpu_to_virtio32(self.little_endian, v)
    }

    pub(super) fn vq(&self, index: usize) -> *mut bindings::virtqueue {
        self.vqs[index].load(Relaxed)
    }

    /// Sends `pfns` (guest page frames below [`PFN_LIMIT`]) on virtqueue `vq`
    /// as 4 KiB PFNs and waits until the host has taken them.
    fn tell(&self, vq: usize, pfns: &[u64]) {
        let mut buf = self.pfns.lock();
        let per_request = buf.len() / PFNS_PER_PAGE;
        for chunk in pfns.chunks(per_request) {
            let mut n = 0;
            for &pfn in chunk {
                for i in 0..PFNS_PER_PAGE as u64 {
                    // The balloon inflates no page at or above `PFN_LIMIT`: this fits.
                    buf[n] = self.cpu_to_virtio32((pfn * PFNS_PER_PAGE as u64 + i) as u32);
                    n += 1;
                }
            }
            let mut sg = bindings::scatterlist::default();
            // SAFETY: `buf` is heap memory of at least `n` PFNs, kept locked until the host
            // used it; the virtqueue is live and only this caller (holding the balloon's
            // host channel) adds to it. The data token is any non-null pointer.
            unsafe {
                bindings::sg_init_one(&mut sg, buf.as_ptr().cast(), (n * 4) as ffi::c_uint);
                let err = bindings::virtqueue_add_outbuf(
                    self.vq(vq),
                    &mut sg,
                    1,
                    core::ptr::from_ref(self).cast_mut().cast::<ffi::c_void>(),
                    bindings::OB_GFP_KERNEL,
                );
                if err != 0 {
                    pr_err!("cannot queue {} PFNs for the host: error {}\n", n, err);
                    return;
                }
                bindings::virtqueue_kick(self.vq(vq));
                bindings::ob_wait_for_used_buf(self.acked.get(), self.vq(vq));
            }
        }
    }
}

/// `v` in the byte order of a device that is little-endian or not.
pub(super) fn cpu_to_virtio32(little_endian: bool, v: u32) -> u32 {
    if little_endian {
        v.to_le()
    } else {
        v.to_be()
    }
}

impl Host for VirtioHost {
    fn inflate(&self, pfns: &[u64]) {
        self.tell(VQ_INFLATE, pfns);
    }

    fn deflate(&self, pfns: &[u64]) {
        self.tell(VQ_DEFLATE, pfns);
    }

    fn report_size(&self, pages: u64) {
        // SAFETY: `vdev` is bound: `remove` shuts the balloon down first; a config write.
        unsafe {
            bindings::ob_virtio_balloon_set_actual(self.vdev, (pages * PFNS_PER_PAGE as u64) as u32)
        };
    }

    fn target(&self) -> Option<u64> {
        self.wakeup.processing(Wakeup::ADJUST);
        // SAFETY: `vdev` is bound: `remove` shuts the balloon down first; a config read.
        let num_pages = u64::from(unsafe { bindings::ob_virtio_balloon_num_pages(self.vdev) });
        // Round up to whole guest pages, as virtio_balloon does.
        Some(num_pages.div_ceil(PFNS_PER_PAGE as u64))
    }

    fn pfn_limit(&self) -> u64 {
        PFN_LIMIT
    }

    fn settled(&self) {
        self.wakeup.finish(self.vdev);
    }

    fn write_stats(&self, w: &mut dyn Write) -> fmt::Result {
        self.reporting.write_stats(w)?;
        self.hinting.write_stats(w)
    }
}
