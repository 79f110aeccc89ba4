// SPDX-License-Identifier: GPL-2.0

//! Memory statistics for the host (`VIRTIO_BALLOON_F_STATS_VQ`): the host
//! returns the buffer on the stats queue to ask for fresh figures; the
//! callback wakes a work item that fills the buffer and queues it again.

use super::host::{VirtioHost, STATS_WORK, VQ_STATS};
use super::wakeup::Wakeup;
use crate::bindings;
use crate::compat;
use core::sync::atomic::Ordering::Relaxed;
use kernel::ffi;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::workqueue::{self, Work, WorkItem};

/// The statistics buffer the host reads, and room for the VM event counters.
pub(super) struct StatsBuf {
    stats: KVec<bindings::virtio_balloon_stat>,
    events: KVec<ffi::c_ulong>,
}

impl StatsBuf {
    pub(super) fn new() -> Result<Self> {
        Ok(Self {
            stats: KVec::from_elem(
                bindings::virtio_balloon_stat { tag: 0, val: 0 },
                bindings::VIRTIO_BALLOON_S_NR as usize,
                GFP_KERNEL,
            )?,
            events: KVec::from_elem(
                0,
                bindings::vm_event_item_NR_VM_EVENT_ITEMS as usize,
                GFP_KERNEL,
            )?,
        })
    }
}

/// The hugetlb allocation counters, as virtio_balloon sends them when the
/// kernel has hugetlb pages.
#[cfg(CONFIG_HUGETLB_PAGE)]
fn hugetlb_stats(ev: impl Fn(bindings::vm_event_item) -> u64) -> [(u32, u64); 2] {
    [
        (
            bindings::VIRTIO_BALLOON_S_HTLB_PGALLOC,
            ev(bindings::vm_event_item_HTLB_BUDDY_PGALLOC),
        ),
        (
            bindings::VIRTIO_BALLOON_S_HTLB_PGFAIL,
            ev(bindings::vm_event_item_HTLB_BUDDY_PGALLOC_FAIL),
        ),
    ]
}

#[cfg(not(CONFIG_HUGETLB_PAGE))]
fn hugetlb_stats(_ev: impl Fn(bindings::vm_event_item) -> u64) -> [(u32, u64); 0] {
    []
}

impl VirtioHost {
    /// Fills the statistics buffer; returns the number of entries.
    fn update_stats(&self, buf: &mut StatsBuf) -> usize {
        let StatsBuf { stats, events } = buf;
        // SAFETY: `events` has room for every VM event counter.
        unsafe { bindings::all_vm_events(events.as_mut_ptr()) };
        let ev = |item: bindings::vm_event_item| events[item as usize] as u64;
        let mut stall = 0;
        for zid in 0..bindings::zone_type___MAX_NR_ZONES {
            stall += ev(bindings::vm_event_item_ALLOCSTALL_NORMAL
                - bindings::zone_type_ZONE_NORMAL
                + zid);
        }
        let mut info = bindings::sysinfo::default();
        // SAFETY: `info` is a valid sysinfo to fill.
        unsafe { bindings::si_meminfo(&mut info) };
        // SAFETY: plain reads of memory counters.
        let (available, caches) = unsafe {
            (
                bindings::si_mem_available() as u64,
                bindings::ob_node_page_state(bindings::node_stat_item_NR_FILE_PAGES) as u64,
            )
        };
        let bytes = |pages: u64| pages * bindings::OB_PAGE_SIZE as u64;
        let reclaim = compat::Reclaim::read(events);
        let values = [
            (
                bindings::VIRTIO_BALLOON_S_SWAP_IN,
                bytes(ev(bindings::vm_event_item_PSWPIN)),
            ),
            (
                bindings::VIRTIO_BALLOON_S_SWAP_OUT,
                bytes(ev(bindings::vm_event_item_PSWPOUT)),
            ),
            (
                bindings::VIRTIO_BALLOON_S_MAJFLT,
                ev(bindings::vm_event_item_PGMAJFAULT),
            ),
            (
                bindings::VIRTIO_BALLOON_S_MINFLT,
                ev(bindings::vm_event_item_PGFAULT),
            ),
            (
                bindings::VIRTIO_BALLOON_S_OOM_KILL,
                ev(bindings::vm_event_item_OOM_KILL),
            ),
            (bindings::VIRTIO_BALLOON_S_ALLOC_STALL, stall),
            (
                bindings::VIRTIO_BALLOON_S_ASYNC_SCAN,
                bytes(reclaim.kswapd_scan),
            ),
            (
                bindings::VIRTIO_BALLOON_S_DIRECT_SCAN,
                bytes(reclaim.direct_scan),
            ),
            (
                bindings::VIRTIO_BALLOON_S_ASYNC_RECLAIM,
                bytes(reclaim.kswapd_steal),
            ),
            (
                bindings::VIRTIO_BALLOON_S_DIRECT_RECLAIM,
                bytes(reclaim.direct_steal),
            ),
            (
                bindings::VIRTIO_BALLOON_S_MEMFREE,
                bytes(info.freeram as u64),
            ),
            (
                bindings::VIRTIO_BALLOON_S_MEMTOT,
                bytes(info.totalram as u64),
            ),
            (bindings::VIRTIO_BALLOON_S_AVAIL, bytes(available)),
            (bindings::VIRTIO_BALLOON_S_CACHES, bytes(caches)),
        ];
        let hugetlb = hugetlb_stats(ev);
        let mut n = 0;
        for (slot, (tag, val)) in stats
            .iter_mut()
            .zip(Iterator::chain(values.into_iter(), hugetlb))
        {
            let (tag, val) = if self.little_endian() {
                ((tag as u16).to_le(), val.to_le())
            } else {
                ((tag as u16).to_be(), val.to_be())
            };
            *slot = bindings::virtio_balloon_stat { tag, val };
            n += 1;
        }
        n
    }

