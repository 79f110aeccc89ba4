// SPDX-License-Identifier: GPL-2.0

//! The balloon: moves offline pages in and out toward a target.
//!
//! Movable pages sit on the kernel's balloon core list (`balloon_dev_info`),
//! so compaction and memory offlining can isolate them and migrate them
//! through [`Balloon::migrate`], the `migratepage` hook. Frozen pages sit in
//! the balloon's own [`FrozenSet`], outside `struct page`; compaction never
//! moves them, but the balloon can replace those of a PFN range with pages
//! elsewhere ([`Balloon::evacuate`]), which memory offlining asks for. A work item on the freezable system
//! workqueue inflates one batch or deflates up to [`DEFLATE_BATCHES`] per
//! run and queues itself again until the target is reached, so suspend never
//! waits for more than one run (or one pause of at most a second after a
//! failed allocation). The host, if any, is told about every page that
//! changes hands, a batch per request.
//!
//! # Locking
//!
//! - `inflating` (mutex): the worker's inflate scratch space. Only the worker
//!   takes it, and it allocates pages while holding nothing else, so the OOM
//!   notifier never waits behind an allocation.
//! - `deflating` (mutex): the deflate scratch space, preallocated so that
//!   deflating needs no memory; taken by the worker, the OOM notifier and
//!   [`Balloon::shutdown`].
//! - The host channel ([`host_channel`]: a busy flag taken and given back
//!   atomically, an up flag, waiters asleep on a condition variable)
//!   serialises talking to the host. `migratepage`
//!   runs with two pages locked, possibly inside an allocation of our own
//!   inflate path (direct compaction), so it never waits for the channel: it
//!   returns -EAGAIN and the core retries. While the host is down (the device
//!   is suspended) nothing is deflated or migrated.
//! - The balloon core's spinlock (irqsave; per device in 6.12, global and
//!   private to `mm/balloon.c` in 7.x) guards the core's list and
//!   `isolated_pages`; the core takes it, and on 6.12 so does
//!   [`compat::balloon_migrated`] when it inserts the new page.
//! - `frozen` (mutex) guards the frozen pages: a frozen page is made frozen
//!   and put in the frozen set in one critical section, and freed in one, so
//!   the memory hotplug notifier, which takes the same lock, sees every
//!   frozen page there is. Nothing under it waits for memory: the set's
//!   metadata is allocated without waiting.
//! - `evacuating` (mutex): the scratch space of [`Balloon::evacuate`], which
//!   allocates the replacement pages holding nothing else.
//!
//! Order: `inflating`, `deflating` or `evacuating`, then the host channel,
//! then `frozen`.

use crate::bindings;
use crate::compat::{self, Stopwatch};
use crate::frozen_set::FrozenSet;
use crate::notifiers::Notifiers;
use crate::offline_page::{self, BulkRoom, Fresh, RefModel, BLOCK_PAGES};
use crate::page_batch::PageBatch;
use crate::page_list::PageList;
use crate::stats::Stats;
use core::fmt::{self, Write};
use core::ops::Range;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::types::Opaque;
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};

mod evacuate;
mod host_channel;
mod online;
mod self_check;
mod suspend;

pub(crate) use evacuate::evacuate_unsupported;
use evacuate::Evacuating;
use host_channel::HostChannel;

/// How a balloon inflates.
#[derive(Clone, Copy)]
pub(crate) struct Config {
    /// Refcount model of the inflated pages.
    pub(crate) model: RefModel,
    /// Pages inflated or deflated per batch (and per host request).
    pub(crate) batch: usize,
    /// Try naturally aligned blocks of `1 << order` pages first (0: single pages).
    pub(crate) order: u32,
    /// Replace frozen pages in a memory block going offline by pages elsewhere
    /// ([`Balloon::evacuate`]) rather than let them go offline with it.
    pub(crate) evacuate: bool,
    /// Keep the pages the balloon lacks of hot-added memory being onlined,
    /// as frozen pages whatever the model ([`Balloon::keep_onlining`]).
    pub(crate) keep_hotplugged: bool,
}

