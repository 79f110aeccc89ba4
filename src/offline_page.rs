// SPDX-License-Identifier: GPL-2.0

//! Offline pages: memory taken from the buddy allocator and marked PageOffline.
//!
//! This is the interface David Hildenbrand proposed on linux-mm ("PageOffline:
//! refcount, flags and memdesc", November 2024) and that never went upstream:
//! [`alloc_offline_pages`] (order 0 for one page) and [`free_offline_page`]
//! hand out and take back logically offline pages, so that a driver never
//! touches the refcount, the page type or the managed page count itself.
//!
//! # Refcount models
//!
//! - [`RefModel::Movable`]: the page keeps a refcount of 1. Linux 6.12 needs it
//!   to isolate a page for migration (`isolate_movable_page` starts with a
//!   speculative reference), so balloon pages that compaction and memory
//!   offlining may move use this model. They come from movable pageblocks.
//!   Such a page gets its PageOffline type from the balloon core, which sets
//!   it together with the movable ops when it enqueues the page (6.12 clears
//!   both when it dequeues the page; 7.3 keeps them until the page is freed).
//!   Until then it has no type, as the C driver's pages between allocation
//!   and enqueue: memory offlining fails with `-EBUSY` on a PageOffline page
//!   that holds a reference and has no movable ops (`scan_movable_pages()`),
//!   while it retries over an untyped one (in `ZONE_MOVABLE`; elsewhere,
//!   isolation refuses any page in use), so a block holding pages of a batch
//!   still being allocated goes offline once the batch is enqueued. The
//!   balloon enqueues a batch before it tells the host, as the C driver does.
//! - [`RefModel::Frozen`]: the refcount is frozen at 0, as the proposal wants
//!   for pages that never move: no speculative reference can be taken, and no
//!   PFN walker can mistake the page for one in use. They come from unmovable
//!   pageblocks so that they do not pin movable ones.
//!   [`free_offline_page`] restores the refcount the buddy expects first.
//!
//! # States
//!
//! The proposal's per-page states live in the page owner's flags, the bits
//! the kernel reserves for whoever owns a page (upstream later made
//! `PG_offline_skippable` an alias of `PG_owner_2` in the same way):
//!
//! - *skippable* (`PG_owner_2`, `KPF_OWNER_2` in `/proc/kpageflags`): memory
//!   offlining may skip the page and take its memory block away, because the
//!   owner can cope. Only frozen pages are skippable; movable pages are
//!   migrated instead.
//! - *never onlined* (`PG_owner_priv_1`, `KPF_OWNER_PRIVATE`): a page of a
//!   hot-added memory block that was kept out of the buddy when the block was
//!   onlined ([`OfflinePage::keep_never_onlined`], from an online page
//!   callback, as hv_balloon does), so it was never in the managed page
//!   count either. Freeing it onlines it with `generic_online_page()`; the
//!   caller never sees the difference. Only frozen pages are never onlined.
//!
//! # Cost
//!
//! Zero bytes of metadata per page beyond `struct page`: the type is in
//! `page_type`, the states in `flags`. Whoever holds the pages decides where
//! they are listed: the balloon core links movable pages through `page->lru`
//! (its list is what compaction isolates from), while the balloon keeps frozen
//! pages in a [`FrozenSet`](crate::frozen_set::FrozenSet) outside `struct
//! page`, so that a frozen page uses nothing but its type, flags and refcount.
//!
//! # Accounting
//!
//! Every page handed out is out of its zone's managed pages (MemTotal drops
//! by 4 KiB) until it is freed. A page that is hardware-poisoned by then
//! (memory failure sets `PG_hwpoison` on a page it cannot handle and leaves
//! it to its owner) goes back to the managed count like any other, as the
//! kernel keeps poisoned pages there (`HardwareCorrupted` in
//! `/proc/meminfo` shows them, and memory offlining takes them off the
//! count with their block), but loses its offline state, type and movable
//! ops included, so that memory offlining skips it as a poisoned page; the
//! buddy allocator never takes it back (`free_pages_prepare()`), so it is
//! never handed out again. [`hwpoisoned_total`] counts such pages. These helpers move the count on both kernels,
//! once per run of pages in one zone, and [`move_managed_count`] moves a
//! migrated page's share between zones. 7.3's balloon core could do it for
//! movable pages, but per page, and on 7.3 every change of the count also
//! recomputes every zone's lowmem reserve: the balloon leaves that off (see
//! [`crate::compat::balloon_init`]).

use crate::bindings;
use core::ops::Range;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::types::Opaque;

/// Whether page owner tracking is on, which only the boot command line can
/// decide: [`init`] looks it up once, instead of one debugfs lookup per
/// [`OfflineBlock`].
static PAGE_OWNER_ON: AtomicBool = AtomicBool::new(true);

