// SPDX-License-Identifier: GPL-2.0

//! Hot-added memory that fills the balloon without being allocated: when a
//! memory block is onlined, the online page callback
//! ([`crate::notifiers`]) lets the balloon keep the pages it lacks out of the
//! buddy allocator, as *never-onlined* frozen offline pages (hv_balloon's
//! model), whatever the model of the pages it allocates. They count as inflated pages like any other; deflating one
//! onlines it with `generic_online_page()` ([`crate::offline_page`]).

use super::Balloon;
use crate::bindings;
use crate::offline_page::OfflinePage;
use core::ptr::NonNull;
use core::sync::atomic::Ordering::Relaxed;

impl Balloon {
    /// Of the `nr` pages from PFN `first` of a memory block being onlined,
    /// keeps as many as the balloon lacks (the first ones) as
    /// never-onlined pages, and tells the host. Returns how many it kept;
    /// the caller onlines the others.
    ///
    /// # Safety
    ///
    /// Called by the online page callback with the pages it received, which
    /// nobody else uses: the ones kept become the balloon's.
    pub(crate) unsafe fn keep_onlining(&self, first: u64, nr: usize) -> usize {
        let mut evacuating = self.evacuating.lock();
        let new = &mut evacuating.new;
        // The host must learn about every page the balloon holds: while it
        // is down, the block comes online whole.
        let Some(host) = self.lock_host() else {
            return 0;
        };
        let mut frozen = self.frozen.lock();
        // Once `shutdown` empties the balloon nothing may join it.
        if self.stopping.load(Relaxed) {
            return 0;
        }
        let lacking = self.target().saturating_sub(self.stats.inflated());
        // Pages from the host's PFN limit on are never inflated.
        let below_limit = self.host.pfn_limit().saturating_sub(first);
        let want = nr
            .min(new.capacity())
            .min(lacking.min(below_limit) as usize);
        let mut kept = 0;
        while kept < want && frozen.set.reserve(first + kept as u64).is_ok() {
            let pfn = first + kept as u64;
            // SAFETY: a page the callback received (the function's contract), whose
            // chunk in the set was just reserved; `pfn_to_page()` of a valid PFN is
            // never null.
            let page = unsafe {
                OfflinePage::keep_never_onlined(NonNull::new_unchecked(bindings::ob_pfn_to_page(
                    pfn as kernel::ffi::c_ulong,
                )))
            };
            // Cannot fail after `reserve`; a page given back is onlined as it drops.
            if frozen.set.insert(page, false).is_ok() {
                new.push(pfn);
            }
            kept += 1;
        }
        let n = new.len() as u64;
        if n > 0 {
            self.host.inflate(new.as_slice());
            self.stats.frozen_pages.fetch_add(n, Relaxed);
            self.stats.never_onlined_pages.fetch_add(n, Relaxed);
            self.stats.inflated_total.fetch_add(n, Relaxed);
            self.host.report_size(self.stats.inflated());
        }
        new.clear();
        drop(frozen);
        drop(host);
        kept
    }
}
