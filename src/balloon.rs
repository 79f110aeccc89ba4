// SPDX-License-Identifier: GPL-2.0

//! The balloon: moves offline pages in and out toward a target.
//!
//! Movable pages sit on a balloon compaction list (`balloon_dev_info`), so
//! compaction and memory offlining can isolate them and migrate them through
//! [`Balloon::migrate`], the `migratepage` hook. Frozen pages sit on the
//! balloon's own list and never move. A work item inflates and deflates in
//! batches; the host, if any, is told about every page that changes hands.
//!
//! # Locking
//!
//! - `balloon_dev_info.pages_lock` (spinlock, irqsave) guards the compaction
//!   list and `isolated_pages`; the balloon compaction core takes it, and so
//!   does [`Balloon::migrate`] when it inserts the new page.
//! - `batch` (mutex) is the worker's scratch space; only the worker and
//!   [`Balloon::shutdown`] (after the worker stopped) take it.
//! - `frozen` (mutex) guards the frozen list.
//! - `host_busy` (a flag under a mutex that is never held for long) serialises
//!   talking to the host. `migratepage` runs with two pages locked, possibly
//!   inside an allocation of our own inflate path (direct compaction), so it
//!   never waits for the flag: it returns -EAGAIN and the core retries.

use crate::bindings;
use crate::notifiers::Notifiers;
use crate::offline_page::{self, OfflinePage, RefModel};
use crate::page_list::PageList;
use crate::stats::Stats;
use core::ops::Range;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::sync::{new_condvar, new_mutex, Arc, ArcBorrow, CondVar, Mutex};
use kernel::time::Ktime;
use kernel::types::Opaque;
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};

/// How a balloon inflates.
#[derive(Clone, Copy)]
pub(crate) struct Config {
    /// Refcount model of the inflated pages.
    pub(crate) model: RefModel,
    /// Pages inflated or deflated per batch (and per host request).
    pub(crate) batch: usize,
    /// Try naturally aligned blocks of `1 << order` pages first (0: single pages).
    pub(crate) order: u32,
}

/// Longest pause after a failed allocation before the worker tries again.
const MAX_BACKOFF_MS: u32 = 1000;

/// Pages given back per call of the OOM notifier (1 MiB, as virtio_balloon).
const OOM_PAGES: usize = 256;

/// The other side of the balloon: the hypervisor, told about pages in PFNs of 4 KiB.
pub(crate) trait Host: Send + Sync {
    /// The pages `pfns` were inflated: the host may take their memory.
    fn inflate(&self, pfns: &[u32]);
    /// The pages `pfns` are about to be deflated: the host must back them again.
    fn deflate(&self, pfns: &[u32]);
    /// The balloon's size changed to `pages`.
    fn report_size(&self, pages: u64);
    /// The host's target in pages, if the host sets it.
    fn target(&self) -> Option<u64>;
}

/// The worker's preallocated scratch space, so that deflating needs no memory:
/// the pages of one batch and their PFNs, and a list for the balloon
/// compaction core to dequeue onto.
struct Batch {
    list: PageList,
    pfns: KVec<u32>,
    dequeued: PageList,
}

impl Batch {
    /// Adds `page` to the batch.
    fn push(&mut self, page: OfflinePage) {
        self.pfns.as_mut_slice()[self.list.len()] = page.pfn() as u32;
        self.list.push(page);
    }

    /// The PFNs of the pages in the batch.
    fn pfns(&self) -> &[u32] {
        &self.pfns.as_slice()[..self.list.len()]
    }
}

/// The frozen pages, and the PFNs of a memory block going offline, whose
/// frozen pages must not change state until it is offline.
struct Frozen {
    list: PageList,
    /// Scratch list for walking `list`.
    spare: PageList,
    offlining: Option<Range<u64>>,
}

/// A balloon of offline pages.
#[pin_data]
pub(crate) struct Balloon {
    /// The balloon compaction device; its `migratepage` leads to [`Balloon::migrate`].
    #[pin]
    dev_info: Opaque<bindings::balloon_dev_info>,
    config: Config,
    host: Arc<dyn Host>,
    #[pin]
    batch: Mutex<Batch>,
    #[pin]
    frozen: Mutex<Frozen>,
    #[pin]
    host_busy: Mutex<bool>,
    #[pin]
    host_idle: CondVar,
    target: AtomicU64,
    /// The host's target may have changed: the worker reads it again.
    host_changed: AtomicBool,
    stopping: AtomicBool,
    /// On the OOM and memory hotplug notifier chains.
    pub(crate) notifiers: Notifiers,
    /// Statistics, shown in debugfs.
    pub(crate) stats: Stats,
    #[pin]
    work: Work<Balloon>,
}