/// Offline pages freed hardware-poisoned: out of the buddy allocator for
/// good (see [Accounting](self#accounting)).
static HWPOISONED: AtomicU64 = AtomicU64::new(0);

/// Offline pages freed hardware-poisoned since the module was loaded.
pub(crate) fn hwpoisoned_total() -> u64 {
    HWPOISONED.load(Relaxed)
}

/// Looks up once what the kernel decided at boot; called at module load.
pub(crate) fn init() {
    // SAFETY: reads kernel state only.
    PAGE_OWNER_ON.store(unsafe { bindings::ob_page_owner_on() }, Relaxed);
}

/// How an offline page's refcount is kept; see the [module documentation](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefModel {
    /// Refcount 1: the page can be isolated and migrated.
    Movable,
    /// Refcount frozen at 0: the page never moves and is skippable.
    Frozen,
}

/// A 4 KiB page that is logically offline: out of the managed page count,
/// owned by the holder of this value, and PageOffline when frozen.
///
/// # Invariants
///
/// `page` points to an order-0 page that nobody else owns. It is out of the
/// managed page count (see [Accounting](self#accounting)), and its refcount
/// is 1 for [`RefModel::Movable`] or frozen at 0 for [`RefModel::Frozen`]. A
/// frozen page is PageOffline and skippable; a movable one has no type, or
/// the PageOffline type the balloon core gave it (see [Refcount
/// models](self#refcount-models)). Only a frozen page may be never-onlined:
/// then it was never in the buddy allocator, nor in the managed page count.
pub(crate) struct OfflinePage {
    page: NonNull<bindings::page>,
    model: RefModel,
}

// SAFETY: the page is owned exclusively, so it may be handed to another thread.
unsafe impl Send for OfflinePage {}

impl OfflinePage {
    /// The page frame number.
    pub(crate) fn pfn(&self) -> u64 {
        // SAFETY: by the type invariant `page` is a valid page.
        unsafe { bindings::ob_page_to_pfn(self.page.as_ptr()) as u64 }
    }

    /// The page frame number, given that `prev` is a page of PFN `prev_pfn`:
    /// when this page is next to it in the memory map within one naturally
    /// aligned block of [`BLOCK_PAGES`], whose memory map is contiguous (a
    /// block of at most the buddy's largest order), the PFN follows without
    /// a call to the memory model; elsewhere (say, across sections without a
    /// virtual memory map) it is looked up as by [`Self::pfn`].
    pub(crate) fn pfn_after(&self, prev: *const bindings::page, prev_pfn: u64) -> u64 {
        let page = self.page.as_ptr().cast_const();
        // Where `prev` lies in its block.
        let at = prev_pfn % BLOCK_PAGES as u64;
        if page == prev.wrapping_add(1) && at != BLOCK_PAGES as u64 - 1 {
            prev_pfn + 1
        } else if page == prev.wrapping_sub(1) && at != 0 {
            prev_pfn - 1
        } else {
            self.pfn()
        }
    }

    /// The refcount model of this page.
    pub(crate) fn model(&self) -> RefModel {
        self.model
    }

    /// Keeps a page of a memory block being onlined out of the buddy
    /// allocator: it becomes a frozen offline page that is *never onlined*,
    /// which freeing onlines with `generic_online_page()`.
    ///
    /// # Safety
    ///
    /// `page` must be an order-0 page of a memory block being onlined, passed
    /// to the online page callback (PageOffline, refcount 1, never in the
    /// buddy, not in the managed page count), that the caller owns and keeps
    /// from `generic_online_page()`.
    pub(crate) unsafe fn keep_never_onlined(page: NonNull<bindings::page>) -> Self {
        let p = page.as_ptr();
        // SAFETY: the caller owns the page, which has refcount 1 like a fresh one.
        unsafe { freeze(p) };
        // SAFETY: the page is ours; owner flags are free for its owner.
        unsafe { bindings::ob_set_page_never_onlined(p) };
        // INVARIANT: PageOffline (the memory map of hot-added memory starts so), frozen,
        // skippable, never onlined, never counted.
        Self {
            page,
            model: RefModel::Frozen,
        }
    }

    /// Whether the page is never-onlined (see the [module documentation](self)).
    pub(crate) fn is_never_onlined(&self) -> bool {
        // SAFETY: by the type invariant `page` is a valid page of ours.
        unsafe { bindings::ob_page_never_onlined(self.page.as_ptr()) }
    }

    /// The page's memory block went offline with the page in it (a skippable
    /// frozen page): the memory is gone, so there is nothing to free. Onlining
    /// the block again initialises its pages afresh.
    pub(crate) fn forget_offlined(self) {
        core::mem::forget(self);
    }

    /// Gives up ownership, e.g. to the kernel's balloon core; see [`Self::from_raw`].
    pub(crate) fn into_raw(self) -> *mut bindings::page {
        let page = self.page.as_ptr();
        core::mem::forget(self);
        page
    }

