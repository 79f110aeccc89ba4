// SPDX-License-Identifier: GPL-2.0

//! A walk over the balloon's frozen pages that checks what their `struct
//! page` holds: the page type, a frozen refcount and the skippable flag, and
//! nothing of the balloon's in `lru`, `private` or `mapping`.

use super::Balloon;
use crate::bindings;
use core::fmt::{self, Display};
use kernel::ffi::c_ulong;

/// What a walk over the frozen pages found, page counts.
#[derive(Default)]
pub(crate) struct SelfCheck {
    /// Pages walked: every page of the frozen set.
    pages: u64,
    /// PageOffline pages among them.
    offline: u64,
    /// Pages with a refcount of 0.
    refcount0: u64,
    /// Skippable pages.
    skippable: u64,
    /// Pages whose `lru.next` or `lru.prev` points at the `lru` of another
    /// page of the set: linked into a list through `struct page`. (An `lru`
    /// pointing at itself is the empty list the memory map starts with.)
    lru_linked: u64,
    /// Pages with a non-zero `private`.
    private_set: u64,
    /// Pages with a `mapping`.
    mapping_set: u64,
}

impl Display for SelfCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "pages {} offline {} refcount0 {} skippable {} lru_linked {} private_set {} mapping_set {}",
            self.pages,
            self.offline,
            self.refcount0,
            self.skippable,
            self.lru_linked,
            self.private_set,
            self.mapping_set
        )
    }
}

impl Balloon {
    /// Walks the frozen pages (none in a balloon of movable pages).
    pub(crate) fn self_check(&self) -> SelfCheck {
        let frozen = self.frozen.lock();
        let set = &frozen.set;
        let mut check = SelfCheck::default();
        // Whether `lru`, a pointer read from page `pfn`, is the `lru` field of another
        // page of the set.
        let links = |pfn: c_ulong, lru: *mut bindings::list_head| {
            // `list_entry()` and `page_to_pfn()` of a pointer that may point anywhere are
            // pointer arithmetic only (with SPARSEMEM_VMEMMAP, which x86-64 and the test
            // kernels have); the page is looked at only if its PFN is valid and maps back
            // to the same `struct page`.
            // SAFETY: no dereference before the PFN is known valid, as said above.
            unsafe {
                let page = bindings::ob_lru_page(lru);
                let to = bindings::ob_page_to_pfn(page);
                to != pfn
                    && bindings::ob_pfn_valid(to)
                    && bindings::ob_pfn_to_page(to) == page
                    && set.contains(to as u64)
            }
        };
        set.for_each_pfn(|pfn| {
            // SAFETY: the set owns the page (held by the frozen lock): a valid page, whose
            // fields are read, never written.
            unsafe {
                let pfn = pfn as c_ulong;
                let page = bindings::ob_pfn_to_page(pfn);
                check.pages += 1;
                check.offline += u64::from(bindings::ob_page_offline(page));
                check.refcount0 += u64::from(bindings::ob_page_count(page) == 0);
                check.skippable += u64::from(bindings::ob_page_skippable(page));
                check.lru_linked += u64::from(
                    links(pfn, bindings::ob_page_lru_next(page))
                        || links(pfn, bindings::ob_page_lru_prev(page)),
                );
                check.private_set += u64::from(bindings::ob_page_private(page) != 0);
                check.mapping_set += u64::from(bindings::ob_page_has_mapping(page));
            }
        });
        check
    }
}