// SAFETY: the balloon compaction device is shared with the kernel, which guards it with
// `pages_lock`; the balloon takes that lock too whenever it touches the device. Everything
// else in `Balloon` is `Send + Sync`.
unsafe impl Send for Balloon {}
// SAFETY: as for `Send`.
unsafe impl Sync for Balloon {}

impl_has_work! {
    impl HasWork<Self> for Balloon { self.work }
}

impl Balloon {
    /// Creates an empty balloon inflating as `config` says, talking to `host`.
    pub(crate) fn new(config: Config, host: Arc<dyn Host>) -> Result<Arc<Self>> {
        let model = config.model;
        let batch = Batch {
            list: PageList::new(model)?,
            pfns: KVec::from_elem(0, config.batch, GFP_KERNEL)?,
            dequeued: PageList::new(model)?,
        };
        let frozen = Frozen {
            list: PageList::new(RefModel::Frozen)?,
            spare: PageList::new(RefModel::Frozen)?,
            offlining: None,
        };
        let this = Arc::pin_init(
            pin_init!(Self {
                dev_info: Opaque::uninit(),
                config,
                host,
                batch <- new_mutex!(batch, "offline_balloon::batch"),
                frozen <- new_mutex!(frozen, "offline_balloon::frozen"),
                host_busy <- new_mutex!(false, "offline_balloon::host_busy"),
                host_idle <- new_condvar!("offline_balloon::host_idle"),
                target: AtomicU64::new(0),
                host_changed: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                notifiers: Notifiers::new(),
                stats: Stats::default(),
                work <- new_work!("offline_balloon::work"),
            }),
            GFP_KERNEL,
        )?;
        let b = this.dev_info.get();
        // SAFETY: `dev_info` and `notifiers` are pinned inside the Arc and not yet shared.
        unsafe {
            bindings::ob_balloon_devinfo_init(b);
            (*b).migratepage = Some(migratepage);
            this.notifiers.init();
        }
        if config.model == RefModel::Frozen {
            this.notifiers.register_memory()?;
        }
        Ok(this)
    }

    /// Deflates the balloon when the OOM killer is about to kill: each call
    /// gives back up to 1 MiB and lowers the target to the new size, so the
    /// balloon does not take the memory again until the target is set anew
    /// (by debugfs in simulate mode, as ppc CMM does, or by the host's next
    /// change, as virtio_balloon does).
    pub(crate) fn register_oom_notifier(&self) -> Result {
        self.notifiers.register_oom()
    }

    /// A memory block with the PFNs `pfns` starts going offline (or, with
    /// `None`, its offlining was cancelled): until it is offline, none of the
    /// frozen pages in it is freed, so offlining sees them as skippable
    /// (PageOffline, refcount 0) all the way through. Taking the frozen lock
    /// waits for frees in flight.
    pub(crate) fn memory_going_offline(&self, pfns: Option<Range<u64>>) {
        self.frozen.lock().offlining = pfns;
    }

    /// The memory block with the PFNs `pfns` went offline, taking the frozen
    /// pages in it along: forget them, and let the worker make up for them.
    pub(crate) fn memory_offline(&self, pfns: Range<u64>) {
        let mut frozen = self.frozen.lock();
        let Frozen {
            list,
            spare,
            offlining,
        } = &mut *frozen;
        let mut gone = 0;
        while let Some(page) = list.pop() {
            if pfns.contains(&page.pfn()) {
                page.forget_offlined();
                gone += 1;
            } else {
                spare.push(page);
            }
        }
        core::mem::swap(list, spare);
        *offlining = None;
        drop(frozen);
        if gone > 0 {
            self.stats.frozen_pages.fetch_sub(gone, Relaxed);
            self.stats.offlined_total.fetch_add(gone, Relaxed);
            pr_info!(
                "{} frozen pages went offline with PFNs {:#x}..{:#x}\n",
                gone,
                pfns.start,
                pfns.end
            );
            self.host.report_size(self.stats.inflated());
            // SAFETY: every `Balloon` lives in an `Arc` (`new` returns nothing else), and
            // `self` is its data pointer, as `Arc::into_raw` would give; the caller's
            // reference keeps the refcount above zero.
            let this: Arc<Self> = unsafe { ArcBorrow::from_raw(self) }.into();
            this.kick();
        }
    }

