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
//!
//! The balloon's whole 2 MiB blocks take the same queue (module parameter
//! `report_blocks`), one descriptor each, up to [`BLOCKS_PER_REPORT`] per
//! request ([`VirtioHost::report_blocks`]): the host discards each with one
//! call, where the inflate queue costs it one per 4 KiB PFN. Not when free
//! pages hold a value other than 0 for the host (`PAGE_POISON`): QEMU then
//! discards no reported page, and the inflate queue is used. Their pages
//! leave the balloon without a message unless the host asked for them
//! (`MUST_TELL_HOST`): reported pages may be reused once the host used the
//! request. One request is on the queue at a time, the framework's or the
//! balloon's (`queue`).

use super::blocks::{self, Reported, BLOCK_PAGES};
use super::features;
use super::host::{VirtioHost, VQ_REPORTING};
use crate::bindings;
use crate::compat;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use kernel::ffi;
use kernel::prelude::*;
use kernel::sync::{new_mutex, Mutex};
use kernel::types::Opaque;

/// Most balloon blocks per request, as many as the framework reports at once.
const BLOCKS_PER_REPORT: usize = bindings::PAGE_REPORTING_CAPACITY as usize;

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
    /// The queue, held by one request at a time; the scatterlist of the
    /// balloon's blocks ([`BLOCKS_PER_REPORT`] entries).
    #[pin]
    queue: Mutex<KVec<bindings::scatterlist>>,
    /// Descriptors the queue holds (set by `start_reporting`).
    ring: AtomicUsize,
    /// The balloon's whole blocks go on the queue (set by `start_reporting`).
    takes_blocks: AtomicBool,
    /// The balloon's blocks the host took, while their pages need no message
    /// (none is noted while the host asks for every page, `MUST_TELL_HOST`).
    #[pin]
    pub(super) reported: Mutex<Reported>,
    /// The balloon's blocks the host took.
    blocks: AtomicU64,
    /// Pages that left the balloon without a message.
    pub(super) untold: AtomicU64,
    /// Inflations whose blocks took the inflate queue from one on, for want
    /// of memory to note that block.
    unnoted: AtomicU64,
}

impl Reporting {
    pub(super) fn new() -> Result<impl PinInit<Self>> {
        let sgs = KVec::from_elem(
            bindings::scatterlist::default(),
            BLOCKS_PER_REPORT,
            GFP_KERNEL,
        )?;
        Ok(pin_init!(Self {
            info: Opaque::uninit(),
            registered: AtomicBool::new(false),
            pages: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            offline: AtomicU64::new(0),
            queue <- new_mutex!(sgs),
            ring: AtomicUsize::new(0),
            takes_blocks: AtomicBool::new(false),
            reported <- new_mutex!(Reported::new()),
            blocks: AtomicU64::new(0),
            untold: AtomicU64::new(0),
            unnoted: AtomicU64::new(0),
        }))
    }

    pub(super) fn write_stats(&self, w: &mut dyn Write) -> fmt::Result {
        writeln!(w, "reported_pages_total {}", self.pages.load(Relaxed))?;
        writeln!(w, "report_requests_total {}", self.requests.load(Relaxed))?;
        writeln!(w, "reported_offline_pages {}", self.offline.load(Relaxed))?;
        let takes = self.takes_blocks.load(Relaxed);
        writeln!(w, "report_blocks {}", u8::from(takes))?;
        writeln!(w, "reported_blocks_total {}", self.blocks.load(Relaxed))?;
        writeln!(w, "reported_blocks {}", self.reported.lock().len())?;
        writeln!(w, "untold_pages_total {}", self.untold.load(Relaxed))?;
        writeln!(w, "report_unnoted_total {}", self.unnoted.load(Relaxed))
    }
}

impl VirtioHost {
    /// Registers the device with the page reporting framework if the feature
    /// was negotiated. The reporting virtqueue must exist.
    pub(super) fn start_reporting(&self) -> Result {
        self.reporting.takes_blocks.store(false, Relaxed);
        if !self.has_feature(bindings::VIRTIO_BALLOON_F_REPORTING) {
            return Ok(());
        }
        let info = self.reporting.info.get();
        // SAFETY: the queue was found for the negotiated feature and is live.
        let ring = unsafe { bindings::virtqueue_get_vring_size(self.vq(VQ_REPORTING)) };
        self.reporting.ring.store(ring as usize, Relaxed);
        // SAFETY: `vdev` is the device being probed or restored; reads a module parameter.
        let takes_blocks = unsafe {
            bindings::ob_param_report_blocks()
                && matches!(features::poison_value(self.vdev), None | Some(0))
        };
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
        self.reporting.takes_blocks.store(takes_blocks, Relaxed);
        Ok(())
    }

