// SPDX-License-Identifier: GPL-2.0

//! Whole blocks (2 MiB with 4 KiB pages) among the pages of an inflation,
//! and the blocks the host took on the reporting queue ([`Reported`]): what
//! is left of each in the balloon, so that deflating their pages needs no
//! message.
//!
//! A block is [`BLOCK_PAGES`] PFNs in a row, the first naturally aligned, as
//! the balloon's order-9 allocations come (their pages in PFN order).

pub(super) use crate::offline_page::BLOCK_PAGES;
use core::ops::Range;
use kernel::alloc::flags::{__GFP_NOWARN, GFP_NOWAIT};
use kernel::prelude::*;
use kernel::rbtree::RBTree;

/// Whether `pfns[i..]` starts with a whole block.
fn block_at(pfns: &[u64], i: usize) -> bool {
    let first = pfns[i];
    first % BLOCK_PAGES as u64 == 0
        && pfns.len() - i >= BLOCK_PAGES
        && pfns[i..i + BLOCK_PAGES]
            .iter()
            .enumerate()
            .all(|(k, &pfn)| pfn == first + k as u64)
}

/// The first PFN of each whole block of `pfns`, in order.
pub(super) fn firsts(pfns: &[u64]) -> impl Iterator<Item = u64> + '_ {
    let mut i = 0;
    core::iter::from_fn(move || {
        while i < pfns.len() {
            if block_at(pfns, i) {
                i += BLOCK_PAGES;
                return Some(pfns[i - BLOCK_PAGES]);
            }
            i += 1;
        }
        None
    })
}

/// The PFNs of `pfns` outside its first `skip` whole blocks, in order.
pub(super) fn outside(pfns: &[u64], mut skip: usize) -> impl Iterator<Item = u64> + '_ {
    let mut i = 0;
    core::iter::from_fn(move || {
        while i < pfns.len() {
            if skip > 0 && block_at(pfns, i) {
                skip -= 1;
                i += BLOCK_PAGES;
                continue;
            }
            i += 1;
            return Some(pfns[i - 1]);
        }
        None
    })
}

/// Words of a bitmap of the pages of a block.
const WORDS: usize = BLOCK_PAGES / 64;
const _: () = assert!(BLOCK_PAGES % 64 == 0);

/// The blocks the host took on the reporting queue, each with a bitmap of its
/// pages still in the balloon (a page that left by migration and came back
/// later as a single page was told on the inflate queue: its bit stays clear).
pub(super) struct Reported {
    /// Block number (first PFN / [`BLOCK_PAGES`]) to the pages left.
    blocks: RBTree<u64, [u64; WORDS]>,
    /// Blocks in `blocks`.
    len: usize,
}

impl Reported {
    pub(super) fn new() -> Self {
        Self {
            blocks: RBTree::new(),
            len: 0,
        }
    }

    /// Blocks with pages in the balloon.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Records the block that starts at `first` (all its pages in the
    /// balloon). Called with the host channel held, which the OOM notifier
    /// waits for: the allocation never reclaims (the block then takes the
    /// inflate queue).
    pub(super) fn insert(&mut self, first: u64) -> Result {
        let left = [u64::MAX; WORDS];
        let replaced = self.blocks.try_create_and_insert(
            first / BLOCK_PAGES as u64,
            left,
            GFP_NOWAIT | __GFP_NOWARN,
        )?;
        self.len += usize::from(replaced.is_none());
        Ok(())
    }

    /// Forgets the blocks of `pfns`, whose pages left the balloon unseen.
    pub(super) fn forget(&mut self, pfns: Range<u64>) {
        let block = BLOCK_PAGES as u64;
        for b in pfns.start / block..pfns.end.div_ceil(block) {
            self.remove(b * block);
        }
    }

    /// Forgets the block that starts at `first` (the host did not take it).
    pub(super) fn remove(&mut self, first: u64) {
        if self.blocks.remove(&(first / BLOCK_PAGES as u64)).is_some() {
            self.len -= 1;
        }
    }

    /// The page `pfn` leaves the balloon: whether it came in a reported block.
    pub(super) fn take(&mut self, pfn: u64) -> bool {
        let block = pfn / BLOCK_PAGES as u64;
        let Some(left) = self.blocks.get_mut(&block) else {
            return false;
        };
        let page = (pfn % BLOCK_PAGES as u64) as usize;
        let bit = 1u64 << (page % 64);
        if left[page / 64] & bit == 0 {
            return false;
        }
        left[page / 64] &= !bit;
        if left.iter().all(|&word| word == 0) {
            self.blocks.remove(&block);
            self.len -= 1;
        }
        true
    }
}