    /// Takes ownership of the offline page with PFN `pfn`, which
    /// [`Self::into_raw`] gave up.
    ///
    /// # Safety
    ///
    /// The page must come from [`Self::into_raw`] of an `OfflinePage` of
    /// `model`, and the caller must own it again: nobody else may use it any more.
    pub(crate) unsafe fn from_pfn(pfn: u64, model: RefModel) -> Self {
        // SAFETY: the caller vouches that `pfn` is an offline page, so it has a memory map entry.
        let page = unsafe { bindings::ob_pfn_to_page(pfn as kernel::ffi::c_ulong) };
        // INVARIANT: the caller hands back an offline page of `model` this type owned.
        Self {
            // SAFETY: `pfn_to_page` of a valid PFN is never null.
            page: unsafe { NonNull::new_unchecked(page) },
            model,
        }
    }

    /// Takes ownership of a page that [`Self::into_raw`] gave up.
    ///
    /// # Safety
    ///
    /// `page` must come from [`Self::into_raw`] of an `OfflinePage` with the same
    /// `model` (or be a page that replaced one through balloon migration), and the
    /// caller must own it again: nobody else may use it any more. A movable page
    /// may have the type the balloon core gave it or none (6.12's
    /// `balloon_page_finalize()` clears it).
    pub(crate) unsafe fn from_raw(page: NonNull<bindings::page>, model: RefModel) -> Self {
        debug_assert!(
            model == RefModel::Movable
                // SAFETY: the caller owns `page`; reading its type.
                || unsafe { bindings::ob_page_offline(page.as_ptr()) }
        );
        // INVARIANT: the caller hands back a page this type owned, in the same model.
        Self { page, model }
    }
}

impl Drop for OfflinePage {
    fn drop(&mut self) {
        free_page(self.page, self.model, true);
    }
}

/// A naturally aligned block of pages fresh from the buddy allocator, split
/// into order-0 pages with refcount 1, not yet offline: [`FreshBlock::take`]
/// makes them offline pages. Dropping it frees them.
///
/// Taking is a separate step so that a caller can make the pages offline (for
/// [`RefModel::Frozen`]: skippable, refcount 0) and publish them under a lock
/// that memory hotplug notifiers also take, while the allocation itself, which
/// may reclaim or compact, runs outside that lock.
///
/// # Invariants
///
/// `head` is the first page of a split block of `1 << order` pages, each with
/// refcount 1 and no page type, owned by this value.
pub(crate) struct FreshBlock {
    head: NonNull<bindings::page>,
    order: u32,
    model: RefModel,
}

/// Allocates a naturally aligned block of `1 << order` pages for offline
/// pages of `model`: the proposal's `alloc_offline_pages()`, whose pages become
/// offline pages when the block is taken ([`FreshBlock::take`]). The block is
/// split, so its pages can later be freed (and migrated) one by one.
///
/// Never dips into memory reserves, never retries hard, never warns and never
/// invokes the OOM killer. Movable pages come from movable pageblocks, frozen
/// ones from unmovable pageblocks so that they do not pin movable ones. A
/// block (`order > 0`) of movable pages comes only from free blocks: no
/// reclaim and no compaction, direct or woken in kswapd and kcompactd, since
/// compacting migrates the movable pages of the blocks inflated before and
/// breaks them up; callers fall back to single pages. Compaction never moves
/// frozen pages, so a block of them may compact, which keeps them in whole
/// pageblocks of their own (that memory offlining can take away).
pub(crate) fn alloc_offline_pages(order: u32, model: RefModel) -> Option<FreshBlock> {
    let gfp = match (order, model) {
        (1.., RefModel::Movable) => gfp(model) & !bindings::OB_GFP_RECLAIM,
        _ => gfp(model),
    };
    // SAFETY: plain page allocation; the GFP mask forbids reserves and OOM.
    let head = NonNull::new(unsafe { bindings::ob_alloc_pages(gfp, order) })?;
    if order > 0 {
        // SAFETY: `head` is a freshly allocated, non-compound block of this order.
        unsafe { bindings::split_page(head.as_ptr(), order) };
    }
    // INVARIANT: a split block of order-0 pages with refcount 1, ours.
    Some(FreshBlock { head, order, model })
}

/// Pages fresh from the buddy allocator, not yet offline: a [`FreshBlock`]
/// or [`FreshPages`].
pub(crate) trait Fresh {
    /// Calls `f` with the PFN of every page.
    fn for_each_pfn(&self, f: impl FnMut(u64));

    /// Makes every page an offline page of the allocation's model, passes it
    /// to `f`, and takes it out of the managed page count (see
    /// [Accounting](self#accounting)).
    fn take(self, f: impl FnMut(OfflinePage));
}

