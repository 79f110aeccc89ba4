// SPDX-License-Identifier: GPL-2.0

//! Migration by PFN range: the balloon replaces its frozen pages in a 2 MiB
//! block with pages elsewhere.
//!
//! Balloon pages hold nothing, so moving one is replacing it: take a fresh
//! page outside the block, tell the host it was inflated and that the old
//! one was deflated, free the old one. The interface follows Matthew
//! Wilcox's suggestion for non-lru page migration (a base PFN and a bitmap of
//! the PFNs to move): [`Balloon::evacuate_chunk`]. Memory offlining uses it
//! for frozen pages on `MEM_GOING_OFFLINE` ([`Balloon::evacuate_offlining`]),
//! and debugfs `evacuate` for any PFN range ([`Balloon::evacuate`]).

use super::{Balloon, Pfns};
use crate::bindings;
use crate::compat::Stopwatch;
use crate::frozen_set::{ChunkBits, CHUNK_PAGES, CHUNK_WORDS};
use crate::offline_page::{self, BulkRoom, Fresh, HeldPages, RefModel, BLOCK_ORDER, BLOCK_PAGES};
use crate::page_batch::PageBatch;
use core::ops::Range;
use core::sync::atomic::Ordering::Relaxed;
use kernel::prelude::*;

/// The most bulk allocations in a row that neither give a replacement nor
/// hold a page of the range: all they got lay above the host's limit, and
/// was given back.
const FUTILE_ATTEMPTS: usize = 64;

/// The scratch space of an evacuation: room for the replacement pages, their
/// PFNs, the pages replaced, and the fresh pages held while it looks for
/// replacements outside the range.
pub(crate) struct Evacuating {
    bulk: BulkRoom,
    pub(super) new: Pfns,
    old: PageBatch,
    held: HeldPages,
}

impl Evacuating {
    /// Scratch space for a balloon that may hold frozen pages (`frozen`;
    /// none otherwise: movable pages move by migration).
    pub(crate) fn new(frozen: bool) -> Result<Self> {
        let n = if frozen { BLOCK_PAGES } else { 0 };
        Ok(Self {
            bulk: BulkRoom::new(n)?,
            // Also the pages kept from one chunk of a memory block being onlined.
            new: Pfns::new(n << (bindings::OB_MAX_PAGE_ORDER - BLOCK_ORDER))?,
            old: PageBatch::new(n, RefModel::Frozen)?,
            held: HeldPages::new()?,
        })
    }
}

/// The error of [`Balloon::evacuate`] for a balloon of movable pages: `EOPNOTSUPP`.
pub(crate) fn evacuate_unsupported() -> Error {
    Error::from_errno(-bindings::OB_EOPNOTSUPP)
}

/// The bits of the 2 MiB block at `base` that `pfns` covers.
fn mask_of(base: u64, pfns: &Range<u64>) -> ChunkBits {
    let mut mask = ChunkBits::default();
    for pfn in pfns.start.max(base)..pfns.end.min(base + CHUNK_PAGES) {
        let bit = (pfn - base) as usize;
        mask[bit / 64] |= 1 << (bit % 64);
    }
    mask
}

impl Balloon {
    /// Replaces the balloon's frozen pages in `pfns` with pages outside each
    /// 2 MiB block of the range, so that the range's memory is free in the
    /// buddy allocator afterwards. Returns how many pages moved; fails with
    /// the first error of [`Self::evacuate_chunk`], or `EOPNOTSUPP` for
    /// movable pages (compaction and offlining migrate those).
    pub(crate) fn evacuate(&self, pfns: Range<u64>) -> Result<usize> {
        if self.config.model != RefModel::Frozen {
            return Err(evacuate_unsupported());
        }
        let moved = self.evacuate_range(&pfns);
        self.release_held();
        moved
    }

