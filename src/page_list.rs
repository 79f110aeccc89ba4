// SPDX-License-Identifier: GPL-2.0

//! A list of offline pages linked through `page->lru`: no memory per page.

use crate::bindings;
use crate::offline_page::{self, OfflineBlock, OfflinePage, RefModel, BLOCK_PAGES};
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Offline pages of one refcount model, linked through their `lru` field.
///
/// # Invariants
///
/// `head` is an initialised `list_head` whose entries are `lru` fields of
/// offline pages of model `model`, each owned by this list, `len` of them.
pub(crate) struct PageList {
    head: Pin<KBox<Opaque<bindings::list_head>>>,
    model: RefModel,
    len: usize,
}

// SAFETY: the list owns its pages, which may be handed to another thread.
unsafe impl Send for PageList {}

impl PageList {
    /// Creates an empty list of pages of `model`.
    pub(crate) fn new(model: RefModel) -> Result<Self> {
        let head = KBox::pin(Opaque::<bindings::list_head>::uninit(), GFP_KERNEL)?;
        // SAFETY: `head` is pinned, so the self-referencing list head stays valid.
        unsafe { bindings::ob_init_list_head(head.get()) };
        // INVARIANT: an empty, initialised list.
        Ok(Self {
            head,
            model,
            len: 0,
        })
    }

    /// Number of pages on the list.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds `page` at the front.
    pub(crate) fn push(&mut self, page: OfflinePage) {
        debug_assert_eq!(page.model(), self.model);
        // SAFETY: the page is owned and not on any list; `head` is initialised.
        unsafe { bindings::ob_page_list_push(self.head.get(), page.into_raw()) };
        // INVARIANT: the list now owns one more page.
        self.len += 1;
    }

    /// Removes the front page.
    pub(crate) fn pop(&mut self) -> Option<OfflinePage> {
        // SAFETY: `head` is an initialised list of pages linked through `lru`.
        let page = NonNull::new(unsafe { bindings::ob_page_list_pop(self.head.get()) })?;
        // INVARIANT: one page less is owned by the list.
        self.len -= 1;
        // SAFETY: the list owned the page, in model `self.model`, and just gave it up.
        Some(unsafe { OfflinePage::from_raw(page, self.model) })
    }

    /// Calls `f` with the PFN of every page on the list, front to back.
    pub(crate) fn for_each_pfn(&self, mut f: impl FnMut(u64)) {
        // SAFETY: `head` is an initialised list of pages linked through `lru`.
        let mut page = unsafe { bindings::ob_page_list_first(self.head.get()) };
        while !page.is_null() {
            // SAFETY: `page` is on the list, so it is a valid page owned by it.
            unsafe {
                f(bindings::ob_page_to_pfn(page) as u64);
                page = bindings::ob_page_list_next(self.head.get(), page);
            }
        }
    }

    /// Removes `page` from the list.
    ///
    /// # Safety
    ///
    /// `page` must be on this list.
    unsafe fn remove(&mut self, page: NonNull<bindings::page>) -> OfflinePage {
        // SAFETY: the page is on this list (the caller's contract), linked through `lru`.
        unsafe { bindings::ob_page_list_del(page.as_ptr()) };
        // INVARIANT: one page less is owned by the list.
        self.len -= 1;
        // SAFETY: the list owned the page, in model `self.model`, and just gave it up.
        unsafe { OfflinePage::from_raw(page, self.model) }
    }

    /// Frees every page of the list to the buddy allocator: each naturally
    /// aligned block of [`BLOCK_PAGES`] that the list holds whole goes back in
    /// one free ([`OfflineBlock`]), the other pages one by one. `pfns` must
    /// hold the PFNs of exactly the list's pages (see [`whole_blocks`]); it is
    /// used as scratch space. Returns how many blocks went back whole.
    pub(crate) fn free_all(&mut self, pfns: &mut [u64]) -> usize {
        debug_assert_eq!(pfns.len(), self.len);
        let blocks = whole_blocks(pfns);
        let mut whole = 0;
        for &head_pfn in &pfns[..blocks] {
            // SAFETY: every page of the block is on this list, hence ours and valid.
            let Some(mut block) = (unsafe { OfflineBlock::new(head_pfn, self.model) }) else {
                continue;
            };
            for pfn in head_pfn..head_pfn + BLOCK_PAGES as u64 {
                // SAFETY: the page's PFN came with the list's pages, so it is on the list.
                let page = unsafe {
                    self.remove(NonNull::new_unchecked(bindings::ob_pfn_to_page(
                        pfn as kernel::ffi::c_ulong,
                    )))
                };
                if let Err(page) = block.add(page) {
                    // The block goes back page by page: this one now, the ones it took
                    // when it drops, the rest with the list.
                    offline_page::free_offline_page(page);
                    break;
                }
            }
            whole += usize::from(block.is_whole());
        }
        while let Some(page) = self.pop() {
            offline_page::free_offline_page(page);
        }
        whole
    }

    /// Moves every page onto the balloon core list of `b_dev_info`,
    /// which owns them from then on. Returns how many there were.
    ///
    /// # Safety
    ///
    /// `b_dev_info` must be a live, initialised balloon device, and the pages
    /// movable offline pages that nobody has locked.
    pub(crate) unsafe fn enqueue_into(
        &mut self,
        b_dev_info: *mut bindings::balloon_dev_info,
    ) -> usize {
        // SAFETY: per the function's contract; the core takes every page off our list.
        let n = unsafe { bindings::balloon_page_list_enqueue(b_dev_info, self.head.get()) };
        // INVARIANT: the list is empty now.
        self.len -= n;
        n
    }

    /// Takes up to `n` pages off the balloon core list of `b_dev_info`
    /// (skipping locked and isolated ones) onto this list. Returns how many.
    ///
    /// # Safety
    ///
    /// `b_dev_info` must be a live, initialised balloon device whose pages are
    /// offline pages of this list's model, owned by whoever owns the device.
    pub(crate) unsafe fn dequeue_from(
        &mut self,
        b_dev_info: *mut bindings::balloon_dev_info,
        n: usize,
    ) -> usize {
        // SAFETY: per the function's contract; dequeued pages are finalized, refcount 1.
        let got = unsafe { bindings::balloon_page_list_dequeue(b_dev_info, self.head.get(), n) };
        // INVARIANT: the dequeued pages are ours now.
        self.len += got;
        got
    }
}

impl Drop for PageList {
    fn drop(&mut self) {
        while let Some(page) = self.pop() {
            drop(page);
        }
    }
}

/// Moves the first PFN of every naturally aligned block of [`BLOCK_PAGES`]
/// whose PFNs `pfns` (without duplicates) holds as one run of
/// [`BLOCK_PAGES`] consecutive entries, in any order, to the front of `pfns`,
/// and returns how many there are. Blocks inflated whole come back as such
/// runs; a block spread over the batch goes back page by page.
fn whole_blocks(pfns: &mut [u64]) -> usize {
    let (mut blocks, mut i) = (0, 0);
    while i + BLOCK_PAGES <= pfns.len() {
        let block = pfns[i] / BLOCK_PAGES as u64;
        // Distinct PFNs of one block, as many as it has pages, are all of them.
        // Otherwise no run can start before the first PFN of another block.
        match pfns[i + 1..i + BLOCK_PAGES]
            .iter()
            .position(|&pfn| pfn / BLOCK_PAGES as u64 != block)
        {
            None => {
                pfns[blocks] = block * BLOCK_PAGES as u64;
                blocks += 1;
                i += BLOCK_PAGES;
            }
            Some(j) => i += 1 + j,
        }
    }
    blocks
}
