// SPDX-License-Identifier: GPL-2.0

//! Frozen offline pages tracked outside `struct page`.
//!
//! The LSF/MM/BPF 2025 topic "Non-lru page migration in a memdesc world"
//! wants PageOffline pages to use nothing of `struct page` but the page type
//! and a flag or two. A [`FrozenSet`] keeps the balloon's frozen pages in an
//! XArray indexed by naturally aligned 2 MiB block ([`CHUNK_PAGES`] pages),
//! each entry a bitmap of the block's pages that the set holds (Matthew
//! Wilcox's "base PFN and a bitmap"). A frozen page then carries only its
//! PageOffline type, its refcount of 0 and the skippable flag: its `lru`,
//! `private` and `mapping` are never written.
//!
//! # Cost
//!
//! One [`Chunk`] (a 64-byte bitmap and a 2-byte count, in a 96-byte slab
//! object) per 2 MiB block that holds a frozen page, plus the XArray's nodes
//! (one 576-byte node per 64 blocks): about 0.21 bytes per page when blocks
//! are full, up to 96 bytes per page when every page sits in a block of its
//! own. [`FrozenSet::metadata_bytes`] counts it.
//!
//! The kernel crate's `XArray` (Linux 7.x; none in 6.12) cannot iterate, so
//! the set wraps the C XArray on every kernel.

use crate::bindings;
use crate::offline_page::{Fresh, OfflinePage, RefModel, BLOCK_PAGES};
use core::ops::Range;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Pages per entry of the set: one 2 MiB block.
pub(crate) const CHUNK_PAGES: u64 = BLOCK_PAGES as u64;
/// 64-bit words in a chunk's bitmap.
pub(crate) const CHUNK_WORDS: usize = BLOCK_PAGES / 64;

/// A bitmap of the pages of one 2 MiB block, bit `i` for PFN `base + i`.
pub(crate) type ChunkBits = [u64; CHUNK_WORDS];

/// The frozen pages of one 2 MiB block.
#[derive(Default)]
struct Chunk {
    /// The block's pages the set holds.
    bits: ChunkBits,
    /// How many of them belong to an inflation batch the host has not been
    /// told about yet ([`FrozenSet::insert`] with `pending`): until it has,
    /// no page of the chunk leaves the set except with its memory block.
    pending: u16,
}

impl Chunk {
    fn count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }
}

/// Frozen offline pages keyed by PFN, with no per-page metadata in `struct page`.
///
/// # Invariants
///
/// `xa` is an initialised XArray whose entries are `KBox<Chunk>`s owned by
/// the set, at index `pfn / CHUNK_PAGES`. Every set bit is a frozen offline
/// page ([`RefModel::Frozen`]) owned by the set; no chunk is empty unless
/// pages of it are pending. `pages` is the number of set bits, `chunks` the
/// number of entries.
pub(crate) struct FrozenSet {
    xa: Pin<KBox<Opaque<bindings::xarray>>>,
    pages: usize,
    chunks: usize,
}

// SAFETY: the set owns its pages and chunks, which may be handed to another thread.
unsafe impl Send for FrozenSet {}

impl FrozenSet {
    /// An empty set.
    pub(crate) fn new() -> Result<Self> {
        let xa = KBox::pin(Opaque::<bindings::xarray>::uninit(), GFP_KERNEL)?;
        // SAFETY: `xa` is pinned, so the XArray never moves.
        unsafe { bindings::ob_xa_init(xa.get()) };
        // INVARIANT: an empty, initialised XArray.
        Ok(Self {
            xa,
            pages: 0,
            chunks: 0,
        })
    }

    /// The chunk at `index`, if any.
    fn chunk_ref(&self, index: u64) -> Option<&Chunk> {
        // SAFETY: `xa` is initialised; its entries are `KBox<Chunk>`s of the set.
        let entry = unsafe { bindings::xa_load(self.xa.get(), index as kernel::ffi::c_ulong) };
        // SAFETY: a non-null entry is a live chunk of the set, borrowed with the set.
        (!entry.is_null()).then(|| unsafe { &*entry.cast::<Chunk>() })
    }

