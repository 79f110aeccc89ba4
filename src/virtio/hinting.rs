// SPDX-License-Identifier: GPL-2.0

//! Free page hinting (`VIRTIO_BALLOON_F_FREE_PAGE_HINT`), as virtio_balloon
//! does it: when the host starts a live migration it writes a new command ID
//! to `free_page_hint_cmd_id` and signals a config change. The hint work item
//! sends that ID on the free page queue, then takes free blocks of
//! `MAX_PAGE_ORDER` from the page allocator (without reclaim) and hands each
//! to the host, which skips their pages in the migration, until allocation
//! fails or the host's ID changes; a stop ID ends the run. The blocks stay
//! allocated until the host writes `DONE` (the migration is over), the device
//! goes away, or memory gets short: a shrinker gives them back under reclaim.

use super::host::{cpu_to_virtio32, VirtioHost, HINT_WORK, VQ_FREE_PAGE};
use crate::bindings;
use core::fmt::{self, Write};
use core::ptr::null_mut;
use core::sync::atomic::Ordering::Relaxed;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::{new_spinlock, Arc, SpinLock};
use kernel::workqueue::{Queue, Work, WorkItem};
use kernel::{c_str, ffi};

/// Pages of one hinted block.
const BLOCK_PAGES: u64 = 1 << bindings::OB_MAX_PAGE_ORDER;

/// The hinted blocks (`struct page` addresses): a stack in memory
/// allocated before hinting starts, so that nothing is allocated under its
/// lock.
struct Blocks {
    slots: KVVec<usize>,
    len: usize,
}

impl Blocks {
    fn push(&mut self, page: usize) -> bool {
        let Some(slot) = self.slots.get_mut(self.len) else {
            return false;
        };
        *slot = page;
        self.len += 1;
        true
    }

    fn pop(&mut self) -> Option<usize> {
        self.len = self.len.checked_sub(1)?;
        Some(self.slots[self.len])
    }

    fn is_full(&self) -> bool {
        self.len == self.slots.len()
    }
}

/// Free page hinting state.
#[pin_data]
pub(super) struct Hinting {
    /// The host's command ID needs reading again (set by a config change).
    read_cmd_id: AtomicBool,
    /// The host's command ID as last read (used by the work item only).
    cmd_id_received: AtomicU32,
    /// The command ID of the run in progress or last run, in CPU byte order.
    cmd_id_active: AtomicU32,
    /// The start ID and the stop ID buffers the host reads (heap memory: DMA-mapped).
    cmd_id_buf: KBox<[AtomicU32; 2]>,
    /// No run may start or go on (the device is going away or suspending).
    stopped: AtomicBool,
    /// The hinted blocks (`struct page` addresses), kept until the host is done.
    #[pin]
    blocks: SpinLock<Blocks>,
    /// `blocks.len()`, for the shrinker's count without the lock.
    nr_blocks: AtomicUsize,
    shrinker: AtomicPtr<bindings::shrinker>,
    /// The hint work item's own workqueue (freezable, unbound: a run is a long
    /// CPU-bound loop that must not hold up the shared per-CPU pools).
    wq: AtomicPtr<kernel::bindings::workqueue_struct>,
    /// 4 KiB pages hinted.
    hinted_total: AtomicU64,
    /// Hinting runs started.
    runs: AtomicU64,
}

impl Hinting {
    pub(super) fn new(little_endian: bool) -> Result<impl PinInit<Self>> {
        let stop = cpu_to_virtio32(little_endian, bindings::VIRTIO_BALLOON_CMD_ID_STOP);
        let cmd_id_buf = KBox::new([AtomicU32::new(stop), AtomicU32::new(stop)], GFP_KERNEL)?;
        Ok(pin_init!(Self {
            read_cmd_id: AtomicBool::new(false),
            cmd_id_received: AtomicU32::new(bindings::VIRTIO_BALLOON_CMD_ID_STOP),
            cmd_id_active: AtomicU32::new(bindings::VIRTIO_BALLOON_CMD_ID_STOP),
            cmd_id_buf,
            stopped: AtomicBool::new(false),
            blocks <- new_spinlock!(Blocks {
                slots: KVVec::new(),
                len: 0,
            }),
            nr_blocks: AtomicUsize::new(0),
            shrinker: AtomicPtr::new(null_mut()),
            wq: AtomicPtr::new(null_mut()),
            hinted_total: AtomicU64::new(0),
            runs: AtomicU64::new(0),
        }))
    }