impl Config {
    /// Whether the balloon may hold frozen pages: of its model, or kept from
    /// hot-added memory.
    pub(crate) fn has_frozen(&self) -> bool {
        self.model == RefModel::Frozen || self.keep_hotplugged
    }

    /// Pages one deflation takes at most: [`DEFLATE_BATCHES`] batches, up to
    /// [`DEFLATE_PAGES`], and at least one batch.
    fn deflate_pages(&self) -> usize {
        (self.batch * DEFLATE_BATCHES)
            .min(DEFLATE_PAGES)
            .max(self.batch)
    }
}

/// Batches one deflation takes at most. Pages that single-page inflation
/// took from one 2 MiB block lie in several inflate batches, which the
/// balloon core list hands back in turn: a deflation that takes them
/// together gives the block back in one free ([`PageBatch::free_all`]).
/// With 1024-page batches, one batch at a time gave back half the blocks
/// the balloon held whole, none in some guests; 16 give back 97%.
const DEFLATE_BATCHES: usize = 16;

/// Pages one deflation takes at most, whatever the batch: 64 MiB, 128 KiB
/// of PFNs for each of its two page batches.
const DEFLATE_PAGES: usize = 16384;

/// Longest pause after a failed allocation before the worker tries again.
const MAX_BACKOFF_MS: u32 = 1000;

/// Pages given back per call of the OOM notifier (1 MiB, as virtio_balloon).
const OOM_PAGES: usize = 256;

/// The other side of the balloon: the hypervisor.
pub(crate) trait Host: Send + Sync {
    /// The pages `pfns` were inflated: the host may take their memory.
    fn inflate(&self, pfns: &[u64]);
    /// The pages `pfns` (up to [`DEFLATE_PAGES`], more than a batch) are
    /// about to be deflated: the host must back them again.
    fn deflate(&self, pfns: &[u64]);
    /// The pages `new` replace the pages `old` in the balloon (migration,
    /// evacuation): [`Self::inflate`] `new` and [`Self::deflate`] `old`, in
    /// any order or at once; done when the host has taken both.
    fn exchange(&self, new: &[u64], old: &[u64]) {
        self.inflate(new);
        self.deflate(old);
    }
    /// The balloon's size changed to `pages`.
    fn report_size(&self, pages: u64);
    /// The host's target in pages, if the host sets it.
    fn target(&self) -> Option<u64>;
    /// The first PFN the host cannot be told about: pages from there on are
    /// never inflated.
    fn pfn_limit(&self) -> u64;
    /// The pages of `pfns` left the balloon with their memory block, which
    /// went offline, without a message.
    fn offlined(&self, _pfns: Range<u64>) {}
    /// The balloon reached its target.
    fn settled(&self) {}
    /// Writes the host channel's own statistics as `name value` lines.
    fn write_stats(&self, _w: &mut dyn Write) -> fmt::Result {
        Ok(())
    }
}

/// PFNs of one batch, in preallocated memory.
struct Pfns {
    buf: KVec<u64>,
    len: usize,
}

impl Pfns {
    /// Room for `n` PFNs.
    fn new(n: usize) -> Result<Self> {
        Ok(Self {
            buf: KVec::from_elem(0, n, GFP_KERNEL)?,
            len: 0,
        })
    }

    /// Adds `pfn`; the callers never ask for more than a batch.
    fn push(&mut self, pfn: u64) {
        self.buf[self.len] = pfn;
        self.len += 1;
    }

    fn as_slice(&self) -> &[u64] {
        &self.buf[..self.len]
    }

    fn len(&self) -> usize {
        self.len
    }