    /// [`Self::evacuate`] of a balloon of frozen pages, but for the pages it
    /// holds at the end.
    fn evacuate_range(&self, pfns: &Range<u64>) -> Result<usize> {
        // Replacements come from outside the whole range, in 2 MiB blocks.
        let avoid = pfns.start / CHUNK_PAGES * CHUNK_PAGES
            ..pfns.end.div_ceil(CHUNK_PAGES).saturating_mul(CHUNK_PAGES);
        let mut moved = 0;
        let mut from = pfns.start / CHUNK_PAGES;
        while let Some(index) = self.next_frozen_chunk(from, pfns) {
            let base = index * CHUNK_PAGES;
            // Short of memory a round may move only some pages: another round
            // moves more, or fails.
            loop {
                match self.evacuate_chunk(base, &mask_of(base, pfns), &avoid, false)? {
                    0 => break,
                    n => moved += n,
                }
            }
            from = index + 1;
        }
        Ok(moved)
    }

    /// The first chunk of the frozen set at or after `from` that meets `pfns`.
    fn next_frozen_chunk(&self, from: u64, pfns: &Range<u64>) -> Option<u64> {
        let frozen = self.frozen.lock();
        frozen
            .set
            .next_chunk(from)
            .filter(|&index| index * CHUNK_PAGES < pfns.end)
    }