    pub(super) fn write_stats(&self, w: &mut dyn Write) -> fmt::Result {
        let held = self.nr_blocks.load(Relaxed) as u64 * BLOCK_PAGES;
        writeln!(w, "hinted_pages {held}")?;
        writeln!(w, "hinted_total {}", self.hinted_total.load(Relaxed))?;
        writeln!(w, "hint_runs_total {}", self.runs.load(Relaxed))
    }

    /// Frees up to `n` hinted blocks; returns how many.
    fn give_back(&self, n: usize) -> usize {
        let mut blocks = self.blocks.lock();
        let mut freed = 0;
        while freed < n {
            let Some(page) = blocks.pop() else { break };
            // SAFETY: a block of MAX_PAGE_ORDER taken by `hint_one` and no longer
            // hinted: the host only skips such pages in a migration, it never writes them.
            unsafe {
                bindings::__free_pages(page as *mut bindings::page, bindings::OB_MAX_PAGE_ORDER)
            };
            freed += 1;
        }
        self.nr_blocks.store(blocks.len, Relaxed);
        freed
    }
}

impl VirtioHost {
    /// Sets up hinting if the feature was negotiated: its workqueue, room for
    /// the hinted blocks, and the shrinker that gives them back under memory
    /// pressure. [`Self::stop_hinting`] undoes it, also after a failure here.
    pub(super) fn start_hinting(&self) -> Result {
        if !self.has_feature(bindings::VIRTIO_BALLOON_F_FREE_PAGE_HINT) {
            return Ok(());
        }
        // SAFETY: the queue was found for the negotiated feature and is live.
        if unsafe { bindings::virtqueue_get_vring_size(self.vq(VQ_FREE_PAGE)) } < 2 {
            // One entry is always kept for the command ID.
            pr_err!("free page hinting: the free page queue has fewer than 2 entries\n");
            return Err(ENOSPC);
        }
        // SAFETY: plain allocation of a workqueue, destroyed by `stop_hinting`.
        let wq = unsafe { bindings::ob_alloc_hint_workqueue() };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        self.hinting.wq.store(wq.cast(), Relaxed);
        // Room for every block of the memory there is now: no allocation while hinting.
        // SAFETY: reads an atomic counter.
        let ram = unsafe { bindings::ob_totalram_pages() } as u64;
        let slots = KVVec::from_elem(0, (ram / BLOCK_PAGES) as usize + 1, GFP_KERNEL)?;
        let empty = core::mem::replace(&mut self.hinting.blocks.lock().slots, slots);
        drop(empty);
        // SAFETY: a plain allocation of a shrinker named by a constant string.
        let shrinker =
            unsafe { bindings::shrinker_alloc(0, c_str!("offline-balloon").as_char_ptr()) };
        if shrinker.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `shrinker` is ours and not registered yet; `private_data` points to
        // this host, which frees the shrinker (`stop_hinting`) before it is freed.
        unsafe {
            (*shrinker).count_objects = Some(shrinker_count);
            (*shrinker).scan_objects = Some(shrinker_scan);
            (*shrinker).private_data = core::ptr::from_ref(self).cast_mut().cast();
            bindings::shrinker_register(shrinker);
        }
        self.hinting.shrinker.store(shrinker, Relaxed);
        Ok(())
    }

    /// A config change: the host's command ID may have changed.
    pub(super) fn hint_requested(self: &Arc<Self>) {
        if !self.hinting.read_cmd_id.swap(true, Relaxed) {
            self.queue_hint_work();
        }
    }

    /// Queues the hint work item (if hinting was set up; a queued one stays).
    fn queue_hint_work(self: &Arc<Self>) {
        let wq = self.hinting.wq.load(Relaxed);
        if !wq.is_null() {
            // SAFETY: the workqueue lives until `stop_hinting`, which runs after the
            // last config change (the virtio core disables them around `remove`).
            let _ = unsafe { Queue::from_raw(wq) }.enqueue::<_, HINT_WORK>(self.clone());
        }
    }

    /// Stops hinting; with `wait`, also waits for a run in progress (not while
    /// the system freezes: the freezable workqueue runs nothing then).
    pub(super) fn pause_hinting(&self, wait: bool) {
        self.hinting.stopped.store(true, Relaxed);
        if wait {
            // SAFETY: `hint_work` is an initialised work item of this live host.
            unsafe { kernel::bindings::flush_work(Work::raw_get(&self.hint_work)) };
        }
    }