    /// Called by the OOM notifier chain; returns the pages given back.
    pub(crate) fn oom_deflate(&self) -> usize {
        let n = self.deflate(OOM_PAGES);
        self.stats.oom_deflated_total.fetch_add(n as u64, Relaxed);
        self.target.fetch_min(self.stats.inflated(), Relaxed);
        n
    }

    /// The target size in pages.
    pub(crate) fn target(&self) -> u64 {
        self.target.load(Relaxed)
    }

    /// Pages isolated from the compaction list by a migration in progress.
    pub(crate) fn isolated(&self) -> u64 {
        let b = self.dev_info.get();
        // SAFETY: `b` is initialised; `pages_lock` guards `isolated_pages`.
        unsafe {
            let flags = bindings::ob_spin_lock_irqsave(&raw mut (*b).pages_lock);
            let n = (*b).isolated_pages;
            bindings::ob_spin_unlock_irqrestore(&raw mut (*b).pages_lock, flags);
            n as u64
        }
    }

    /// Sets the target size in pages and lets the worker move toward it.
    pub(crate) fn set_target(self: &Arc<Self>, pages: u64) {
        self.target.store(pages, Relaxed);
        self.kick();
    }

    /// The host's target may have changed: let the worker read it and move
    /// toward it. Callable in interrupt context.
    pub(crate) fn host_changed(self: &Arc<Self>) {
        self.host_changed.store(true, Relaxed);
        self.kick();
    }

    fn kick(self: &Arc<Self>) {
        if !self.stopping.load(Relaxed) {
            // An already queued work item will see the change.
            let _ = workqueue::system_freezable().enqueue(self.clone());
        }
    }

    /// Stops the worker and gives every page back, waiting for pages that a
    /// migration holds isolated. Nothing may call [`Self::set_target`] after this.
    pub(crate) fn shutdown(&self) {
        self.stopping.store(true, Relaxed);
        self.notifiers.unregister();
        // SAFETY: `work` is an initialised work item of this live balloon; nothing
        // enqueues it once `stopping` is set, so after the flush it is idle.
        unsafe { kernel::bindings::flush_work(Work::raw_get(&self.work)) };
        while self.stats.inflated() > 0 {
            if self.deflate(self.config.batch) == 0 {
                // Only isolated pages are left: their migration or putback is under way.
                // SAFETY: plain sleep in process context.
                unsafe { bindings::msleep(10) };
            }
        }
    }

    /// Inflates or deflates until the target is reached or the balloon stops.
    fn adjust(&self) {
        let mut backoff_ms = 0;
        while !self.stopping.load(Relaxed) {
            if self.host_changed.swap(false, Relaxed) {
                if let Some(target) = self.host.target() {
                    self.target.store(target, Relaxed);
                }
            }
            let target = self.target();
            let size = self.stats.inflated();
            if size < target {
                let want = (target - size).min(self.config.batch as u64) as usize;
                if self.inflate(want) < want {
                    self.stats.alloc_failed_total.fetch_add(1, Relaxed);
                    backoff_ms = (backoff_ms * 2).clamp(20, MAX_BACKOFF_MS);
                    self.pause(backoff_ms, target);
                } else {
                    backoff_ms = 0;
                }
            } else if size > target {
                let want = (size - target).min(self.config.batch as u64) as usize;
                if self.deflate(want) == 0 {
                    // Only isolated pages are left for now.
                    self.pause(10, target);
                }
            } else {
                break;
            }
            // SAFETY: plain rescheduling point in process context.
            unsafe { bindings::ob_cond_resched() };
        }
    }

    /// Sleeps up to `ms` milliseconds, less if the target changes or the balloon stops.
    fn pause(&self, ms: u32, target: u64) {
        let mut slept = 0;
        while slept < ms
            && self.target() == target
            && !self.host_changed.load(Relaxed)
            && !self.stopping.load(Relaxed)
        {
            // SAFETY: plain sleep in process context.
            unsafe { bindings::msleep(10) };
            slept += 10;
        }
    }