    fn capacity(&self) -> usize {
        self.buf.len()
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

/// The worker's inflate scratch space: movable pages not yet on the
/// balloon core list (frozen ones wait in the frozen set, pending) and the
/// PFNs of the batch.
struct Inflating {
    movable: PageList,
    pfns: Pfns,
    bulk: BulkRoom,
}

/// The deflate scratch space: the frozen and the movable pages of one
/// deflation (movable ones come off the balloon core list through `list`).
struct Deflating {
    list: PageList,
    frozen: PageBatch,
    movable: PageBatch,
}

/// The frozen pages (those of the inflate batch in progress pending: the
/// host has not been told yet), and the PFNs of a memory block going
/// offline, whose frozen pages must not change state until it is offline.
struct Frozen {
    set: FrozenSet,
    offlining: Option<Range<u64>>,
}

/// The balloon device, shared with the kernel's balloon core.
#[repr(transparent)]
struct DevInfo(Opaque<bindings::balloon_dev_info>);

// SAFETY: `migratepage` is set before the balloon is shared and never changes; the list
// and `isolated_pages` are only accessed under the balloon core's lock.
unsafe impl Send for DevInfo {}
// SAFETY: as for `Send`.
unsafe impl Sync for DevInfo {}

/// A balloon of offline pages.
#[pin_data]
pub(crate) struct Balloon {
    /// The balloon core device; its `migratepage` leads to [`Balloon::migrate`].
    #[pin]
    dev_info: DevInfo,
    /// On the PM, OOM and memory hotplug notifier chains, and the online page
    /// callback, from [`Self::start`] to [`Self::shutdown`] (or a failed
    /// `start`): left before the last reference to the balloon goes, since a
    /// callback may take a reference ([`Self::kick_shared`]). First of the
    /// fields with a `Drop`, which leaves them too.
    pub(crate) notifiers: Notifiers,
    config: Config,
    host: Arc<dyn Host>,
    #[pin]
    inflating: Mutex<Inflating>,
    #[pin]
    deflating: Mutex<Deflating>,
    #[pin]
    frozen: Mutex<Frozen>,
    #[pin]
    evacuating: Mutex<Evacuating>,
    #[pin]
    host_channel: HostChannel,
    target: AtomicU64,
    /// The host's target may have changed: the worker reads it again.
    host_changed: AtomicBool,
    stopping: AtomicBool,
    /// The system is suspending or hibernating: inflate nothing (see
    /// [`suspend`]).
    pm_holding: AtomicBool,
    /// The worker's current pause after failed allocations, in milliseconds.
    backoff_ms: AtomicU32,
    /// Statistics, shown in debugfs.
    pub(crate) stats: Stats,
    #[pin]
    work: Work<Balloon>,
}

impl_has_work! {
    impl HasWork<Self> for Balloon { self.work }
}

/// What the worker does after a step.
enum Step {
    /// The target is reached.
    Done,
    /// Another batch, right away.
    Again,
    /// Another batch after a pause of this many milliseconds, or earlier if
    /// the target changes.
    Pause(u32),
}

impl Balloon {
    /// Creates an empty balloon inflating as `config` says, talking to `host`.
    /// It joins no notifier chain before [`Self::start`].
    pub(crate) fn new(config: Config, host: Arc<dyn Host>) -> Result<Arc<Self>> {
        let model = config.model;
        let inflating = Inflating {
            movable: PageList::new(model)?,
            pfns: Pfns::new(config.batch)?,
            bulk: BulkRoom::new(config.batch)?,
        };
        let room = |wanted: bool| if wanted { config.deflate_pages() } else { 0 };
        let deflating = Deflating {
            list: PageList::new(RefModel::Movable)?,
            frozen: PageBatch::new(room(config.has_frozen()), RefModel::Frozen)?,
            movable: PageBatch::new(room(model == RefModel::Movable), RefModel::Movable)?,
        };
        let frozen = Frozen {
            set: FrozenSet::new()?,
            offlining: None,
        };
        let evacuating = Evacuating::new(config.has_frozen())?;
        let this = Arc::pin_init(
            pin_init!(Self {
                dev_info: DevInfo(Opaque::uninit()),
                config,
                host,
                inflating <- new_mutex!(inflating, "offline_balloon::inflating"),
                deflating <- new_mutex!(deflating, "offline_balloon::deflating"),
                frozen <- new_mutex!(frozen, "offline_balloon::frozen"),
                evacuating <- new_mutex!(evacuating, "offline_balloon::evacuating"),
                host_channel <- HostChannel::new(),
                target: AtomicU64::new(0),
                host_changed: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                pm_holding: AtomicBool::new(false),
                backoff_ms: AtomicU32::new(0),
                notifiers: Notifiers::new(),
                stats: Stats::default(),
                work <- new_work!("offline_balloon::work"),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `dev_info` and `notifiers` are pinned inside the Arc and not yet shared.
        unsafe {
            compat::balloon_init(this.dev_info.0.get(), migratepage);
            this.notifiers.init();
        }
        Ok(this)
    }

    /// Joins the notifier chains, the last step of setting a balloon up: the
    /// PM chain (see [`suspend`]), the memory hotplug chain for frozen pages,
    /// and, with `oom`, the OOM chain (see [`Self::oom_deflate`]). Dropping
    /// the balloon leaves them.
    pub(crate) fn start(&self, oom: bool) -> Result {
        let joined = self.join_chains(oom);
        if joined.is_err() {
            // Now, while the caller holds the balloon: a callback may take a
            // reference to it (`kick_shared`), which must not happen in `drop`.
            self.notifiers.unregister();
        }
        joined
    }

    fn join_chains(&self, oom: bool) -> Result {
        self.notifiers.register_pm()?;
        if self.config.has_frozen() {
            self.notifiers.register_memory()?;
        }
        if self.config.keep_hotplugged {
            self.notifiers.register_online(self);
        }
        if oom {
            self.notifiers.register_oom()?;
        }
        Ok(())
    }

    /// A memory block with the PFNs `pfns` starts going offline (or, with
    /// `None`, its offlining was cancelled). With `evacuate`, its frozen
    /// pages are replaced by pages elsewhere first, as far as memory allows.
    /// Until it is offline, none of the frozen pages left in it is freed, so
    /// offlining sees them as skippable (PageOffline, refcount 0) all the way
    /// through. Taking the frozen lock waits for frees in flight.
    pub(crate) fn memory_going_offline(&self, pfns: Option<Range<u64>>) {
        let evacuate = pfns.clone().filter(|_| self.config.evacuate);
        self.frozen.lock().offlining = pfns;
        if let Some(pfns) = evacuate {
            self.evacuate_offlining(pfns);
        }
    }

    /// The memory block with the PFNs `pfns` went offline, taking the frozen
    /// pages in it along: forget them, and let the worker make up for them.
    pub(crate) fn memory_offline(&self, pfns: Range<u64>) {
        let mut frozen = self.frozen.lock();
        let mut never_onlined = 0;
        let gone = frozen.set.take_range(&pfns, |page| {
            never_onlined += u64::from(page.is_never_onlined());
            page.forget_offlined();
        }) as u64;
        frozen.offlining = None;
        // Counted under the lock, so the worker never sees the pages gone but counted.
        self.stats.frozen_gone(gone, never_onlined);
        drop(frozen);
        if gone > 0 {
            self.stats.offlined_total.fetch_add(gone, Relaxed);
            pr_info!(
                "{} frozen pages went offline with PFNs {:#x}..{:#x}\n",
                gone,
                pfns.start,
                pfns.end
            );
            self.host.offlined(pfns);
            self.host.report_size(self.stats.inflated());
            self.kick_shared();
        }
    }

    /// [`Self::kick`] from a plain reference. The callers hold a reference to
    /// the balloon's `Arc`, or run while its owner does: the worker and the
    /// debugfs files hold one, and the notifier callbacks leave their chains
    /// in `shutdown` or a failed `start`, before the owner drops it.
    fn kick_shared(&self) {
        // SAFETY: `self` is the data of an `Arc` (`new` makes nothing else), kept above
        // zero while the caller uses `self` (see above).
        let this: Arc<Self> = unsafe { ArcBorrow::from_raw(self) }.into();
        this.kick();
    }

    /// Called by the OOM notifier chain before the OOM killer kills: gives
    /// back up to 1 MiB, a batch per host request, and lowers the target to
    /// the new size, so the balloon does not take the memory again until the
    /// target is set anew (by debugfs in simulate mode, as ppc CMM does, or by
    /// the host's next change, as virtio_balloon does). Returns the pages
    /// given back.
    pub(crate) fn oom_deflate(&self) -> usize {
        let mut n = 0;
        while n < OOM_PAGES {
            let got = self.deflate(OOM_PAGES - n);
            if got == 0 {
                break;
            }
            n += got;
        }
        self.stats.oom_deflated_total.fetch_add(n as u64, Relaxed);
        self.target.fetch_min(self.stats.inflated(), Relaxed);
        n
    }

    /// The target size in pages.
    pub(crate) fn target(&self) -> u64 {
        self.target.load(Relaxed)
    }

    /// Writes every statistic of the balloon and its host channel as
    /// `name value` lines.
    pub(crate) fn write_stats(&self, w: &mut impl Write) -> fmt::Result {
        self.stats.write(w, self.target(), self.isolated())?;
        if self.config.has_frozen() {
            let metadata = self.frozen.lock().set.metadata_bytes();
            writeln!(w, "frozen_metadata_bytes {metadata}")?;
        }
        self.host.write_stats(w)
    }

    /// Pages isolated from the balloon core list by a migration in progress.
    pub(crate) fn isolated(&self) -> u64 {
        // SAFETY: `dev_info` was initialised by `new`.
        unsafe { compat::balloon_isolated(self.dev_info.0.get()) }
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

    /// Waits until the worker is idle. Runs queued after `stopping` was set
    /// return at once.
    fn flush_work(&self) {
        // SAFETY: `work` is an initialised work item of this live balloon.
        unsafe { kernel::bindings::flush_work(Work::raw_get(&self.work)) };
    }

    /// The host went away for a while (the device is being suspended): waits
    /// for the host channel, then keeps everybody off it until
    /// [`Self::resume_host`]. Pages stay in the balloon meanwhile; the OOM
    /// notifier and migration give up while the host is down.
    pub(crate) fn suspend_host(&self) {
        self.host_channel.go_down();
    }

    /// The host is back (the device was restored): tells it the balloon's
    /// size and lets the worker follow the host's target.
    pub(crate) fn resume_host(self: &Arc<Self>) {
        self.host_channel.come_up();
        self.host.report_size(self.stats.inflated());
        self.host_changed();
    }

    /// Stops the worker and gives every page back, waiting for pages that a
    /// migration holds isolated and for a memory block going offline with
    /// frozen pages in it; then leaves the notifier chains. Nothing may call
    /// [`Self::set_target`] after this.
    pub(crate) fn shutdown(&self) {
        self.stopping.store(true, Relaxed);
        self.flush_work();
        while self.stats.inflated() > 0 {
            if self.deflate(self.config.deflate_pages()) == 0 {
                // Only pages a migration holds isolated or pages of a block going
                // offline are left: the migration or the offlining is under way.
                // SAFETY: plain sleep in process context.
                unsafe { bindings::msleep(10) };
            }
        }
        // The balloon is empty: the memory notifier has nothing left to protect.
        self.notifiers.unregister();
        // A kick that read `stopping` before it was set may have queued the work since.
        self.flush_work();
    }

    /// One step of the worker: reads the host's target if it changed, then
    /// inflates one batch or deflates up to [`DEFLATE_BATCHES`] toward the
    /// target.
    fn step(&self) -> Step {
        if self.host_changed.swap(false, Relaxed) {
            if let Some(target) = self.host.target() {
                self.target.store(target, Relaxed);
            }
        }
        let target = self.target();
        let size = self.stats.inflated();
        if size < target && self.pm_holding.load(Relaxed) {
            // `pm_finished` kicks the worker again.
            Step::Done
        } else if size < target {
            let want = (target - size).min(self.config.batch as u64) as usize;
            if self.inflate(want) < want {
                self.stats.alloc_failed_total.fetch_add(1, Relaxed);
                let backoff = (self.backoff_ms.load(Relaxed) * 2).clamp(20, MAX_BACKOFF_MS);
                self.backoff_ms.store(backoff, Relaxed);
                return Step::Pause(backoff);
            }
            self.backoff_ms.store(0, Relaxed);
            Step::Again
        } else if size > target {
            let most = self.config.deflate_pages() as u64;
            let want = block_aligned(size, (size - target).min(most));
            if self.deflate(want as usize) == 0 {
                // Only isolated pages (or pages of a block going offline) are left for now.
                return Step::Pause(10);
            }
            Step::Again
        } else {
            Step::Done
        }
    }

    /// Sleeps up to `ms` milliseconds, less if the target changes, the
    /// balloon stops or the system suspends.
    fn pause(&self, ms: u32) {
        let target = self.target();
        let mut slept = 0;
        while slept < ms
            && self.target() == target
            && !self.host_changed.load(Relaxed)
            && !self.stopping.load(Relaxed)
            && !self.pm_holding.load(Relaxed)
        {
            // SAFETY: plain sleep in process context.
            unsafe { bindings::msleep(10) };
            slept += 10;
        }
    }

    /// Inflates up to `want` pages (at most a batch); returns how many were
    /// inflated. With an `order`, whole blocks come first, while the page
    /// allocator has them (movable ones free, without reclaim or compaction;
    /// frozen ones without retrying hard); single pages make up the rest.
    /// Pages the host cannot be told about (at or above [`Host::pfn_limit`])
    /// are freed at once.
    fn inflate(&self, want: usize) -> usize {
        let want = want.min(self.config.batch);
        let start = Stopwatch::start();
        let mut inflating = self.inflating.lock();
        let Inflating {
            movable,
            pfns,
            bulk,
        } = &mut *inflating;
        let limit = self.host.pfn_limit();
        let block = 1usize << self.config.order;
        let mut blocks = self.config.order > 0;
        while pfns.len() < want {
            let left = want - pfns.len();
            if blocks && left >= block {
                let fresh = offline_page::alloc_offline_pages(self.config.order, self.config.model)
                    .filter(|fresh| fresh.pfns().end <= limit);
                if let Some(fresh) = fresh {
                    self.stats.inflated_blocks_total.fetch_add(1, Relaxed);
                    self.take_fresh(fresh, movable, pfns);
                } else {
                    self.stats.block_failed_total.fetch_add(1, Relaxed);
                    blocks = false;
                }
                continue;
            }
            // Single pages, many per call of the page allocator.
            let Some(mut fresh) =
                offline_page::alloc_offline_pages_bulk(bulk, left, self.config.model)
            else {
                break;
            };
            if fresh.keep(|pfn| pfn < limit, None) == 0 {
                break;
            }
            self.take_fresh(fresh, movable, pfns);
        }
        let n = pfns.len();
        if n > 0 {
            // The host is told unless it is down (suspended); then it learns the
            // balloon's size when it is back. Held from before movable pages go on
            // the core list until the host is told: a migration of one of them
            // (which talks to the host) fails with -EAGAIN and is retried, and no
            // deflation can tell the host of a page it has not been told of yet.
            let host = self.lock_host();
            if self.config.model == RefModel::Movable {
                // On the list first, as the C driver does: PageOffline (which memory
                // offlining, kdump and hibernation go by) and movable while the host
                // discards them, rather than untyped pages holding a reference.
                let core = Stopwatch::start();
                // SAFETY: `dev_info` is live and initialised; the pages are unlocked
                // movable offline pages of ours.
                unsafe { movable.enqueue_into(self.dev_info.0.get()) };
                self.stats
                    .core_list_ns
                    .fetch_add(core.elapsed_ns(), Relaxed);
            }
            if host.is_some() {
                self.host.inflate(pfns.as_slice());
            }
            if self.config.model == RefModel::Frozen {
                let mut frozen = self.frozen.lock();
                for &pfn in pfns.as_slice() {
                    frozen.set.publish(pfn);
                }
            }
            if host.is_some() {
                self.host.report_size(self.stats.inflated());
            }
            pfns.clear();
        }
        drop(inflating);
        self.account(&self.stats.inflated_total, &self.stats.inflate_ns, n, start);
        n
    }

    /// Makes freshly allocated pages offline pages of the balloon's model: movable
    /// ones onto `movable` (for the balloon core list), frozen ones into the
    /// frozen set, pending, their PFNs onto `pfns`.
    fn take_fresh(&self, fresh: impl Fresh, movable: &mut PageList, pfns: &mut Pfns) {
        match self.config.model {
            RefModel::Movable => {
                let mut n = 0;
                fresh.take(|page| {
                    pfns.push(page.pfn());
                    movable.push(page);
                    n += 1;
                });
                self.stats.movable_pages.fetch_add(n, Relaxed);
            }
            RefModel::Frozen => {
                // Frozen and in the set in one critical section of the memory notifier's lock.
                let mut frozen = self.frozen.lock();
                if !frozen.set.reserve_for(&fresh) {
                    // No memory for the set's metadata: the pages, never offline, go back.
                    return;
                }
                fresh.take(|page| {
                    let pfn = page.pfn();
                    // Cannot fail after `reserve_for`.
                    if frozen.set.insert(page, true).is_ok() {
                        pfns.push(pfn);
                        self.stats.frozen_pages.fetch_add(1, Relaxed);
                    }
                });
            }
        }
    }

    /// Deflates up to `want` pages (at most [`Config::deflate_pages`]);
    /// returns how many were deflated: fewer while pages are isolated for
    /// migration or in a memory block going offline, none while the host is
    /// down (except when shutting down). Movable pages come off the balloon
    /// core list a batch at a time, so that compaction and migration never
    /// wait behind more than one batch for the core's lock.
    fn deflate(&self, want: usize) -> usize {
        let want = want.min(self.config.deflate_pages());
        let start = Stopwatch::start();
        let mut deflating = self.deflating.lock();
        let Deflating {
            list,
            frozen,
            movable,
        } = &mut *deflating;
        // The host must back the pages before the guest uses them again. While it
        // is down nothing is deflated, unless the balloon is shutting down: a
        // device whose restore failed is gone for good, and its pages come back.
        let host = self.lock_host();
        if host.is_none() && !self.stopping.load(Relaxed) {
            return 0;
        }
        // Frozen pages first (in a balloon of movable pages, those kept from
        // hot-added memory), then movable ones. Both page batches have room for
        // `want` when the balloon can hold such pages at all.
        let mut frozen_guard = None;
        if self.config.has_frozen() {
            // Held until the pages are freed: see `memory_going_offline`.
            let guard = frozen_guard.insert(self.frozen.lock());
            let Frozen { set, offlining } = &mut **guard;
            set.take(want, offlining.as_ref(), |page| {
                let _ = frozen.push(page);
            });
        }
        while self.config.model == RefModel::Movable && frozen.len() + movable.len() < want {
            let ask = (want - frozen.len() - movable.len()).min(self.config.batch);
            let core = Stopwatch::start();
            // SAFETY: `dev_info` is live; its pages are our movable offline pages.
            let got = unsafe { list.dequeue_from(self.dev_info.0.get(), ask) };
            self.stats
                .core_list_ns
                .fetch_add(core.elapsed_ns(), Relaxed);
            list.drain(|page| {
                let _ = movable.push(page);
            });
            if got < ask {
                // The rest is isolated or locked for now.
                break;
            }
        }
        let (n_frozen, n_movable) = (frozen.len() as u64, movable.len() as u64);
        let n = n_frozen + n_movable;
        if n > 0 && host.is_some() {
            for pfns in [frozen.pfns(), movable.pfns()] {
                if !pfns.is_empty() {
                    self.host.deflate(pfns);
                }
            }
            // The pages still count until they are freed below.
            self.host.report_size(self.stats.inflated() - n);
        }
        drop(host);
        let never_onlined = frozen.never_onlined() as u64;
        // Whole 2 MiB blocks go back in one free each.
        let blocks = frozen.free_all() + movable.free_all();
        self.stats
            .deflated_blocks_total
            .fetch_add(blocks as u64, Relaxed);
        self.stats.frozen_gone(n_frozen, never_onlined);
        self.stats.movable_pages.fetch_sub(n_movable, Relaxed);
        drop(frozen_guard);
        let n = n as usize;
        drop(deflating);
        self.account(&self.stats.deflated_total, &self.stats.deflate_ns, n, start);
        n
    }

    fn account(&self, pages: &AtomicU64, ns: &AtomicU64, n: usize, start: Stopwatch) {
        if n > 0 {
            pages.fetch_add(n as u64, Relaxed);
            ns.fetch_add(start.elapsed_ns(), Relaxed);
        }
    }

    /// Waits until nobody talks to the host, then holds the host for the
    /// caller; `None` while the host is down.
    fn lock_host(&self) -> Option<HostGuard<'_>> {
        self.host_channel
            .hold()
            .then(|| HostGuard { balloon: self })
    }

    /// Holds the host for the caller if nobody else does and it is up.
    fn try_lock_host(&self) -> Option<HostGuard<'_>> {
        self.host_channel
            .try_hold()
            .then(|| HostGuard { balloon: self })
    }

    /// Balloon migration moves the inflated page `old` to `new`: tell the
    /// host, move the managed page count if the zone changes, then let the
    /// kernel's balloon core put `new` in `old`'s place (on 6.12 the driver
    /// does part of that: see [`compat::balloon_migrated`]).
    ///
    /// # Safety
    ///
    /// Called by the migration core through `balloon_dev_info.migratepage`:
    /// `old` is an isolated page of this balloon, `new` a fresh page with
    /// refcount 1, both locked.
    unsafe fn migrate(&self, new: *mut bindings::page, old: *mut bindings::page) -> i32 {
        let start = Stopwatch::start();
        // SAFETY: both pages are valid per the function's contract.
        let pfns = unsafe { [bindings::ob_page_to_pfn(new), bindings::ob_page_to_pfn(old)] };
        let pfns = pfns.map(|pfn| pfn as u64);
        if pfns[0] >= self.host.pfn_limit() {
            // The host could not be told about the new page: refuse it.
            return EBUSY.to_errno();
        }
        let Some(host) = self.try_lock_host() else {
            self.stats.migrate_failed_total.fetch_add(1, Relaxed);
            return EAGAIN.to_errno();
        };
        self.host.exchange(&pfns[..1], &pfns[1..]);
        drop(host);
        // SAFETY: `old` is an offline page of the balloon, `new` takes its place (contract).
        unsafe { offline_page::move_managed_count(new, old) };
        // SAFETY: per the function's contract.
        let ret = unsafe { compat::balloon_migrated(self.dev_info.0.get(), new, old) };
        self.account(&self.stats.migrated_total, &self.stats.migrate_ns, 1, start);
        ret
    }
}

impl WorkItem for Balloon {
    type Pointer = Arc<Balloon>;

    fn run(this: Arc<Balloon>) {
        if this.stopping.load(Relaxed) {
            return;
        }
        match this.step() {
            Step::Done => this.host.settled(),
            Step::Again => this.kick(),
            Step::Pause(ms) => {
                this.pause(ms);
                this.kick();
            }
        }
    }
}

/// Of `want` pages to deflate from a balloon of `size` pages, the most that
/// leave it a whole number of 2 MiB blocks, or `want` if that is none.
/// Inflation stacks whole blocks and puts single pages on top, and deflation
/// takes the last inflated pages first: deflations that end on a block
/// boundary give every block back whole, in one free, where deflations
/// shifted by the single pages would split each block across two.
fn block_aligned(size: u64, want: u64) -> u64 {
    let block = BLOCK_PAGES as u64;
    let over = size % block;
    if want < over {
        return want;
    }
    match over + (want - over) / block * block {
        0 => want,
        aligned => aligned,
    }
}

/// Exclusive use of the host channel, released on drop.
struct HostGuard<'a> {
    balloon: &'a Balloon,
}

impl Drop for HostGuard<'_> {
    fn drop(&mut self) {
        self.balloon.host_channel.release();
    }
}

/// The `balloon_dev_info.migratepage` hook.
///
/// # Safety
///
/// Called by the kernel's balloon core with `b_dev_info` the `dev_info` of a
/// live [`Balloon`] (a balloon outlives its pages: `shutdown` waits for
/// isolated ones), `page` one of its isolated pages and `newpage` the
/// destination, both locked.
unsafe extern "C" fn migratepage(
    b_dev_info: *mut bindings::balloon_dev_info,
    newpage: *mut bindings::page,
    page: *mut bindings::page,
    _mode: bindings::migrate_mode,
) -> kernel::ffi::c_int {
    // SAFETY: `dev_info` is a transparent wrapper of the `balloon_dev_info` the core
    // passes, embedded in a live `Balloon` per the function's contract.
    let balloon =
        unsafe { &*kernel::container_of!(b_dev_info.cast::<DevInfo>(), Balloon, dev_info) };
    // SAFETY: per the function's contract.
    unsafe { balloon.migrate(newpage, page) }
}