/// The GFP mask of offline pages of `model`: no memory reserves, no hard
/// retries, no warnings, no OOM killer; movable pages from movable
/// pageblocks, frozen ones from unmovable pageblocks.
fn gfp(model: RefModel) -> bindings::gfp_t {
    match model {
        RefModel::Movable => bindings::OB_GFP_MOVABLE,
        RefModel::Frozen => bindings::OB_GFP_UNMOVABLE,
    }
}

impl FreshBlock {
    /// The PFNs of the block's pages.
    pub(crate) fn pfns(&self) -> Range<u64> {
        // SAFETY: by the type invariant `head` is a valid page.
        let head = unsafe { bindings::ob_page_to_pfn(self.head.as_ptr()) as u64 };
        head..head + (1u64 << self.order)
    }
}

impl Fresh for FreshBlock {
    fn for_each_pfn(&self, f: impl FnMut(u64)) {
        self.pfns().for_each(f);
    }

    fn take(self, mut f: impl FnMut(OfflinePage)) {
        let nr = 1usize << self.order;
        let (head, model) = (self.head, self.model);
        core::mem::forget(self);
        // SAFETY: the block is ours; the memory map of a buddy block is contiguous.
        unsafe { bindings::adjust_managed_page_count(head.as_ptr(), -(nr as kernel::ffi::c_long)) };
        for i in 0..nr {
            // SAFETY: `i < nr`, inside the block's memory map.
            let page = unsafe { NonNull::new_unchecked(head.as_ptr().add(i)) };
            // SAFETY: the page is ours with refcount 1 and no type (type invariant).
            unsafe { take_page(page, model) };
            // INVARIANT: `take_page` made the page an offline page of the model,
            // and its managed count was adjusted above.
            f(OfflinePage { page, model });
        }
    }
}

impl Drop for FreshBlock {
    fn drop(&mut self) {
        for i in 0..1usize << self.order {
            // SAFETY: by the type invariant the block's pages are ours, split, with
            // refcount 1 and no type: each goes back to the buddy allocator on its own.
            unsafe { bindings::ob_free_page(self.head.as_ptr().add(i)) };
        }
    }
}

/// The most pages asked of the bulk allocator in one call.
const BULK_MAX: usize = 512;

/// Room for the pages of one bulk allocation ([`alloc_offline_pages_bulk`]).
///
/// # Invariants
///
/// Every entry is null between allocations: a [`FreshPages`] that borrows
/// the room owns the pages in it and nulls their entries as they leave.
pub(crate) struct BulkRoom(KVec<*mut bindings::page>);

// SAFETY: the room holds no page between allocations (type invariant), and
// while a `FreshPages` borrows it, its pages are owned exclusively there.
unsafe impl Send for BulkRoom {}

impl BulkRoom {
    /// Room for `n` pages.
    pub(crate) fn new(n: usize) -> Result<Self> {
        // INVARIANT: all null.
        Ok(Self(KVec::from_elem(core::ptr::null_mut(), n, GFP_KERNEL)?))
    }
}

/// Order-0 pages fresh from the buddy allocator's per-CPU lists, taken in
/// one call (`alloc_pages_bulk`), not yet offline: [`Fresh::take`] makes them
/// offline pages. Dropping it frees the pages it still holds.
///
/// # Invariants
///
/// `room[..n]` are distinct order-0 pages with refcount 1 and no page type,
/// owned by this value; the other entries of the room are null.
pub(crate) struct FreshPages<'a> {
    room: &'a mut BulkRoom,
    n: usize,
    model: RefModel,
}

/// Allocates up to `n` order-0 pages (at most the room's size and
/// [`BULK_MAX`]) for offline
/// pages of `model` in one call of the bulk page allocator, which takes them
/// from the per-CPU free lists (and falls back to one page from the buddy);
/// the GFP mask is [`alloc_offline_pages`]'s. `None` if it got none.
pub(crate) fn alloc_offline_pages_bulk(
    room: &mut BulkRoom,
    n: usize,
    model: RefModel,
) -> Option<FreshPages<'_>> {
    // The allocator prepares the pages with preemption off, and checks the
    // watermark plus the count asked for: a few hundred per call keeps both
    // short, as vmalloc does.
    let n = n.min(room.0.len()).min(BULK_MAX);
    // SAFETY: the room's first `n` entries are null (type invariant), which is
    // where the bulk allocator stores the pages it allocates, from the start.
    let got = unsafe { bindings::ob_alloc_pages_bulk(gfp(model), n as u32, room.0.as_mut_ptr()) };
    // INVARIANT: the allocator filled `room[..got]` with fresh order-0 pages.
    (got > 0).then_some(FreshPages {
        room,
        n: got as usize,
        model,
    })
}