    /// Inflates up to `want` pages (at most a batch); returns how many were
    /// inflated. With an `order`, whole blocks come first, while they can be
    /// had without reclaim; single pages make up the rest.
    fn inflate(&self, want: usize) -> usize {
        let start = Ktime::ktime_get();
        let mut batch = self.batch.lock();
        let block = 1usize << self.config.order;
        let mut blocks = self.config.order > 0;
        while batch.list.len() < want {
            if blocks && want - batch.list.len() >= block {
                if offline_page::alloc_offline_pages(self.config.order, self.config.model, |page| {
                    batch.push(page);
                    self.pages().fetch_add(1, Relaxed);
                }) {
                    self.stats.inflated_blocks_total.fetch_add(1, Relaxed);
                    continue;
                }
                self.stats.block_failed_total.fetch_add(1, Relaxed);
                blocks = false;
            }
            let Some(page) = offline_page::alloc_offline_page(self.config.model) else {
                break;
            };
            batch.push(page);
            self.pages().fetch_add(1, Relaxed);
        }
        let n = batch.list.len();
        if n > 0 {
            let _host = self.lock_host();
            self.host.inflate(batch.pfns());
            match self.config.model {
                RefModel::Movable => {
                    // SAFETY: `dev_info` is live and initialised; the pages are unlocked
                    // movable offline pages of ours.
                    unsafe { batch.list.enqueue_into(self.dev_info.get()) };
                }
                RefModel::Frozen => {
                    let mut frozen = self.frozen.lock();
                    while let Some(page) = batch.list.pop() {
                        frozen.list.push(page);
                    }
                }
            }
            self.host.report_size(self.stats.inflated());
        }
        self.account(&self.stats.inflated_total, &self.stats.inflate_ns, n, start);
        n
    }

    /// Deflates up to `want` pages (at most a batch); returns how many
    /// were deflated (fewer while pages are isolated for migration).
    fn deflate(&self, want: usize) -> usize {
        let start = Ktime::ktime_get();
        let mut batch = self.batch.lock();
        let mut frozen_guard = None;
        match self.config.model {
            RefModel::Movable => {
                // SAFETY: `dev_info` is live; its pages are our movable offline pages.
                unsafe { batch.dequeued.dequeue_from(self.dev_info.get(), want) };
                while let Some(page) = batch.dequeued.pop() {
                    batch.push(page);
                }
            }
            RefModel::Frozen => {
                // Held until the pages are freed: see `memory_going_offline`.
                let frozen = frozen_guard.insert(self.frozen.lock());
                let Frozen {
                    list,
                    spare,
                    offlining,
                } = &mut **frozen;
                while batch.list.len() < want {
                    let Some(page) = list.pop() else { break };
                    if offlining.as_ref().is_some_and(|r| r.contains(&page.pfn())) {
                        spare.push(page);
                    } else {
                        batch.push(page);
                    }
                }
                while let Some(page) = spare.pop() {
                    list.push(page);
                }
            }
        }
        let n = batch.list.len();
        if n > 0 {
            // The host must back the pages before the guest uses them again.
            let _host = self.lock_host();
            self.host.deflate(batch.pfns());
            // The batch still counts until its pages are freed below.
            self.host.report_size(self.stats.inflated() - n as u64);
        }
        while let Some(page) = batch.list.pop() {
            offline_page::free_offline_page(page);
            self.pages().fetch_sub(1, Relaxed);
        }
        drop(frozen_guard);
        self.account(&self.stats.deflated_total, &self.stats.deflate_ns, n, start);
        n
    }

    /// The count of inflated pages of the balloon's model. Pages count from
    /// their allocation to their release, so at rest the count equals the
    /// balloon's PageOffline pages.
    fn pages(&self) -> &AtomicU64 {
        match self.config.model {
            RefModel::Movable => &self.stats.movable_pages,
            RefModel::Frozen => &self.stats.frozen_pages,
        }
    }

