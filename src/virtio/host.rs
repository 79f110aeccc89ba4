// SPDX-License-Identifier: GPL-2.0

//! The host channel of a bound device: its virtqueues and the buffers the
//! host reads, and the balloon's [`Host`] side (inflate and deflate requests,
//! `num_pages` and `actual` in config space).
//!
//! PFNs travel in 4 KiB units as 32-bit numbers, so pages above 16 TiB are
//! never ballooned. Requests on the inflate and deflate queues are serialised
//! by the balloon's host channel; each waits until the host used it. A
//! migration or an evacuation has one request on each queue in flight at
//! once.

use super::blocks;
use super::hinting::Hinting;
use super::reporting::Reporting;
use super::stats::StatsBuf;
use super::wakeup::Wakeup;
use crate::balloon::Host;
use crate::bindings;
use core::fmt::{self, Write};
use core::ops::Range;
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
    /// PFNs on their way to the host (heap memory: it is DMA-mapped): room
    /// for `batch` pages, at least two (see [`Host::exchange`]).
    #[pin]
    pfns: Mutex<KVec<u32>>,
    /// Pages per inflate or deflate request.
    batch: usize,
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
// `stats` mutex, the free page queue by the hint work item, the reporting queue by its
// `queue` mutex, taken by the page reporting framework's single work item and by the
// balloon's inflations), and the virtqueues are replaced only while none can use them
// (`freeze` and `restore`).
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
        let pfns = KVec::from_elem(0, batch.max(2) * PFNS_PER_PAGE, GFP_KERNEL)?;
        let hinting = Hinting::new(little_endian)?;
        let reporting = Reporting::new()?;
        let this = Arc::pin_init(
            pin_init!(Self {
                vdev,
                vqs: vqs.map(AtomicPtr::new),
                stats_stopped: AtomicBool::new(false),
                little_endian,
                acked: Opaque::uninit(),
                pfns <- new_mutex!(pfns),
                batch,
                stats <- new_mutex!(stats),
                stats_work <- new_work!("offline_balloon::stats_work"),
                reporting <- reporting,
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

    /// Whether the host wants every deflated page told (`MUST_TELL_HOST`).
    pub(super) fn must_tell(&self) -> bool {
        self.has_feature(bindings::VIRTIO_BALLOON_F_MUST_TELL_HOST)
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
    /// as 4 KiB PFNs, `batch` pages per request, and waits until the host
    /// has taken them.
    fn tell(&self, vq: usize, pfns: impl Iterator<Item = u64>) {
        let mut buf = self.pfns.lock();
        let mut pfns = pfns.peekable();
        while pfns.peek().is_some() {
            if !self.queue(vq, &mut buf, pfns.by_ref().take(self.batch)) {
                return;
            }
            self.wait(vq);
        }
    }

    /// Writes `pfns` (at least one, at most `buf.len() / PFNS_PER_PAGE`)
    /// into `buf` as 4 KiB PFNs, queues them on virtqueue `vq` and notifies
    /// the host. Returns whether they were queued; then the caller must
    /// [`Self::wait`] for them before it touches `buf` again.
    fn queue(&self, vq: usize, buf: &mut [u32], pfns: impl Iterator<Item = u64>) -> bool {
        let mut n = 0;
        for pfn in pfns {
            for i in 0..PFNS_PER_PAGE as u64 {
                // The balloon inflates no page at or above `PFN_LIMIT`: this fits.
                buf[n] = self.cpu_to_virtio32((pfn * PFNS_PER_PAGE as u64 + i) as u32);
                n += 1;
            }
        }
        let mut sg = bindings::scatterlist::default();
        // `buf` is heap memory (the locked `pfns`) of at least `n` PFNs, which the caller
        // leaves alone until the host used it; the virtqueue is live and only this caller
        // (holding the balloon's host channel) adds to it. The data token is any non-null
        // pointer.
        // SAFETY: as said above.
        let err = unsafe {
            bindings::sg_init_one(&mut sg, buf.as_ptr().cast(), (n * 4) as ffi::c_uint);
            bindings::virtqueue_add_outbuf(
                self.vq(vq),
                &mut sg,
                1,
                core::ptr::from_ref(self).cast_mut().cast::<ffi::c_void>(),
                bindings::OB_GFP_KERNEL,
            )
        };
        if err != 0 {
            pr_err!("cannot queue {} PFNs for the host: error {}\n", n, err);
            return false;
        }
        // SAFETY: the virtqueue is live; a request of ours is queued on it.
        unsafe { bindings::virtqueue_kick(self.vq(vq)) };
        true
    }

    /// Waits until the host has used the request [`Self::queue`] put on `vq`.
    fn wait(&self, vq: usize) {
        // SAFETY: `acked` is initialised and woken by the virtqueue's callback; the
        // virtqueue is live, with a request of ours on it.
        unsafe { bindings::ob_wait_for_used_buf(self.acked.get(), self.vq(vq)) };
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
    /// Whole 2 MiB blocks go on the reporting queue where they may, the rest
    /// on the inflate queue.
    fn inflate(&self, pfns: &[u64]) {
        let reported = self.report_blocks(pfns);
        self.tell(VQ_INFLATE, blocks::outside(pfns, reported));
    }

    /// Pages of blocks the host took on the reporting queue leave without a
    /// message, unless the host asks for every page (after a restore that
    /// negotiated `MUST_TELL_HOST`); the rest are told on the deflate queue.
    fn deflate(&self, pfns: &[u64]) {
        let must_tell = self.must_tell();
        let mut reported = self.reporting.reported.lock();
        let mut untold = 0;
        self.tell(
            VQ_DEFLATE,
            pfns.iter().copied().filter(|&pfn| {
                let skip = reported.take(pfn) && !must_tell;
                untold += u64::from(skip);
                !skip
            }),
        );
        self.reporting.untold.fetch_add(untold, Relaxed);
    }

    /// Sends `new` on the inflate queue and `old` on the deflate queue, half
    /// of the buffer each, both requests in flight at once, and waits until
    /// the host has taken both: one round trip for the two. An old page of a
    /// reported block is told as any other (a migration moves single pages).
    fn exchange(&self, new: &[u64], old: &[u64]) {
        {
            let mut reported = self.reporting.reported.lock();
            for &pfn in old {
                reported.take(pfn);
            }
        }
        let mut buf = self.pfns.lock();
        // At least one page each: the buffer has room for two.
        let per_request = buf.len() / PFNS_PER_PAGE / 2;
        let (inflate_buf, deflate_buf) = buf.split_at_mut(per_request * PFNS_PER_PAGE);
        let (mut new, mut old) = (new.chunks(per_request), old.chunks(per_request));
        loop {
            let (inflate, deflate) = (new.next(), old.next());
            if inflate.is_none() && deflate.is_none() {
                return;
            }
            let inflating =
                inflate.map(|pfns| self.queue(VQ_INFLATE, inflate_buf, pfns.iter().copied()));
            let deflating =
                deflate.map(|pfns| self.queue(VQ_DEFLATE, deflate_buf, pfns.iter().copied()));
            if inflating == Some(true) {
                self.wait(VQ_INFLATE);
            }
            if deflating == Some(true) {
                self.wait(VQ_DEFLATE);
            }
            if inflating == Some(false) || deflating == Some(false) {
                return;
            }
        }
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

    fn offlined(&self, pfns: Range<u64>) {
        self.reporting.reported.lock().forget(pfns);
    }

    fn settled(&self) {
        self.wakeup.finish(self.vdev);
    }

    fn write_stats(&self, w: &mut dyn Write) -> fmt::Result {
        self.reporting.write_stats(w)?;
        self.hinting.write_stats(w)
    }
}