    /// The chunk at `index`, if any, for changing.
    fn chunk(&mut self, index: u64) -> Option<&mut Chunk> {
        // SAFETY: `xa` is initialised; its entries are `KBox<Chunk>`s of the set.
        let entry = unsafe { bindings::xa_load(self.xa.get(), index as kernel::ffi::c_ulong) };
        // SAFETY: a non-null entry is a live chunk of the set, borrowed mutably with it.
        (!entry.is_null()).then(|| unsafe { &mut *entry.cast::<Chunk>() })
    }

    /// The chunk at `index`, created if missing (allocated without waiting:
    /// the caller may hold a lock that memory notifiers take).
    fn chunk_or_insert(&mut self, index: u64) -> Result<&mut Chunk> {
        if self.chunk_ref(index).is_none() {
            let chunk = KBox::new(Chunk::default(), GFP_NOWAIT | __GFP_NOWARN)?;
            let raw = KBox::into_raw(chunk);
            // SAFETY: `xa` is initialised and has no entry at `index`.
            let old = unsafe {
                bindings::xa_store(
                    self.xa.get(),
                    index as kernel::ffi::c_ulong,
                    raw.cast(),
                    bindings::OB_GFP_NOWAIT,
                )
            };
            // SAFETY: `xa_store` returns the old entry or an error entry.
            if unsafe { bindings::ob_xa_err(old) } != 0 {
                // SAFETY: the XArray did not take `raw`, which came from `KBox::into_raw`.
                drop(unsafe { KBox::from_raw(raw) });
                return Err(ENOMEM);
            }
            // INVARIANT: one more chunk, owned by the set.
            self.chunks += 1;
        }
        self.chunk(index).ok_or(ENOMEM)
    }

    /// Removes the (empty) chunk at `index`.
    fn erase(&mut self, index: u64) {
        // SAFETY: `xa` is initialised.
        let entry = unsafe { bindings::xa_erase(self.xa.get(), index as kernel::ffi::c_ulong) };
        if !entry.is_null() {
            // SAFETY: the entry was a chunk of the set, which the XArray gave up.
            drop(unsafe { KBox::from_raw(entry.cast::<Chunk>()) });
            self.chunks -= 1;
        }
    }

    /// The index of the first chunk at or after `from`.
    pub(crate) fn next_chunk(&self, from: u64) -> Option<u64> {
        let mut index = from as kernel::ffi::c_ulong;
        // SAFETY: `xa` is initialised; `index` is a valid cursor.
        let entry = unsafe {
            bindings::xa_find(
                self.xa.get(),
                &mut index,
                kernel::ffi::c_ulong::MAX,
                bindings::OB_XA_PRESENT,
            )
        };
        (!entry.is_null()).then_some(index as u64)
    }

    /// Makes sure the chunk of PFN `pfn` exists, so that inserting its page
    /// needs no memory: reserve before making pages offline, because a
    /// frozen page may not be freed while its memory block goes offline.
    /// Fails without memory for the chunk.
    pub(crate) fn reserve(&mut self, pfn: u64) -> Result {
        self.chunk_or_insert(pfn / CHUNK_PAGES).map(|_| ())
    }

    /// [`Self::reserve`] for every page of `fresh`; `false` if a chunk is
    /// missing for want of memory.
    pub(crate) fn reserve_for(&mut self, fresh: &impl Fresh) -> bool {
        let mut reserved = true;
        fresh.for_each_pfn(|pfn| reserved &= self.reserve(pfn).is_ok());
        reserved
    }

