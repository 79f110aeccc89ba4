// SPDX-License-Identifier: GPL-2.0

//! Balloon statistics, shown in debugfs `stats` as `name value` lines.

use crate::offline_page;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters of one balloon. Page counts are in 4 KiB pages.
#[derive(Default)]
pub(crate) struct Stats {
    /// Inflated pages with refcount 1 (on the balloon core list, isolated,
    /// or in a batch), counted from their allocation to their release.
    pub(crate) movable_pages: AtomicU64,
    /// Inflated pages with a frozen refcount (on the balloon's own list or in
    /// a batch), counted from their allocation to their release.
    pub(crate) frozen_pages: AtomicU64,
    /// Pages ever inflated.
    pub(crate) inflated_total: AtomicU64,
    /// Pages ever deflated.
    pub(crate) deflated_total: AtomicU64,
    /// Pages moved by balloon migration (compaction, memory offlining).
    pub(crate) migrated_total: AtomicU64,
    /// Migrations refused with -EAGAIN because the host channel was busy.
    pub(crate) migrate_failed_total: AtomicU64,
    /// Times an inflation batch stopped early because allocation failed.
    pub(crate) alloc_failed_total: AtomicU64,
    /// Frozen pages of hot-added memory that were never onlined (kept from
    /// the buddy when their memory block was onlined).
    pub(crate) never_onlined_pages: AtomicU64,
    /// Frozen pages that went away with a memory block taken offline.
    pub(crate) offlined_total: AtomicU64,
    /// Frozen pages replaced by pages elsewhere (migration by PFN range).
    pub(crate) evacuated_total: AtomicU64,
    /// Time spent evacuating, for `evacuate_ns_per_page`.
    pub(crate) evacuate_ns: AtomicU64,
    /// Blocks of `1 << order` pages inflated whole.
    pub(crate) inflated_blocks_total: AtomicU64,
    /// Naturally aligned 2 MiB blocks deflated whole (one buddy free each).
    pub(crate) deflated_blocks_total: AtomicU64,
    /// Times a block could not be had without reclaim and single pages were used.
    pub(crate) block_failed_total: AtomicU64,
    /// Pages given back to stop the OOM killer.
    pub(crate) oom_deflated_total: AtomicU64,
    /// Pages given back before suspending, for the devices to resume.
    pub(crate) pm_deflated_total: AtomicU64,
    /// Time spent inflating, for `inflate_ns_per_page`.
    pub(crate) inflate_ns: AtomicU64,
    /// Time spent deflating, for `deflate_ns_per_page`.
    pub(crate) deflate_ns: AtomicU64,
    /// Time spent in the `migratepage` hook for migrated pages, for
    /// `migrate_ns_per_page`.
    pub(crate) migrate_ns: AtomicU64,
    /// Time spent in the kernel's balloon core putting movable pages on its
    /// list and taking them off (part of the inflate and deflate times).
    pub(crate) core_list_ns: AtomicU64,
}

impl Stats {
    /// `pages` frozen pages left the balloon, `never_onlined` of them never onlined.
    pub(crate) fn frozen_gone(&self, pages: u64, never_onlined: u64) {
        self.frozen_pages.fetch_sub(pages, Relaxed);
        self.never_onlined_pages.fetch_sub(never_onlined, Relaxed);
    }

    /// All inflated pages: `movable_pages + frozen_pages`.
    pub(crate) fn inflated(&self) -> u64 {
        self.movable_pages.load(Relaxed) + self.frozen_pages.load(Relaxed)
    }

    /// Writes every statistic as a `name value` line. `target` and `isolated`
    /// come from the balloon.
    pub(crate) fn write(&self, w: &mut impl Write, target: u64, isolated: u64) -> fmt::Result {
        let movable = self.movable_pages.load(Relaxed);
        let frozen = self.frozen_pages.load(Relaxed);
        let inflated_total = self.inflated_total.load(Relaxed);
        let deflated_total = self.deflated_total.load(Relaxed);
        let migrated_total = self.migrated_total.load(Relaxed);
        let per_page =
            |ns: &AtomicU64, pages: u64| ns.load(Relaxed).checked_div(pages).unwrap_or(0);
        let evacuated_total = self.evacuated_total.load(Relaxed);
        let lines: [(&str, u64); 27] = [
            ("target_pages", target),
            ("inflated_pages", movable + frozen),
            ("movable_pages", movable),
            ("frozen_pages", frozen),
            (
                "never_onlined_pages",
                self.never_onlined_pages.load(Relaxed),
            ),
            ("isolated_pages", isolated),
            ("inflated_total", inflated_total),
            ("deflated_total", deflated_total),
            ("migrated_total", migrated_total),
            (
                "migrate_failed_total",
                self.migrate_failed_total.load(Relaxed),
            ),
            ("alloc_failed_total", self.alloc_failed_total.load(Relaxed)),
            ("oom_deflated_total", self.oom_deflated_total.load(Relaxed)),
            ("pm_deflated_total", self.pm_deflated_total.load(Relaxed)),
            ("offlined_total", self.offlined_total.load(Relaxed)),
            ("hwpoisoned_total", offline_page::hwpoisoned_total()),
            ("evacuated_total", evacuated_total),
            (
                "evacuate_ns_per_page",
                per_page(&self.evacuate_ns, evacuated_total),
            ),
            (
                "inflated_blocks_total",
                self.inflated_blocks_total.load(Relaxed),
            ),
            ("block_failed_total", self.block_failed_total.load(Relaxed)),
            (
                "deflated_blocks_total",
                self.deflated_blocks_total.load(Relaxed),
            ),
            ("inflate_ns_total", self.inflate_ns.load(Relaxed)),
            ("deflate_ns_total", self.deflate_ns.load(Relaxed)),
            (
                "inflate_ns_per_page",
                per_page(&self.inflate_ns, inflated_total),
            ),
            (
                "deflate_ns_per_page",
                per_page(&self.deflate_ns, deflated_total),
            ),
            ("migrate_ns_total", self.migrate_ns.load(Relaxed)),
            ("core_list_ns_total", self.core_list_ns.load(Relaxed)),
            (
                "migrate_ns_per_page",
                per_page(&self.migrate_ns, migrated_total),
            ),
        ];
        for (name, value) in lines {
            writeln!(w, "{name} {value}")?;
        }
        Ok(())
    }
}

/// A fixed-size text buffer for debugfs output.
pub(crate) struct TextBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> TextBuf<N> {
    /// An empty buffer.
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// The text written so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> Write for TextBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self
            .len
            .checked_add(s.len())
            .filter(|&e| e <= N)
            .ok_or(fmt::Error)?;
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