    /// Hands the host a fresh statistics buffer; with `first`, the initial one
    /// that the host uses to ask for statistics later.
    pub(super) fn send_stats(&self, first: bool) -> Result {
        let mut buf = self.stats.lock();
        let vq = self.vq(VQ_STATS);
        let n = self.update_stats(&mut buf);
        let mut len = 0;
        // SAFETY: the stats virtqueue is live and used only by this function, under the
        // `stats` mutex.
        if !first && unsafe { bindings::virtqueue_get_buf(vq, &mut len) }.is_null() {
            return Ok(());
        }
        let mut sg = bindings::scatterlist::default();
        // SAFETY: the statistics buffer is heap memory that lives as long as the device;
        // the host reads it until it returns it with its next request.
        let err = unsafe {
            bindings::sg_init_one(
                &mut sg,
                buf.stats.as_ptr().cast(),
                (n * core::mem::size_of::<bindings::virtio_balloon_stat>()) as ffi::c_uint,
            );
            bindings::virtqueue_add_outbuf(
                vq,
                &mut sg,
                1,
                core::ptr::from_ref(self).cast_mut().cast::<ffi::c_void>(),
                bindings::OB_GFP_KERNEL,
            )
        };
        kernel::error::to_result(err).inspect_err(|e| {
            pr_err!("cannot queue the statistics buffer: {:?}\n", e);
        })?;
        // SAFETY: as above.
        unsafe { bindings::virtqueue_kick(vq) };
        Ok(())
    }

    /// The host asks for statistics (interrupt context): hold the wakeup
    /// event and let the work item answer.
    pub(super) fn stats_requested(self: &Arc<Self>) {
        if !self.stats_stopped.load(Relaxed) {
            self.wakeup.stay_awake(self.vdev, Wakeup::STATS);
            let _ = workqueue::system_freezable().enqueue::<_, STATS_WORK>(self.clone());
        }
    }

    /// Stops serving statistics requests; with `wait`, also waits for one in
    /// progress (not while the system freezes: the freezable workqueue runs
    /// nothing then, and a queued request stays queued until it thaws).
    pub(super) fn stop_stats(&self, wait: bool) {
        self.stats_stopped.store(true, Relaxed);
        if wait {
            self.flush_stats();
        }
    }

    /// Waits until the statistics work item is idle.
    pub(super) fn flush_stats(&self) {
        // SAFETY: `stats_work` is an initialised work item of this live host.
        unsafe { kernel::bindings::flush_work(Work::raw_get(&self.stats_work)) };
    }
}

impl WorkItem<STATS_WORK> for VirtioHost {
    type Pointer = Arc<VirtioHost>;

    fn run(this: Arc<VirtioHost>) {
        this.wakeup.processing(Wakeup::STATS);
        if !this.stats_stopped.load(Relaxed) {
            // A failure is logged; the host then stops asking.
            let _ = this.send_stats(false);
        }
        this.wakeup.finish(this.vdev);
    }
}