impl FreshPages<'_> {
    /// Gives up the pages whose PFN `wanted` refuses now: to `held` if it lies
    /// in the range that comes with it, else back to the buddy allocator.
    /// Returns how many are left.
    pub(crate) fn keep(
        &mut self,
        wanted: impl Fn(u64) -> bool,
        mut held: Option<(&mut HeldPages, &Range<u64>)>,
    ) -> usize {
        let mut kept = 0;
        for i in 0..self.n {
            let page = self.room.0[i];
            self.room.0[i] = ptr::null_mut();
            // SAFETY: a fresh page of ours (type invariant).
            let pfn = unsafe { bindings::ob_page_to_pfn(page) as u64 };
            if wanted(pfn) {
                self.room.0[kept] = page;
                kept += 1;
                continue;
            }
            // SAFETY: a fresh page of ours, given up here: held, or back to the buddy.
            unsafe {
                match held.as_mut() {
                    Some((held, range)) if range.contains(&pfn) => held.hold(page),
                    _ => bindings::ob_free_page(page),
                }
            }
        }
        // INVARIANT: the kept pages are at the front, the other entries null.
        self.n = kept;
        kept
    }
}

/// Fresh pages that an allocation returned where the caller cannot use them
/// (inside a range being emptied), held rather than freed until
/// [`HeldPages::release`]: an order-0 page freed waits at the head of its
/// CPU's free list, and the next allocation would get it straight back.
/// They are linked through their `lru` field: no memory per page.
///
/// # Invariants
///
/// `head` is an initialised list of `n` distinct fresh order-0 pages
/// (refcount 1, no page type) linked through `lru`, owned by this value.
pub(crate) struct HeldPages {
    head: Pin<KBox<Opaque<bindings::list_head>>>,
    n: usize,
}

// SAFETY: the pages are owned exclusively, so they may be freed by another thread.
unsafe impl Send for HeldPages {}

impl HeldPages {
    /// Holds no page yet.
    pub(crate) fn new() -> Result<Self> {
        let head = KBox::pin(Opaque::<bindings::list_head>::uninit(), GFP_KERNEL)?;
        // SAFETY: `head` is pinned, so the self-referencing list head stays valid.
        unsafe { bindings::ob_init_list_head(head.get()) };
        // INVARIANT: an empty, initialised list.
        Ok(Self { head, n: 0 })
    }

    /// How many pages it holds.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// Holds `page`.
    ///
    /// # Safety
    ///
    /// The caller owns `page`, a fresh order-0 page, and gives it up.
    unsafe fn hold(&mut self, page: *mut bindings::page) {
        // SAFETY: the page is ours and fresh: its `lru` is free for its owner.
        unsafe { bindings::ob_page_list_push(self.head.get(), page) };
        // INVARIANT: the caller gave the page up.
        self.n += 1;
    }

    /// Frees every page held.
    pub(crate) fn release(&mut self) {
        let head = self.head.get();
        // SAFETY: `head` is an initialised list of fresh pages linked through `lru`.
        let mut next = unsafe { bindings::ob_page_list_first(head) };
        for _ in 0..self.n {
            let Some(page) = NonNull::new(next) else {
                break;
            };
            // SAFETY: one of the held pages, still ours: read its link before freeing it.
            next = unsafe { bindings::ob_page_list_next(head, page.as_ptr()) };
            // SAFETY: a fresh page of ours with refcount 1: back to the buddy, which
            // overwrites its link.
            unsafe { bindings::ob_free_page(page.as_ptr()) };
        }
        // SAFETY: `head` is pinned; the list is empty again.
        unsafe { bindings::ob_init_list_head(head) };
        // INVARIANT: every page left.
        self.n = 0;
    }
}

impl Drop for HeldPages {
    fn drop(&mut self) {
        self.release();
    }
}

impl Fresh for FreshPages<'_> {
    fn for_each_pfn(&self, mut f: impl FnMut(u64)) {
        for &page in &self.room.0[..self.n] {
            // SAFETY: a fresh page of ours (type invariant).
            f(unsafe { bindings::ob_page_to_pfn(page) as u64 });
        }
    }

    fn take(mut self, mut f: impl FnMut(OfflinePage)) {
        let model = self.model;
        // Once per run of pages in one zone, while every page is still ours.
        let pages = &self.room.0[..self.n];
        let mut first = 0;
        while first < pages.len() {
            let mut end = first + 1;
            while end < pages.len() {
                // SAFETY: fresh pages of ours (type invariant).
                let same_zone = unsafe { bindings::ob_page_same_zone(pages[first], pages[end]) };
                if !same_zone {
                    break;
                }
                end += 1;
            }
            let n = (end - first) as kernel::ffi::c_long;
            // SAFETY: the pages of the run are ours and in `pages[first]`'s zone.
            unsafe { bindings::adjust_managed_page_count(pages[first], -n) };
            first = end;
        }
        for i in 0..self.n {
            let p = self.room.0[i];
            self.room.0[i] = ptr::null_mut();
            // SAFETY: a fresh page of ours (type invariant): non-null.
            let page = unsafe { NonNull::new_unchecked(p) };
            // SAFETY: the page is ours with refcount 1 and no type (type invariant).
            unsafe { take_page(page, model) };
            // INVARIANT: `take_page` made the page an offline page of the model,
            // and its managed count was adjusted above.
            f(OfflinePage { page, model });
        }
        // INVARIANT: every page left; the room is all null again.
        self.n = 0;
    }
}