    /// Lets hinting runs start again after [`Self::pause_hinting`] (`restore`);
    /// a request the work item saw while paused is served now.
    pub(super) fn resume_hinting(self: &Arc<Self>) {
        self.hinting.stopped.store(false, Relaxed);
        if self.hinting.read_cmd_id.load(Relaxed) {
            self.queue_hint_work();
        }
    }

    /// Forgets the last run's command ID (`freeze`): after a hibernation the
    /// host, maybe a new QEMU, may count its IDs from the start again.
    pub(super) fn forget_hint_run(&self) {
        self.hinting
            .cmd_id_active
            .store(bindings::VIRTIO_BALLOON_CMD_ID_STOP, Relaxed);
    }

    /// After [`Self::pause_hinting`] with waiting: frees the shrinker (waiting
    /// for a scan in progress) and the workqueue. The blocks stay until
    /// [`Self::give_back_hints`].
    pub(super) fn stop_hinting(&self) {
        let shrinker = self.hinting.shrinker.swap(null_mut(), Relaxed);
        if !shrinker.is_null() {
            // SAFETY: allocated and registered by `start_hinting`; `shrinker_free` waits
            // for running callbacks.
            unsafe { bindings::shrinker_free(shrinker) };
        }
        let wq = self.hinting.wq.swap(null_mut(), Relaxed);
        if !wq.is_null() {
            // SAFETY: allocated by `start_hinting`; the work item was flushed by
            // `pause_hinting` and cannot be queued again (no more config changes).
            unsafe { kernel::bindings::destroy_workqueue(wq) };
        }
    }

    /// Frees every hinted block.
    pub(super) fn give_back_hints(&self) {
        self.hinting.give_back(usize::MAX);
    }

    /// The host's command ID, read again from config space after a change.
    fn cmd_id_received(&self) -> u32 {
        let h = &self.hinting;
        if h.read_cmd_id.swap(false, Relaxed) {
            // SAFETY: `vdev` is bound: `remove` flushes this work item first; a config read.
            let id = unsafe { bindings::ob_virtio_balloon_cmd_id(self.vdev) };
            h.cmd_id_received.store(id, Relaxed);
        }
        h.cmd_id_received.load(Relaxed)
    }

    /// Queues the command ID buffer `which` (0: start, 1: stop) on the free page queue.
    fn send_cmd_id(&self, which: usize) -> Result {
        let vq = self.vq(VQ_FREE_PAGE);
        self.detach_used_hints();
        let buf = &self.hinting.cmd_id_buf[which];
        let mut sg = bindings::scatterlist::default();
        // SAFETY: the buffer is heap memory that lives as long as the host; the free page
        // queue is live and used only by the hint work item.
        let err = unsafe {
            bindings::sg_init_one(&mut sg, core::ptr::from_ref(buf).cast(), 4);
            bindings::virtqueue_add_outbuf(
                vq,
                &mut sg,
                1,
                core::ptr::from_ref(buf).cast_mut().cast::<ffi::c_void>(),
                bindings::OB_GFP_KERNEL,
            )
        };
        kernel::error::to_result(err)?;
        // SAFETY: as above.
        unsafe { bindings::virtqueue_kick(vq) };
        Ok(())
    }

    /// Takes back the buffers the host has used.
    fn detach_used_hints(&self) {
        let mut len = 0;
        // SAFETY: the free page queue is live and used only by the hint work item.
        while !unsafe { bindings::virtqueue_get_buf(self.vq(VQ_FREE_PAGE), &mut len) }.is_null() {}
    }