    fn account(&self, pages: &AtomicU64, ns: &AtomicU64, n: usize, start: Ktime) {
        if n > 0 {
            let elapsed = Ktime::ktime_get().to_ns() - start.to_ns();
            pages.fetch_add(n as u64, Relaxed);
            ns.fetch_add(elapsed.max(0) as u64, Relaxed);
        }
    }

    /// Waits until nobody talks to the host, then holds the host for the caller.
    fn lock_host(&self) -> HostGuard<'_> {
        let mut busy = self.host_busy.lock();
        while *busy {
            self.host_idle.wait(&mut busy);
        }
        *busy = true;
        HostGuard { balloon: self }
    }

    /// Holds the host for the caller if nobody else does.
    fn try_lock_host(&self) -> Option<HostGuard<'_>> {
        let mut busy = self.host_busy.lock();
        if *busy {
            return None;
        }
        *busy = true;
        Some(HostGuard { balloon: self })
    }

    /// Balloon compaction moves the inflated page `old` to `new`: put `new` on
    /// the compaction list in place of `old`, and tell the host.
    ///
    /// # Safety
    ///
    /// Called by the migration core through `balloon_dev_info.migratepage`:
    /// `old` is an isolated page of this balloon, `new` a fresh page with
    /// refcount 1, both locked.
    unsafe fn migrate(&self, new: *mut bindings::page, old: *mut bindings::page) -> i32 {
        let Some(host) = self.try_lock_host() else {
            self.stats.migrate_failed_total.fetch_add(1, Relaxed);
            return EAGAIN.to_errno();
        };
        let b = self.dev_info.get();
        // SAFETY: per the function's contract. The balloon takes its own reference on
        // `new` and puts it on the compaction list in place of the isolated `old`,
        // under `pages_lock` as the balloon compaction core requires.
        unsafe {
            bindings::ob_get_page(new);
            offline_page::migrate_offline_page(new, old);
            let flags = bindings::ob_spin_lock_irqsave(&raw mut (*b).pages_lock);
            bindings::ob_balloon_page_insert(b, new);
            (*b).isolated_pages -= 1;
            bindings::ob_count_vm_event(bindings::vm_event_item_BALLOON_MIGRATE);
            bindings::ob_spin_unlock_irqrestore(&raw mut (*b).pages_lock, flags);
        }
        // SAFETY: both pages are valid.
        let pfns = unsafe {
            [
                bindings::ob_page_to_pfn(new) as u32,
                bindings::ob_page_to_pfn(old) as u32,
            ]
        };
        self.host.inflate(&pfns[..1]);
        self.host.deflate(&pfns[1..]);
        drop(host);
        // SAFETY: `old` is locked and off every list; finalizing it and dropping the
        // balloon's reference leaves it to the migration core, which frees it.
        unsafe {
            bindings::ob_balloon_page_finalize(old);
            bindings::ob_put_page(old);
        }
        self.stats.migrated_total.fetch_add(1, Relaxed);
        bindings::OB_MIGRATEPAGE_SUCCESS
    }
}

impl WorkItem for Balloon {
    type Pointer = Arc<Balloon>;

    fn run(this: Arc<Balloon>) {
        this.adjust();
    }
}

/// Exclusive use of the host channel, released on drop.
struct HostGuard<'a> {
    balloon: &'a Balloon,
}

impl Drop for HostGuard<'_> {
    fn drop(&mut self) {
        *self.balloon.host_busy.lock() = false;
        self.balloon.host_idle.notify_all();
    }
}

/// The `balloon_dev_info.migratepage` hook.
///
/// # Safety
///
/// Called by the balloon compaction core with `b_dev_info` the `dev_info` of a
/// live [`Balloon`] (a balloon outlives its pages), `page` one of its isolated
/// pages and `newpage` the destination, both locked.
unsafe extern "C" fn migratepage(
    b_dev_info: *mut bindings::balloon_dev_info,
    newpage: *mut bindings::page,
    page: *mut bindings::page,
    _mode: bindings::migrate_mode,
) -> kernel::ffi::c_int {
    // SAFETY: `dev_info` is a transparent wrapper of the `balloon_dev_info` the core
    // passes, embedded in a live `Balloon` per the function's contract.
    let balloon = unsafe { &*kernel::container_of!(b_dev_info, Balloon, dev_info) };
    // SAFETY: per the function's contract.
    unsafe { balloon.migrate(newpage, page) }
}