    /// Adds `page`, a frozen offline page; with `pending`, it belongs to an
    /// inflation batch that the host will be told about ([`Self::publish`]).
    /// Gives the page back if no memory is left for its chunk (never after
    /// [`Self::reserve`]: an empty chunk stays until the set takes from it).
    pub(crate) fn insert(&mut self, page: OfflinePage, pending: bool) -> Result<(), OfflinePage> {
        debug_assert_eq!(page.model(), RefModel::Frozen);
        let pfn = page.pfn();
        let Ok(chunk) = self.chunk_or_insert(pfn / CHUNK_PAGES) else {
            return Err(page);
        };
        let bit = (pfn % CHUNK_PAGES) as usize;
        chunk.bits[bit / 64] |= 1 << (bit % 64);
        chunk.pending += u16::from(pending);
        let _ = page.into_raw();
        // INVARIANT: the set owns the page now, under its bit.
        self.pages += 1;
        Ok(())
    }

    /// The host was told about the pending page with PFN `pfn`. A page whose
    /// memory block went offline in the meantime is not in the set any more.
    pub(crate) fn publish(&mut self, pfn: u64) {
        if let Some(chunk) = self.chunk(pfn / CHUNK_PAGES) {
            chunk.pending = chunk.pending.saturating_sub(1);
        }
    }

    /// Takes pages out of chunks with no pending page, in PFN order (so a
    /// whole chunk comes out whole), until `f` has had `want` of them; skips
    /// the chunks that meet `exclude`. `f` owns each page it gets.
    pub(crate) fn take(
        &mut self,
        want: usize,
        exclude: Option<&Range<u64>>,
        mut f: impl FnMut(OfflinePage),
    ) -> usize {
        let (mut got, mut from) = (0, 0);
        while let Some(index) = self.next_chunk(from).filter(|_| got < want) {
            let pfns = index * CHUNK_PAGES..(index + 1) * CHUNK_PAGES;
            if !exclude.is_some_and(|r| r.start < pfns.end && pfns.start < r.end) {
                got += self.take_from(index, &[u64::MAX; CHUNK_WORDS], want - got, &mut f);
            }
            from = index + 1;
        }
        got
    }

    /// The pages of the chunk at `index` that the set holds and the host
    /// knows about: `None` while some of them are pending.
    pub(crate) fn told(&self, index: u64) -> Option<ChunkBits> {
        match self.chunk_ref(index) {
            Some(chunk) if chunk.pending > 0 => None,
            Some(chunk) => Some(chunk.bits),
            None => Some(ChunkBits::default()),
        }
    }

    /// Takes up to `want` pages of the chunk at `index` whose bits are set in
    /// `mask`, in PFN order, and passes each to `f`, which owns it. Returns
    /// how many.
    pub(crate) fn take_from(
        &mut self,
        index: u64,
        mask: &ChunkBits,
        want: usize,
        f: &mut impl FnMut(OfflinePage),
    ) -> usize {
        let Some(chunk) = self.chunk(index) else {
            return 0;
        };
        if chunk.pending > 0 {
            return 0;
        }
        let mut got = 0;
        for (w, word) in chunk.bits.iter_mut().enumerate() {
            while got < want && *word & mask[w] != 0 {
                let bit = (*word & mask[w]).trailing_zeros();
                *word &= !(1 << bit);
                let pfn = index * CHUNK_PAGES + (w * 64) as u64 + u64::from(bit);
                // SAFETY: the set owned the page under the bit it just cleared, as a
                // frozen offline page (type invariant), and gives it up.
                f(unsafe { OfflinePage::from_pfn(pfn, RefModel::Frozen) });
                got += 1;
            }
        }
        let empty = chunk.is_empty();
        // INVARIANT: `got` pages left with their bits; an emptied chunk goes.
        self.pages -= got;
        if empty {
            self.erase(index);
        }
        got
    }