    /// Hands the host one free block; `Ok(false)` when none is left (or the
    /// list of hinted blocks is full).
    fn hint_one(&self) -> Result<bool> {
        let vq = self.vq(VQ_FREE_PAGE);
        self.detach_used_hints();
        if self.hinting.blocks.lock().is_full() {
            return Ok(false);
        }
        // SAFETY: plain allocation without reclaim or reserves.
        let page =
            unsafe { bindings::ob_alloc_pages(bindings::OB_GFP_HINT, bindings::OB_MAX_PAGE_ORDER) };
        if page.is_null() {
            return Ok(false);
        }
        // SAFETY: `vq` is live and used only by the hint work item.
        if unsafe { (*vq).num_free } <= 1 {
            // No room but the entry kept for the stop ID: this block is not hinted.
            // SAFETY: allocated above, never shared.
            unsafe { bindings::__free_pages(page, bindings::OB_MAX_PAGE_ORDER) };
            return Ok(true);
        }
        let mut sg = bindings::scatterlist::default();
        // SAFETY: `page` is a block of MAX_PAGE_ORDER that we own; the host reads its
        // address only and never writes it. The data token is the page.
        let err = unsafe {
            bindings::sg_init_one(
                &mut sg,
                bindings::ob_page_address(page),
                (BLOCK_PAGES * bindings::OB_PAGE_SIZE as u64) as ffi::c_uint,
            );
            bindings::virtqueue_add_inbuf(vq, &mut sg, 1, page.cast(), bindings::OB_GFP_KERNEL)
        };
        if err != 0 {
            // SAFETY: allocated above, not queued.
            unsafe { bindings::__free_pages(page, bindings::OB_MAX_PAGE_ORDER) };
            return Err(Error::from_errno(err));
        }
        // SAFETY: as above.
        unsafe { bindings::virtqueue_kick(vq) };
        let mut blocks = self.hinting.blocks.lock();
        // Not full: checked above, and only this work item adds.
        blocks.push(page as usize);
        self.hinting.nr_blocks.store(blocks.len, Relaxed);
        drop(blocks);
        let pfns = BLOCK_PAGES * super::host::PFNS_PER_PAGE as u64;
        self.hinting.hinted_total.fetch_add(pfns, Relaxed);
        Ok(true)
    }

    /// One hinting run for the host's current command ID `id`.
    fn hint_run(&self, id: u32) {
        let h = &self.hinting;
        h.runs.fetch_add(1, Relaxed);
        h.cmd_id_active.store(id, Relaxed);
        h.cmd_id_buf[0].store(self.cpu_to_virtio32(id), Relaxed);
        if let Err(e) = self.send_cmd_id(0) {
            pr_err!("free page hinting: cannot send the start ID: {:?}\n", e);
        }
        while !h.stopped.load(Relaxed) && self.cmd_id_received() == id {
            // SAFETY: process context (a work item) without locks held.
            unsafe { bindings::ob_cond_resched() };
            match self.hint_one() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    pr_err!("free page hinting: cannot send a free block: {:?}\n", e);
                    break;
                }
            }
        }
        if let Err(e) = self.send_cmd_id(1) {
            pr_err!("free page hinting: cannot send the stop ID: {:?}\n", e);
        }
    }
}

impl WorkItem<HINT_WORK> for VirtioHost {
    type Pointer = Arc<VirtioHost>;

    fn run(this: Arc<VirtioHost>) {
        if this.hinting.stopped.load(Relaxed) {
            // `read_cmd_id` stays set: `resume_hinting` serves the request.
            return;
        }
        let id = this.cmd_id_received();
        if id == bindings::VIRTIO_BALLOON_CMD_ID_DONE {
            this.give_back_hints();
        } else if id != bindings::VIRTIO_BALLOON_CMD_ID_STOP
            && id != this.hinting.cmd_id_active.load(Relaxed)
        {
            this.hint_run(id);
        }
    }
}

/// The shrinker's `count_objects`: pages held as hints.
///
/// # Safety
///
/// Called by reclaim with the shrinker `start_hinting` registered.
unsafe extern "C" fn shrinker_count(
    shrinker: *mut bindings::shrinker,
    _sc: *mut bindings::shrink_control,
) -> ffi::c_ulong {
    // SAFETY: `private_data` is the live host that registered the shrinker.
    let host = unsafe { &*(*shrinker).private_data.cast::<VirtioHost>() };
    (host.hinting.nr_blocks.load(Relaxed) as u64 * BLOCK_PAGES) as ffi::c_ulong
}

/// The shrinker's `scan_objects`: gives back blocks worth `nr_to_scan` pages,
/// rounded up to whole blocks.
///
/// # Safety
///
/// As for [`shrinker_count`].
unsafe extern "C" fn shrinker_scan(
    shrinker: *mut bindings::shrinker,
    sc: *mut bindings::shrink_control,
) -> ffi::c_ulong {
    // SAFETY: as in `shrinker_count`; `sc` is reclaim's control for this call.
    let (host, want) = unsafe {
        (
            &*(*shrinker).private_data.cast::<VirtioHost>(),
            (*sc).nr_to_scan as u64,
        )
    };
    let blocks = want.div_ceil(BLOCK_PAGES) as usize;
    (host.hinting.give_back(blocks) as u64 * BLOCK_PAGES) as ffi::c_ulong
}
