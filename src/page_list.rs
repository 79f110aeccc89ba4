// SPDX-License-Identifier: GPL-2.0

//! A list of offline pages linked through `page->lru`: no memory per page.

use crate::bindings;
use crate::offline_page::{OfflinePage, RefModel};
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

    /// Adds `page` at the front.
    pub(crate) fn push(&mut self, page: OfflinePage) {
        debug_assert_eq!(page.model(), self.model);
        // SAFETY: the page is owned and not on any list; `head` is initialised.
        unsafe { bindings::ob_page_list_push(self.head.get(), page.into_raw()) };
        // INVARIANT: the list now owns one more page.
        self.len += 1;
    }

    /// Hands every page to `f`, front to back, and leaves the list empty. The
    /// walk reads each page's link once and writes none: the pages keep their
    /// stale links, which whoever frees them overwrites (the buddy's lists;
    /// [`OfflineBlock`](crate::offline_page::OfflineBlock) for the tail pages
    /// of a block, which the buddy leaves alone).
    pub(crate) fn drain(&mut self, mut f: impl FnMut(OfflinePage)) {
        let head = self.head.get();
        // SAFETY: `head` is an initialised list of pages linked through `lru`.
        let mut next = unsafe { bindings::ob_page_list_first(head) };
        // SAFETY: `head` is pinned; the walk below needs only its address.
        unsafe { bindings::ob_init_list_head(head) };
        // INVARIANT: the list is empty; the pages are handed out below.
        let n = core::mem::replace(&mut self.len, 0);
        for _ in 0..n {
            let Some(page) = NonNull::new(next) else {
                break;
            };
            // The last page still links to `head`. Read before `f` owns the page.
            // SAFETY: `page` is one of the list's pages, which we still own.
            next = unsafe { bindings::ob_page_list_next(head, page.as_ptr()) };
            // SAFETY: the list owned the page, in model `self.model`, and gives it up.
            f(unsafe { OfflinePage::from_raw(page, self.model) });
        }
        debug_assert!(next.is_null(), "a list longer than its count");
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
        self.drain(drop);
    }
}