    /// Takes every page in `pfns` (whole 2 MiB blocks), pending or not, and
    /// passes each to `f`, which owns it; e.g. when their memory went
    /// offline with them. Returns how many there were.
    pub(crate) fn take_range(
        &mut self,
        pfns: &Range<u64>,
        mut f: impl FnMut(OfflinePage),
    ) -> usize {
        let (mut gone, mut from) = (0, pfns.start / CHUNK_PAGES);
        while let Some(index) = self.next_chunk(from).filter(|i| i * CHUNK_PAGES < pfns.end) {
            if let Some(chunk) = self.chunk(index) {
                chunk.pending = 0;
            }
            gone += self.take_from(index, &[u64::MAX; CHUNK_WORDS], usize::MAX, &mut f);
            self.erase(index);
            from = index + 1;
        }
        gone
    }

    /// Calls `f` with the PFN of every page in the set, in PFN order.
    pub(crate) fn for_each_pfn(&self, mut f: impl FnMut(u64)) {
        let mut from = 0;
        while let Some(index) = self.next_chunk(from) {
            let bits = self
                .chunk_ref(index)
                .map_or(ChunkBits::default(), |c| c.bits);
            for (w, mut word) in bits.into_iter().enumerate() {
                while word != 0 {
                    let bit = word.trailing_zeros();
                    word &= word - 1;
                    f(index * CHUNK_PAGES + (w * 64) as u64 + u64::from(bit));
                }
            }
            from = index + 1;
            // A large set takes a while: let others run.
            // SAFETY: the callers run in process context.
            unsafe { bindings::ob_cond_resched() };
        }
    }

    /// How many pages of the set lie in `pfns` (whole 2 MiB blocks).
    pub(crate) fn count_range(&self, pfns: &Range<u64>) -> usize {
        let (mut n, mut from) = (0, pfns.start / CHUNK_PAGES);
        while let Some(index) = self.next_chunk(from).filter(|i| i * CHUNK_PAGES < pfns.end) {
            n += self.chunk_ref(index).map_or(0, Chunk::count);
            from = index + 1;
        }
        n
    }

    /// Whether the set holds the page with PFN `pfn`.
    pub(crate) fn contains(&self, pfn: u64) -> bool {
        let bit = (pfn % CHUNK_PAGES) as usize;
        self.chunk_ref(pfn / CHUNK_PAGES)
            .is_some_and(|c| c.bits[bit / 64] & (1 << (bit % 64)) != 0)
    }

    /// The memory the set uses: its chunks as the slab allocator sized them,
    /// and the XArray's nodes (one per 64 entries and level, for every
    /// 64-entry range holding an entry).
    pub(crate) fn metadata_bytes(&self) -> usize {
        let mut object = 0;
        let (mut nodes, mut last) = ([0usize; 4], [u64::MAX; 4]);
        let (mut max, mut from) = (0, 0);
        while let Some(index) = self.next_chunk(from) {
            if let Some(chunk) = self.chunk_ref(index).filter(|_| object == 0) {
                // SAFETY: `chunk` is a live slab object.
                object = unsafe { bindings::ksize(core::ptr::from_ref(chunk).cast()) };
            }
            for (level, (n, l)) in nodes.iter_mut().zip(last.iter_mut()).enumerate() {
                let prefix = index >> (6 * (level + 1));
                *n += usize::from(prefix != *l);
                *l = prefix;
            }
            (max, from) = (index, index + 1);
        }
        // An XArray of height h has nodes on levels 1..=h; a lone entry at
        // index 0 sits in the root without one.
        let height = (1..=4).find(|&h| max < 1u64 << (6 * h)).unwrap_or(4);
        let node_count: usize = if self.chunks == 1 && max == 0 {
            0
        } else {
            nodes[..height].iter().sum()
        };
        self.chunks * object + node_count * core::mem::size_of::<bindings::xa_node>()
    }
}

impl Drop for FrozenSet {
    fn drop(&mut self) {
        // Nobody tells the host about pending pages any more: they go too.
        self.take_range(&(0..u64::MAX), drop);
        // SAFETY: `xa` is initialised and now empty.
        unsafe { bindings::xa_destroy(self.xa.get()) };
    }
}