impl Drop for FreshPages<'_> {
    fn drop(&mut self) {
        for entry in &mut self.room.0[..self.n] {
            let page = *entry;
            *entry = ptr::null_mut();
            // SAFETY: a fresh page of ours with refcount 1 (type invariant).
            unsafe { bindings::ob_free_page(page) };
        }
    }
}

/// Makes an owned page with refcount 1 an offline page of `model`: a frozen
/// one becomes PageOffline with its refcount frozen at 0; a movable one stays
/// as it is until the balloon core enqueues it (see [Refcount
/// models](self#refcount-models)).
///
/// # Safety
///
/// The caller owns `page`, an order-0 page with refcount 1 and no page type.
unsafe fn take_page(page: NonNull<bindings::page>, model: RefModel) {
    if model == RefModel::Frozen {
        let p = page.as_ptr();
        // SAFETY: the caller owns the page and it has no other type.
        unsafe { bindings::ob_set_page_offline(p) };
        // SAFETY: the caller owns the page, with refcount 1.
        unsafe { freeze(p) };
    }
}

/// Freezes the refcount of an owned PageOffline page at 0 and makes it skippable.
///
/// # Safety
///
/// The caller owns `p`, a PageOffline page with refcount 1.
unsafe fn freeze(p: *mut bindings::page) {
    // A PFN walker may hold a speculative reference for a moment: wait it out.
    // SAFETY: the page is ours; freezing fails harmlessly while others hold references.
    while !unsafe { bindings::ob_page_ref_freeze(p, 1) } {
        // SAFETY: plain rescheduling point.
        unsafe { bindings::ob_cond_resched() };
    }
    // SAFETY: the page is ours; owner flags are free for its owner.
    unsafe { bindings::ob_set_page_skippable(p) };
}

/// Gives an offline page back to the buddy allocator and the managed page count.
pub(crate) fn free_offline_page(page: OfflinePage) {
    drop(page);
}

/// Frees offline pages one after the other as [`free_offline_page`] does,
/// but moves the managed page count once per run of pages in one zone rather
/// than page by page. The first page of a run is held back until the run
/// ends, so that the count moves through a page that is still ours.
#[derive(Default)]
pub(crate) struct PageFreer {
    /// The first page of the current run, and the run's length.
    run: Option<(OfflinePage, kernel::ffi::c_long)>,
}

impl PageFreer {
    /// Frees `page`, or holds it back as the first of a new run.
    pub(crate) fn free(&mut self, page: OfflinePage) {
        if page.is_never_onlined() {
            // Onlining counts it.
            free_offline_page(page);
            return;
        }
        if let Some((first, n)) = &mut self.run {
            // SAFETY: both pages are ours.
            let same_zone =
                unsafe { bindings::ob_page_same_zone(first.page.as_ptr(), page.page.as_ptr()) };
            if first.model == page.model && same_zone {
                *n += 1;
                // Counted with the run.
                page.free_uncounted();
                return;
            }
        }
        self.flush();
        self.run = Some((page, 1));
    }

    /// Ends the current run: moves its count and frees its first page.
    fn flush(&mut self) {
        if let Some((first, n)) = self.run.take() {
            // SAFETY: `first` is ours; the run's pages were offline pages of its zone.
            unsafe { bindings::adjust_managed_page_count(first.page.as_ptr(), n) };
            first.free_uncounted();
        }
    }
}

impl OfflinePage {
    /// Frees the page without putting it back in the managed page count,
    /// which the caller ([`PageFreer`]) moves for it.
    fn free_uncounted(self) {
        let (page, model) = (self.page, self.model);
        core::mem::forget(self);
        free_page(page, model, false);
    }
}