    /// Sends the whole blocks of the inflated pages `pfns` to the host on the
    /// reporting queue; returns how many of the first ones it took (the rest
    /// of `pfns` goes on the inflate queue).
    pub(super) fn report_blocks(&self, pfns: &[u64]) -> usize {
        if !self.reporting.takes_blocks.load(Relaxed) {
            return 0;
        }
        let must_tell = self.must_tell();
        let per_report = self.reporting.ring.load(Relaxed).min(BLOCKS_PER_REPORT);
        let mut reported = self.reporting.reported.lock();
        let mut firsts = [0u64; BLOCKS_PER_REPORT];
        let mut all = blocks::firsts(pfns);
        let mut done = 0;
        loop {
            let mut n = 0;
            while n < per_report {
                let Some(first) = all.next() else { break };
                // Without memory to note a block, it and those after it are inflated.
                if !must_tell && reported.insert(first).is_err() {
                    self.reporting.unnoted.fetch_add(1, Relaxed);
                    break;
                }
                firsts[n] = first;
                n += 1;
            }
            if n == 0 {
                return done;
            }
            if !self.report_firsts(&firsts[..n]) {
                for &first in &firsts[..n] {
                    reported.remove(first);
                }
                return done;
            }
            done += n;
            if n < per_report {
                return done;
            }
        }
    }

    /// Queues the blocks starting at `firsts` (at most [`BLOCKS_PER_REPORT`]
    /// and the ring's size) as one request and waits until the host used it.
    fn report_firsts(&self, firsts: &[u64]) -> bool {
        let vq = self.vq(VQ_REPORTING);
        let mut sgs = self.reporting.queue.lock();
        let sg = sgs.as_mut_ptr();
        // `sgs` has room for `firsts`; each is the first PFN of a whole block of inflated
        // pages, which stay in the balloon (its host channel is held: no deflation, and a
        // migration fails with -EAGAIN) until the host used the request. The queue is
        // live: the caller holds the host channel, which `freeze` and `remove` take away
        // (`suspend_host`, `shutdown`) before they reset the device. Only the holder of
        // `queue` adds to it. The data token is any non-null pointer.
        // SAFETY: as said above.
        let err = unsafe {
            bindings::sg_init_table(sg, firsts.len() as ffi::c_uint);
            for (i, &first) in firsts.iter().enumerate() {
                bindings::ob_sg_set_page(
                    sg.add(i),
                    bindings::ob_pfn_to_page(first as ffi::c_ulong),
                    (BLOCK_PAGES * bindings::OB_PAGE_SIZE) as ffi::c_uint,
                );
            }
            bindings::virtqueue_add_inbuf(
                vq,
                sg,
                firsts.len() as ffi::c_uint,
                core::ptr::from_ref(self).cast_mut().cast::<ffi::c_void>(),
                bindings::OB_GFP_KERNEL,
            )
        };
        if err != 0 {
            pr_err!("cannot report {} blocks: error {}\n", firsts.len(), err);
            return false;
        }
        // SAFETY: as above; the callback wakes `acked` when the host used the buffer.
        unsafe {
            bindings::virtqueue_kick(vq);
            bindings::ob_wait_for_used_buf(self.acked.get(), vq);
        }
        self.reporting
            .blocks
            .fetch_add(firsts.len() as u64, Relaxed);
        true
    }

    /// Unregisters from page reporting, waiting for a report in progress;
    /// the balloon's blocks take the inflate queue from now on.
    pub(super) fn stop_reporting(&self) {
        self.reporting.takes_blocks.store(false, Relaxed);
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
        let _queue = self.reporting.queue.lock();
        // SAFETY: the reporting queue is live (reporting stops before a reset) and only
        // the holder of `queue` adds to it. The blocks stay isolated until we return.
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
