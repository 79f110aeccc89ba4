// SPDX-License-Identifier: GPL-2.0

//! The guest-side floor for benchmarks: how fast plain page allocation and
//! freeing go in this guest, with the balloon's GFP mask and no balloon
//! bookkeeping. debugfs `alloc_floor` runs it; benchmarks compare the
//! balloon's `inflate_ns_per_page` and `deflate_ns_per_page` with it.

use crate::bindings;
use crate::compat::Stopwatch;
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::sync::{new_mutex, Mutex};
use kernel::types::Opaque;

/// Largest run: 4 GiB of pages.
pub(crate) const MAX_PAGES: u64 = 1 << 20;

/// The last result: pages, and nanoseconds per page to allocate and to free.
#[derive(Clone, Copy, Default)]
pub(crate) struct FloorResult {
    /// Pages allocated and freed.
    pub(crate) pages: u64,
    /// Nanoseconds per page allocated.
    pub(crate) alloc_ns: u64,
    /// Nanoseconds per page freed.
    pub(crate) free_ns: u64,
}

/// Runs of the floor measurement, one at a time.
#[pin_data]
pub(crate) struct Floor {
    #[pin]
    state: Mutex<(Pin<KBox<Opaque<bindings::list_head>>>, FloorResult)>,
}

// SAFETY: the list head is only used under the mutex, by one run at a time.
unsafe impl Send for Floor {}
// SAFETY: as for `Send`.
unsafe impl Sync for Floor {}

impl Floor {
    /// A floor with no result yet.
    pub(crate) fn new() -> Result<Pin<KBox<Self>>> {
        let head = KBox::pin(Opaque::<bindings::list_head>::uninit(), GFP_KERNEL)?;
        // SAFETY: `head` is pinned, so the self-referencing list head stays valid.
        unsafe { bindings::ob_init_list_head(head.get()) };
        KBox::pin_init(
            pin_init!(Self {
                state <- new_mutex!((head, FloorResult::default())),
            }),
            GFP_KERNEL,
        )
    }

    /// The last result.
    pub(crate) fn result(&self) -> FloorResult {
        self.state.lock().1
    }

    /// Allocates up to `pages` pages (fewer if memory runs out), then frees them.
    pub(crate) fn run(&self, pages: u64) {
        let mut state = self.state.lock();
        let head = state.0.get();
        let clock = Stopwatch::start();
        let mut n = 0;
        while n < pages {
            // SAFETY: plain page allocation with the balloon's GFP mask.
            let Some(page) =
                NonNull::new(unsafe { bindings::ob_alloc_pages(bindings::OB_GFP_MOVABLE, 0) })
            else {
                break;
            };
            // SAFETY: the page is ours; `head` is an initialised list of pages we own.
            unsafe { bindings::ob_page_list_push(head, page.as_ptr()) };
            n += 1;
        }
        let allocated = clock.elapsed_ns();
        // SAFETY: `head` holds exactly the pages allocated above.
        while let Some(page) = NonNull::new(unsafe { bindings::ob_page_list_pop(head) }) {
            // SAFETY: the page is ours and off the list.
            unsafe { bindings::ob_free_page(page.as_ptr()) };
        }
        let freed = clock.elapsed_ns();
        let per_page = |ns: u64| ns.checked_div(n).unwrap_or(0);
        state.1 = FloorResult {
            pages: n,
            alloc_ns: per_page(allocated),
            free_ns: per_page(freed.saturating_sub(allocated)),
        };
    }
}