impl Drop for PageFreer {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Frees `page`, owned in `model`, putting it back in the managed page count
/// with `count` (unless onlining does); the common path of
/// [`free_offline_page`], `Drop` and [`PageFreer`].
fn free_page(page: NonNull<bindings::page>, model: RefModel, count: bool) {
    let p = page.as_ptr();
    // SAFETY: the page is ours; reading a page flag.
    let poisoned = unsafe { bindings::ob_page_hwpoison(p) };
    if poisoned {
        HWPOISONED.fetch_add(1, Relaxed);
    }
    if model == RefModel::Frozen {
        // SAFETY: the page is ours with a frozen refcount; owner flags are its owner's.
        let never_onlined = unsafe {
            let never_onlined = bindings::ob_page_never_onlined(p);
            bindings::ob_clear_page_never_onlined(p);
            bindings::ob_clear_page_skippable(p);
            never_onlined
        };
        if never_onlined {
            // A PageOffline page of ours, of a memory block that is online or being
            // onlined (then its pageblocks are isolated and the page goes to the
            // isolated free list), never onlined: onlining clears the type, sets the
            // refcount to 0 (it stays frozen there, out of reach of speculative
            // references), adds it to the managed count and frees it to the buddy
            // (which keeps a poisoned one out).
            // SAFETY: a never-onlined page of ours, as said above.
            unsafe { bindings::generic_online_page(p, 0) };
            return;
        }
        if poisoned {
            // SAFETY: the page is ours, its refcount frozen: nobody looks at its type
            // through a reference.
            unsafe { bindings::ob_clear_offline_state(p) };
        }
        // SAFETY: the page is ours with a frozen refcount; give it the buddy's 1 back.
        unsafe { bindings::ob_page_ref_unfreeze(p, 1) };
    } else if poisoned {
        // A PFN walker holding a speculative reference (compaction) may still go by
        // the page's type: wait it out, then drop the type with the refcount frozen.
        // SAFETY: the page is ours, with refcount 1 but for such walkers; frozen,
        // nobody takes a reference until it is unfrozen.
        unsafe {
            while !bindings::ob_page_ref_freeze(p, 1) {
                bindings::ob_cond_resched();
            }
            bindings::ob_clear_offline_state(p);
            bindings::ob_page_ref_unfreeze(p, 1);
        }
    }
    // SAFETY: we own `p` with refcount 1: it goes back to the managed count (if the
    // caller has not counted it) and to the buddy allocator.
    unsafe {
        if count {
            bindings::adjust_managed_page_count(p, 1);
        }
        bindings::ob_free_offline_page(p);
    }
}

/// The order of the blocks [`OfflineBlock`] frees at once: 2 MiB, the
/// blocks the balloon inflates whole by default.
pub(crate) const BLOCK_ORDER: u32 = 9;
/// Pages in a block of [`BLOCK_ORDER`].
pub(crate) const BLOCK_PAGES: usize = 1 << BLOCK_ORDER;
const _: () = assert!(BLOCK_ORDER <= bindings::OB_MAX_PAGE_ORDER);

/// Offline pages of one naturally aligned block of [`BLOCK_PAGES`] on their
/// way back to the buddy allocator: the proposal's `free_offline_pages()` of
/// an order. [`OfflineBlock::take_next`] takes the block's pages in PFN order;
/// dropping the value frees what it took with one managed page count update,
/// the whole block in one buddy free when it took every page, or page by
/// page otherwise.
///
/// # Invariants
///
/// `head` is the first page of a naturally aligned block of [`BLOCK_PAGES`]
/// pages in one zone. The block's first `taken` pages were offline pages of
/// `model` and are owned by this value. The head is still one; every other
/// taken page has no page type, is not skippable, and has a refcount of 0
/// that nobody else can raise.
pub(crate) struct OfflineBlock {
    head: NonNull<bindings::page>,
    model: RefModel,
    taken: usize,
}

impl OfflineBlock {
    /// The block whose first page has PFN `head_pfn`, for offline pages of
    /// `model`; `None` if that PFN is not aligned to the block, the block
    /// spans two zones, or the kernel tracks the origin of every page (page
    /// owner, allocation profiling: a block whose pages came from several
    /// allocations cannot be accounted as one); then its pages go back one by
    /// one.
    ///
    /// # Safety
    ///
    /// Every page of the block must be a valid page (e.g. the caller owns
    /// all of them as offline pages).
    pub(crate) unsafe fn new(head_pfn: u64, model: RefModel) -> Option<Self> {
        // Allocation profiling can be switched at run time (sysctl vm.mem_profiling).
        let tracked = PAGE_OWNER_ON.load(Relaxed)
            // SAFETY: reads kernel state only.
            || unsafe { bindings::ob_alloc_profiling_on() };
        if head_pfn % BLOCK_PAGES as u64 != 0 || tracked {
            return None;
        }
        // SAFETY: the caller vouches for every page of the block.
        let (head, last) = unsafe {
            let head = bindings::ob_pfn_to_page(head_pfn as kernel::ffi::c_ulong);
            (
                head,
                bindings::ob_pfn_to_page(
                    (head_pfn + BLOCK_PAGES as u64 - 1) as kernel::ffi::c_ulong,
                ),
            )
        };
        // SAFETY: both are valid pages (the caller's contract).
        if !unsafe { bindings::ob_page_same_zone(head, last) } {
            return None;
        }
        // INVARIANT: an aligned block in one zone, nothing taken yet.
        Some(Self {
            head: NonNull::new(head)?,
            model,
            taken: 0,
        })
    }