    /// The memory block `pfns` is going offline: moves its frozen pages out,
    /// as far as memory allows, waiting up to a second for an inflation
    /// batch in flight to be told. Those left stay skippable and go offline
    /// with the block ([`Self::memory_offline`]).
    pub(super) fn evacuate_offlining(&self, pfns: Range<u64>) {
        let (mut moved, mut from) = (0, pfns.start / CHUNK_PAGES);
        let mut error = None;
        while let Some(index) = self.next_frozen_chunk(from, &pfns) {
            let base = index * CHUNK_PAGES;
            let mut waited = 0;
            loop {
                match self.evacuate_chunk(base, &[u64::MAX; CHUNK_WORDS], &pfns, true) {
                    Ok(0) => break,
                    Ok(n) => moved += n,
                    Err(e) if e == EBUSY && waited < 1000 => {
                        // SAFETY: plain sleep in process context.
                        unsafe { bindings::msleep(10) };
                        waited += 10;
                    }
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            from = index + 1;
        }
        self.release_held();
        let left = self.frozen.lock().set.count_range(&pfns);
        if let Some(e) = error {
            pr_info!(
                "memory going offline, PFNs {:#x}..{:#x}: {} frozen pages moved out, {} go offline with it ({:?})\n",
                pfns.start,
                pfns.end,
                moved,
                left,
                e
            );
        } else if moved > 0 {
            pr_info!(
                "memory going offline, PFNs {:#x}..{:#x}: {} frozen pages moved out\n",
                pfns.start,
                pfns.end,
                moved
            );
        }
    }

    /// The range API: replaces each frozen page of the balloon in the 2 MiB
    /// block at PFN `base` whose bit is set in `mask` with a page outside
    /// `avoid` (which holds the block), telling the host (the new page inflated, the old one
    /// deflated), and frees the old pages (a whole block in one free).
    /// Returns how many pages moved, possibly fewer than asked when memory
    /// is short; fails with `ENOMEM` if no replacement could be had,
    /// `EBUSY` while pages of the block are in an inflation batch the host
    /// has not been told about or (unless `offlining`: the caller is the
    /// memory notifier of that offlining) in a memory block going offline,
    /// and `EAGAIN` while the host is down.
    pub(crate) fn evacuate_chunk(
        &self,
        base: u64,
        mask: &ChunkBits,
        avoid: &Range<u64>,
        offlining: bool,
    ) -> Result<usize> {
        debug_assert!(base % CHUNK_PAGES == 0 && avoid.contains(&base));
        let start = Stopwatch::start();
        let mut evacuating = self.evacuating.lock();
        let Evacuating {
            bulk,
            new,
            old,
            held,
        } = &mut *evacuating;
        let index = base / CHUNK_PAGES;
        let told = self.frozen.lock().set.told(index).ok_or(EBUSY)?;
        let want: usize = told
            .iter()
            .zip(mask)
            .map(|(t, m)| (t & m).count_ones() as usize)
            .sum();
        if want == 0 {
            return Ok(0);
        }
        // Replacements outside the block, below the host's limit, allocated
        // holding no lock of the balloon but this scratch space.
        let limit = self.host.pfn_limit();
        let outside = |pfn: u64| !avoid.contains(&pfn) && pfn < limit;
        if want == BLOCK_PAGES {
            let fresh = offline_page::alloc_offline_pages(BLOCK_ORDER, RefModel::Frozen)
                .filter(|fresh| outside(fresh.pfns().start) && fresh.pfns().end <= limit);
            if let Some(fresh) = fresh {
                return self.replace(index, mask, fresh, new, old, offlining, start);
            }
        }
        // The pages that the previous chunks' evacuation freed one by one
        // wait at the head of the CPU's free list, and the bulk allocator
        // hands them out first. Pages of the range are held until the whole
        // range is done ([`HeldPages`]), so that later allocations get other
        // ones; each is a distinct page of the range, so there are at most
        // as many as the range has pages before no allocation can return
        // one.
        let range_pages = (avoid.end - avoid.start) as usize;
        let mut futile = 0;
        while held.len() < range_pages && futile < FUTILE_ATTEMPTS {
            let held_before = held.len();
            let mut fresh = offline_page::alloc_offline_pages_bulk(bulk, want, RefModel::Frozen)
                .ok_or(ENOMEM)?;
            if fresh.keep(outside, Some((&mut *held, avoid))) > 0 {
                return self.replace(index, mask, fresh, new, old, offlining, start);
            }
            if held.len() == held_before {
                futile += 1;
            }
        }
        Err(ENOMEM)
    }

    /// Frees the pages held while looking for replacements outside a range,
    /// once the range is done.
    fn release_held(&self) {
        self.evacuating.lock().held.release();
    }

    /// Puts the `fresh` pages in the frozen set in place of as many pages of
    /// chunk `index` in `mask`; see [`Self::evacuate_chunk`].
    #[allow(clippy::too_many_arguments)]
    fn replace(
        &self,
        index: u64,
        mask: &ChunkBits,
        fresh: impl Fresh,
        new: &mut Pfns,
        old: &mut PageBatch,
        offlining: bool,
        start: Stopwatch,
    ) -> Result<usize> {
        let Some(host) = self.lock_host() else {
            return Err(EAGAIN);
        };
        let chunk = index * CHUNK_PAGES..(index + 1) * CHUNK_PAGES;
        // Held until the old pages are freed, as when deflating.
        let mut frozen = self.frozen.lock();
        let busy = frozen
            .offlining
            .as_ref()
            .is_some_and(|r| r.start < chunk.end && chunk.start < r.end);
        if busy && !offlining {
            return Err(EBUSY);
        }
        // After `shutdown` emptied the balloon nothing may join it.
        if self.stopping.load(Relaxed) {
            return Err(EAGAIN);
        }
        if !frozen.set.reserve_for(&fresh) {
            return Err(ENOMEM);
        }
        // Every new page in the set is told as inflated, so that a page
        // deflated since the count above leaves the balloon one page larger
        // for a while rather than a page short.
        fresh.take(|page| {
            let pfn = page.pfn();
            // Cannot fail after `reserve_for`.
            if frozen.set.insert(page, false).is_ok() {
                new.push(pfn);
            }
        });
        frozen.set.take_from(index, mask, new.len(), &mut |page| {
            let _ = old.push(page);
        });
        let (n_new, n_old) = (new.len() as u64, old.len() as u64);
        let never_onlined = old.never_onlined() as u64;
        self.host.exchange(new.as_slice(), old.pfns());
        self.stats.frozen_pages.fetch_add(n_new, Relaxed);
        self.stats.frozen_gone(n_old, never_onlined);
        if n_new != n_old {
            self.host.report_size(self.stats.inflated());
        }
        drop(host);
        old.free_all();
        new.clear();
        drop(frozen);
        if n_new != n_old {
            // The balloon is off its target: let the worker see to it.
            self.kick_shared();
        }
        self.account(
            &self.stats.evacuated_total,
            &self.stats.evacuate_ns,
            n_old as usize,
            start,
        );
        Ok(n_old as usize)
    }
}
