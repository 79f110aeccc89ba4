// SPDX-License-Identifier: GPL-2.0

//! A batch of offline pages on their way back to the buddy allocator, held
//! by PFN in preallocated memory: no memory per page, nothing in `struct page`.

use crate::bindings;
use crate::offline_page::{OfflineBlock, OfflinePage, PageFreer, RefModel, BLOCK_PAGES};
use kernel::alloc::KVVec;
use kernel::ffi;
use kernel::prelude::*;

/// Up to a fixed number of offline pages of one refcount model, by PFN.
///
/// # Invariants
///
/// `pfns[..len]` are the distinct PFNs of offline pages of model `model`,
/// owned by the batch, `never_onlined` of them never-onlined; `last` is the
/// address of the page of `pfns[len - 1]`.
pub(crate) struct PageBatch {
    pfns: KVVec<u64>,
    len: usize,
    last: usize,
    never_onlined: usize,
    model: RefModel,
}

impl PageBatch {
    /// Room for `n` pages of `model` (`8 * n` bytes, from vmalloc if kmalloc
    /// has no such block).
    pub(crate) fn new(n: usize, model: RefModel) -> Result<Self> {
        // INVARIANT: empty.
        Ok(Self {
            pfns: KVVec::from_elem(0, n, GFP_KERNEL)?,
            len: 0,
            last: 0,
            never_onlined: 0,
            model,
        })
    }

    /// How many of the batch's pages are never-onlined.
    pub(crate) fn never_onlined(&self) -> usize {
        self.never_onlined
    }

    /// Pages in the batch.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch has room for no more page.
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.pfns.len()
    }

    /// The PFNs of the batch's pages.
    pub(crate) fn pfns(&self) -> &[u64] {
        &self.pfns[..self.len]
    }

    /// Adds `page`; gives it back when the batch is full.
    pub(crate) fn push(&mut self, page: OfflinePage) -> Result<(), OfflinePage> {
        debug_assert_eq!(page.model(), self.model);
        if self.is_full() {
            return Err(page);
        }
        // Pages come in runs of neighbours (a block from the balloon core list or
        // the frozen set): each PFN follows from the one before.
        self.pfns[self.len] = match self.len.checked_sub(1) {
            Some(prev) => page.pfn_after(self.last as *const _, self.pfns[prev]),
            None => page.pfn(),
        };
        // Only frozen pages can be never-onlined.
        if self.model == RefModel::Frozen {
            self.never_onlined += usize::from(page.is_never_onlined());
        }
        self.last = page.into_raw() as usize;
        // INVARIANT: the batch owns the page now, under its PFN, the last one.
        self.len += 1;
        Ok(())
    }

    /// Frees every page to the buddy allocator: each naturally aligned block
    /// of [`BLOCK_PAGES`] that the batch holds whole goes back in one free
    /// ([`OfflineBlock`]), the other pages one by one. Returns how many
    /// blocks went back whole.
    ///
    /// A first pass finds the blocks that come as a run of consecutive PFNs
    /// in either direction (the order in which the frozen set and, mostly,
    /// the balloon core list hand out the pages of a block). If what is left
    /// could still hold a block, it is sorted and searched again: the core
    /// list hands back a block that inflation took over two batches in two
    /// runs, apart, whenever the deflation's dequeues do not start where the
    /// inflate batches did.
    pub(crate) fn free_all(&mut self) -> usize {
        let (len, model) = (self.len, self.model);
        // INVARIANT: the pages below leave the batch, which owns none from here.
        (self.len, self.never_onlined) = (0, 0);
        // Pages going back one by one: the managed page count moves per run.
        let mut freer = PageFreer::default();
        // SAFETY: the batch owned the pages of `pfns[..len]` (type invariant) and
        // hands them over; it keeps those left, under `pfns[..left]`.
        let (whole, left) = unsafe { free_blocks(&mut self.pfns[..len], model, &mut freer, true) };
        let left = &mut self.pfns[..left];
        if left.len() >= BLOCK_PAGES {
            sort_pfns(left);
        }
        // SAFETY: the pages of `left` are the batch's (above), handed over now.
        whole + unsafe { free_blocks(left, model, &mut freer, false) }.0
    }
}