    /// Takes the block's next page (in PFN order), which the caller hands over
    /// by its place in the block; gives it back when a PFN walker holds a
    /// speculative reference to it so that its refcount cannot be frozen, or
    /// when it is hardware-poisoned (the buddy keeps such a page out only
    /// when it is freed alone) or never-onlined. Then the block will go back
    /// page by page.
    ///
    /// # Safety
    ///
    /// The block has not taken all its pages, and the caller owns its next
    /// one, PFN `head + taken`, as an offline page of the block's model (e.g.
    /// given up by [`OfflinePage::into_raw`]) and gives it up.
    pub(crate) unsafe fn take_next(&mut self) -> Result<(), OfflinePage> {
        // INVARIANT: the caller owned the page as an offline page of `model`.
        let page = OfflinePage {
            // SAFETY: `taken < BLOCK_PAGES` (contract): inside the block, whose memory
            // map is contiguous (a block of at most the buddy's largest order).
            page: unsafe { NonNull::new_unchecked(self.head.as_ptr().add(self.taken)) },
            model: self.model,
        };
        // SAFETY: the page is ours; reading a page flag.
        if unsafe { bindings::ob_page_hwpoison(page.page.as_ptr()) }
            // A never-onlined page (only frozen ones can be) goes back through
            // `generic_online_page()`.
            || (self.model == RefModel::Frozen && page.is_never_onlined())
        {
            return Err(page);
        }
        let p = page.page.as_ptr();
        if self.taken > 0 {
            // A movable page's refcount of 1 goes to 0 unless someone holds another.
            // SAFETY: we own the page; freezing fails harmlessly while others hold references.
            if self.model == RefModel::Movable && !unsafe { bindings::ob_page_ref_freeze(p, 1) } {
                return Err(page);
            }
            // PFN walkers that read a page's type and flags without a reference
            // (compaction, offlining, /proc/kpageflags) skip or retry a page of
            // refcount 0.
            // SAFETY: we own the page, whose refcount is 0 now: nobody can take a
            // reference to it (and walkers skip it, see above). Only frozen pages are
            // skippable (type invariant of `OfflinePage`).
            unsafe {
                if self.model == RefModel::Frozen {
                    bindings::ob_clear_page_skippable(p);
                }
                bindings::ob_offline_block_tail_prepare(p);
            }
        }
        core::mem::forget(page);
        // INVARIANT: the page is owned here and, unless it is the head, prepared as the
        // invariant says.
        self.taken += 1;
        Ok(())
    }

    /// Whether the block took all its pages: dropping it frees them in one go.
    pub(crate) fn is_whole(&self) -> bool {
        self.taken == BLOCK_PAGES
    }
}

impl Drop for OfflineBlock {
    fn drop(&mut self) {
        let head = self.head.as_ptr();
        if self.taken > 0 {
            // Once for all the pages taken, whole block or not.
            // SAFETY: the taken pages are offline pages of ours, out of the managed count,
            // all in the block's one zone (type invariant).
            unsafe { bindings::adjust_managed_page_count(head, self.taken as kernel::ffi::c_long) };
        }
        if self.is_whole() {
            // SAFETY: the whole block is ours: the head an offline page of `model`,
            // every other page prepared for a free of the block's order (type
            // invariant). The head gets the buddy's refcount of 1 back.
            unsafe {
                if self.model == RefModel::Frozen {
                    bindings::ob_clear_page_skippable(head);
                    bindings::ob_page_ref_unfreeze(head, 1);
                }
                bindings::ob_free_offline_block(head, BLOCK_ORDER);
            }
            return;
        }
        for i in 0..self.taken {
            // SAFETY: `i < taken`, inside the block's memory map.
            let page = unsafe { NonNull::new_unchecked(head.add(i)) };
            if i == 0 {
                // Counted above (`take_next` refuses never-onlined pages).
                free_page(page, self.model, false);
                continue;
            }
            let p = page.as_ptr();
            // SAFETY: a prepared page of ours (type invariant): it gets the buddy's
            // refcount of 1 back and goes back on its own.
            unsafe {
                bindings::ob_page_ref_unfreeze(p, 1);
                bindings::ob_free_page(p);
            }
        }
    }
}

/// Moves the managed page count of a balloon page migrated from `old` to
/// `new` to `new`'s zone, if that is another one: `new` leaves the count and
/// `old`, about to be freed by the migration core, comes back.
///
/// # Safety
///
/// `old` is an offline page of ours, out of the managed count, whose place
/// `new` (a valid page) takes.
pub(crate) unsafe fn move_managed_count(new: *mut bindings::page, old: *mut bindings::page) {
    // SAFETY: valid pages (contract); `adjust_managed_page_count` works in any context.
    unsafe {
        if !bindings::ob_page_same_zone(new, old) {
            bindings::adjust_managed_page_count(old, 1);
            bindings::adjust_managed_page_count(new, -1);
        }
    }
}