/// Sorts `pfns` in place with the kernel's `sort()`. (Rust's
/// `sort_unstable` of rustc 1.85, which Debian's 7.3 kernel is built with,
/// calls `panic_on_ord_violation`, which 7.3's objtool does not know to be
/// noreturn: building against that kernel warned that the sort "falls
/// through to next function".)
fn sort_pfns(pfns: &mut [u64]) {
    /// `sort()`'s comparison of two PFNs.
    ///
    /// # Safety
    ///
    /// `a` and `b` point to elements of the slice being sorted.
    unsafe extern "C" fn cmp(a: *const ffi::c_void, b: *const ffi::c_void) -> ffi::c_int {
        // SAFETY: `sort()` passes pointers to two elements of the `u64` slice.
        let (a, b) = unsafe { (*a.cast::<u64>(), *b.cast::<u64>()) };
        a.cmp(&b) as ffi::c_int
    }
    // SAFETY: `pfns` is a valid, exclusively borrowed slice of `u64`s, which the
    // default swap of 8-byte elements exchanges; `cmp` compares two of them.
    unsafe {
        bindings::sort(
            pfns.as_mut_ptr().cast(),
            pfns.len(),
            core::mem::size_of::<u64>(),
            Some(cmp),
            None,
        )
    };
}

/// Frees the pages of `pfns`: each naturally aligned block of
/// [`BLOCK_PAGES`] that comes as a run of consecutive PFNs in one free, the
/// other pages one by one through `freer`, or, with `keep`, not at all: the
/// caller keeps them, their PFNs moved to the front of `pfns`. Returns how
/// many blocks went back whole, and how many pages the caller keeps.
///
/// # Safety
///
/// The caller owns the pages of `pfns`, distinct offline pages of `model`,
/// and hands them over; with `keep` it owns again those of the PFNs the
/// call leaves at the front.
unsafe fn free_blocks(
    pfns: &mut [u64],
    model: RefModel,
    freer: &mut PageFreer,
    keep: bool,
) -> (usize, usize) {
    let page = |pfn: u64| {
        // SAFETY: the caller handed the page over under its PFN (the function's
        // contract), and every PFN of `pfns` is visited once below, its page either
        // freed here or kept.
        unsafe { OfflinePage::from_pfn(pfn, model) }
    };
    let (mut whole, mut kept, mut i) = (0, 0, 0);
    while i < pfns.len() {
        let Some(head) = block_run(&pfns[i..]) else {
            if keep {
                // `kept <= i`: the entries from `i` on are still unvisited.
                pfns[kept] = pfns[i];
                kept += 1;
            } else {
                freer.free(page(pfns[i]));
            }
            i += 1;
            continue;
        };
        i += BLOCK_PAGES;
        let block_pfns = head..head + BLOCK_PAGES as u64;
        // SAFETY: every page of the block is in `pfns`, hence a valid page.
        let Some(mut block) = (unsafe { OfflineBlock::new(head, model) }) else {
            block_pfns.for_each(|pfn| freer.free(page(pfn)));
            continue;
        };
        // In PFN order, as the block takes them.
        for pfn in block_pfns.clone() {
            // SAFETY: the block has taken the pages before `pfn`, and the caller
            // handed the page of `pfn` over, visited once.
            if let Err(refused) = unsafe { block.take_next() } {
                // The block goes back page by page: this one and the rest now,
                // the ones it took when it drops.
                freer.free(refused);
                (pfn + 1..block_pfns.end).for_each(|pfn| freer.free(page(pfn)));
                break;
            }
        }
        whole += usize::from(block.is_whole());
    }
    (whole, kept)
}

/// The first PFN of the naturally aligned block of [`BLOCK_PAGES`] whose
/// pages are the first entries of `pfns`, in ascending or descending order.
fn block_run(pfns: &[u64]) -> Option<u64> {
    let run = pfns.get(..BLOCK_PAGES)?;
    let (first, last) = (run[0], run[BLOCK_PAGES - 1]);
    // PFNs are far below 2^64: no overflow.
    let span = BLOCK_PAGES as u64 - 1;
    let aligned = |head: u64| head % BLOCK_PAGES as u64 == 0;
    // The ends first: a run of consecutive pages that is no block costs a
    // look at its ends for each of its pages, not a walk over 512.
    if aligned(first) && last == first + span {
        run.iter()
            .zip(first..)
            .all(|(&pfn, want)| pfn == want)
            .then_some(first)
    } else if aligned(last) && first == last + span {
        run.iter()
            .rev()
            .zip(last..)
            .all(|(&pfn, want)| pfn == want)
            .then_some(last)
    } else {
        None
    }
}

impl Drop for PageBatch {
    fn drop(&mut self) {
        self.free_all();
    }
}
