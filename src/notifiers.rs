// SPDX-License-Identifier: GPL-2.0

//! The balloon on the kernel's notifier chains.
//!
//! - OOM: before the OOM killer kills, the balloon gives pages back
//!   ([`Balloon::oom_deflate`]), at virtio_balloon's priority.
//! - Memory hotplug: frozen pages are skippable, so memory offlining may take
//!   their memory block away. While a block goes offline the balloon frees
//!   none of its frozen pages (a page changing state under
//!   `__offline_isolated_pages()` would hit its `BUG_ON`s), and once it is
//!   offline the balloon forgets them ([`Balloon::memory_going_offline`],
//!   [`Balloon::memory_offline`]). Movable pages need nothing: offlining
//!   migrates them through the balloon core.
//!
//! - PM: before the system suspends or hibernates, the balloon stops
//!   inflating and leaves memory free for the devices to resume
//!   ([`Balloon::pm_prepare`]); after it resumes, it follows its target again
//!   ([`Balloon::pm_finished`]). The PM core follows each prepare event with
//!   its post event, also when a later callback fails the transition (the
//!   chain is called robustly); only 6.12's `/dev/snapshot` open returns
//!   early without the post event if it runs out of memory, and then the
//!   balloon inflates again from the next transition on.
//! - Online page callback: the kernel's one hook for onlining the pages of a
//!   memory block (`set_online_page_callback()`, which hv_balloon and
//!   virtio_mem use), taken with `keep_hotplugged=1` only, since those drivers
//!   need it too. A balloon that lacks pages keeps some of a block
//!   being onlined ([`Balloon::keep_onlining`]); the rest go online as
//!   `generic_online_page()` would put them. If another driver holds the
//!   hook, hot-added memory comes online as usual.
//!
//! The three chains are blocking notifier chains: a callback runs under the chain's
//! rwsem (read), and unregistering takes it for writing, so once
//! [`Notifiers::unregister`] returns no callback of ours runs or will run. The
//! rwsem does not span a whole offlining: it is dropped between
//! `MEM_GOING_OFFLINE` and `MEM_OFFLINE`, which is why the balloon leaves the
//! memory chain only once it holds no frozen page.

use crate::balloon::Balloon;
use crate::bindings;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering::Relaxed};
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The OOM notifier's priority: virtio_balloon's, so both drivers are asked
/// at the same point of the chain.
const OOM_PRIORITY: ffi::c_int = 80;

/// The balloon whose [`online_page`] is the kernel's online page callback:
/// the kernel has one, so at most one balloon holds it.
static ONLINE_BALLOON: AtomicPtr<Balloon> = AtomicPtr::new(null_mut());

/// The balloon's notifier blocks, embedded in a pinned [`Balloon`]; dropping
/// them leaves every chain they joined.
pub(crate) struct Notifiers {
    oom: Opaque<bindings::notifier_block>,
    memory: Opaque<bindings::notifier_block>,
    pm: Opaque<bindings::notifier_block>,
    oom_registered: AtomicBool,
    memory_registered: AtomicBool,
    pm_registered: AtomicBool,
    online_registered: AtomicBool,
}

// SAFETY: the blocks are written only by `init`, before the balloon is shared; after that
// only the notifier core touches them, under its chain's lock (register, unregister, and
// the walk that calls them). The flags are atomics.
unsafe impl Send for Notifiers {}
// SAFETY: as for `Send`.
unsafe impl Sync for Notifiers {}

impl Notifiers {
    /// Notifier blocks to be set up with [`Self::init`].
    pub(crate) fn new() -> Self {
        Self {
            oom: Opaque::uninit(),
            memory: Opaque::uninit(),
            pm: Opaque::uninit(),
            oom_registered: AtomicBool::new(false),
            memory_registered: AtomicBool::new(false),
            pm_registered: AtomicBool::new(false),
            online_registered: AtomicBool::new(false),
        }
    }

    /// Sets up the notifier blocks.
    ///
    /// # Safety
    ///
    /// `self` must be the `notifiers` field of a pinned [`Balloon`], not yet registered.
    pub(crate) unsafe fn init(&self) {
        // SAFETY: the blocks are pinned with the balloon and not registered yet.
        unsafe {
            self.oom.get().write(bindings::notifier_block {
                notifier_call: Some(oom_notify),
                priority: OOM_PRIORITY,
                ..Default::default()
            });
            self.memory.get().write(bindings::notifier_block {
                notifier_call: Some(memory_notify),
                ..Default::default()
            });
            self.pm.get().write(bindings::notifier_block {
                notifier_call: Some(pm_notify),
                ..Default::default()
            });
        }
    }

    /// Joins the OOM notifier chain.
    pub(crate) fn register_oom(&self) -> Result {
        // SAFETY: the block is initialised and pinned in a balloon; `Drop` unregisters
        // it before the balloon's memory goes away.
        kernel::error::to_result(unsafe { bindings::register_oom_notifier(self.oom.get()) })?;
        self.oom_registered.store(true, Relaxed);
        Ok(())
    }

    /// Joins the memory hotplug notifier chain.
    pub(crate) fn register_memory(&self) -> Result {
        // SAFETY: as in `register_oom`.
        kernel::error::to_result(unsafe {
            bindings::ob_register_memory_notifier(self.memory.get())
        })?;
        self.memory_registered.store(true, Relaxed);
        Ok(())
    }

    /// Joins the PM notifier chain.
    pub(crate) fn register_pm(&self) -> Result {
        // SAFETY: as in `register_oom`.
        kernel::error::to_result(unsafe { bindings::ob_register_pm_notifier(self.pm.get()) })?;
        self.pm_registered.store(true, Relaxed);
        Ok(())
    }

    /// Takes the kernel's online page callback for `balloon`, whose
    /// `notifiers` these are, if no other driver (or balloon) holds it; says
    /// so in the kernel log otherwise.
    pub(crate) fn register_online(&self, balloon: &Balloon) {
        let ptr = core::ptr::from_ref(balloon).cast_mut();
        if ONLINE_BALLOON
            .compare_exchange(null_mut(), ptr, Relaxed, Relaxed)
            .is_err()
        {
            pr_info!("another balloon keeps hot-added memory; this one does not\n");
            return;
        }
        // SAFETY: `online_page` is module text, and `unregister` (before the module
        // can go) restores the default callback.
        if unsafe { bindings::set_online_page_callback(Some(online_page)) } != 0 {
            ONLINE_BALLOON.store(null_mut(), Relaxed);
            pr_info!("another driver holds the online page callback: hot-added memory comes online without the balloon\n");
            return;
        }
        self.online_registered.store(true, Relaxed);
    }

    /// Leaves every chain joined; waits for callbacks in flight.
    pub(crate) fn unregister(&self) {
        if self.online_registered.swap(false, Relaxed) {
            // SAFETY: registered in `register_online`. Restoring takes the memory
            // hotplug lock for reading, so it waits for an onlining in flight (which
            // holds it for writing around the callback): none runs or will run after.
            unsafe { bindings::restore_online_page_callback(Some(online_page)) };
            ONLINE_BALLOON.store(null_mut(), Relaxed);
        }
        if self.oom_registered.swap(false, Relaxed) {
            // SAFETY: registered in `register_oom`.
            unsafe { bindings::unregister_oom_notifier(self.oom.get()) };
        }
        if self.memory_registered.swap(false, Relaxed) {
            // SAFETY: registered in `register_memory`.
            unsafe { bindings::ob_unregister_memory_notifier(self.memory.get()) };
        }
        if self.pm_registered.swap(false, Relaxed) {
            // SAFETY: registered in `register_pm`.
            unsafe { bindings::ob_unregister_pm_notifier(self.pm.get()) };
        }
    }
}

impl Drop for Notifiers {
    fn drop(&mut self) {
        self.unregister();
    }
}

/// The OOM notifier: deflates some pages and adds them to `*data`, the count
/// of freed pages that keeps the OOM killer from killing.
///
/// # Safety
///
/// Called by the OOM notifier chain (under `oom_lock`, in the context of the
/// allocating task) with `nb` the OOM block of a live [`Balloon`] (its
/// notifiers unregister before its memory goes away) and `data` pointing to the
/// chain's `unsigned long` count of freed pages.
unsafe extern "C" fn oom_notify(
    nb: *mut bindings::notifier_block,
    _action: ffi::c_ulong,
    data: *mut ffi::c_void,
) -> ffi::c_int {
    // SAFETY: `nb` is the `oom` block (a transparent `Opaque`) of a live balloon.
    let balloon = unsafe {
        &*kernel::container_of!(
            nb.cast::<Opaque<bindings::notifier_block>>(),
            Balloon,
            notifiers.oom
        )
    };
    let freed = balloon.oom_deflate();
    // SAFETY: `data` points to the chain's count of freed pages.
    unsafe { *data.cast::<ffi::c_ulong>() += freed as ffi::c_ulong };
    bindings::NOTIFY_OK as ffi::c_int
}

/// The memory hotplug notifier.
///
/// # Safety
///
/// Called by the memory notifier chain (under `mem_hotplug_lock`) with `nb`
/// the memory block of a live [`Balloon`] (as for [`oom_notify`]) and `data` pointing to the `struct memory_notify` of the event.
unsafe extern "C" fn memory_notify(
    nb: *mut bindings::notifier_block,
    action: ffi::c_ulong,
    data: *mut ffi::c_void,
) -> ffi::c_int {
    // SAFETY: `nb` is the `memory` block (a transparent `Opaque`) of a live balloon.
    let balloon = unsafe {
        &*kernel::container_of!(
            nb.cast::<Opaque<bindings::notifier_block>>(),
            Balloon,
            notifiers.memory
        )
    };
    // SAFETY: `data` points to the event's `struct memory_notify`.
    let arg = unsafe { &*data.cast::<bindings::memory_notify>() };
    let pfns = arg.start_pfn as u64..(arg.start_pfn + arg.nr_pages) as u64;
    match action as bindings::memory_block_state {
        bindings::memory_block_state_MEM_GOING_OFFLINE => balloon.memory_going_offline(Some(pfns)),
        bindings::memory_block_state_MEM_CANCEL_OFFLINE => balloon.memory_going_offline(None),
        bindings::memory_block_state_MEM_OFFLINE => balloon.memory_offline(pfns),
        _ => {}
    }
    bindings::NOTIFY_OK as ffi::c_int
}

/// The PM notifier.
///
/// # Safety
///
/// Called by the PM notifier chain (under `system_transition_mutex`, in
/// process context, before tasks are frozen and after they are thawed) with
/// `nb` the PM block of a live [`Balloon`] (as for [`oom_notify`]).
unsafe extern "C" fn pm_notify(
    nb: *mut bindings::notifier_block,
    action: ffi::c_ulong,
    _data: *mut ffi::c_void,
) -> ffi::c_int {
    // SAFETY: `nb` is the `pm` block (a transparent `Opaque`) of a live balloon.
    let balloon = unsafe {
        &*kernel::container_of!(
            nb.cast::<Opaque<bindings::notifier_block>>(),
            Balloon,
            notifiers.pm
        )
    };
    match action as u32 {
        bindings::PM_SUSPEND_PREPARE
        | bindings::PM_HIBERNATION_PREPARE
        | bindings::PM_RESTORE_PREPARE => balloon.pm_prepare(),
        bindings::PM_POST_SUSPEND | bindings::PM_POST_HIBERNATION | bindings::PM_POST_RESTORE => {
            balloon.pm_finished()
        }
        _ => {}
    }
    bindings::NOTIFY_OK as ffi::c_int
}

/// The online page callback: the pages of a memory block being onlined, in
/// naturally aligned chunks of `1 << order`.
///
/// # Safety
///
/// Called by `online_pages()` (under the memory hotplug lock, for writing)
/// with a chunk of pages that the callback owns until it onlines them.
unsafe extern "C" fn online_page(page: *mut bindings::page, order: ffi::c_uint) {
    // SAFETY: `page` is a valid page.
    let first = unsafe { bindings::ob_page_to_pfn(page) } as u64;
    let end = first + (1u64 << order);
    let balloon = ONLINE_BALLOON.load(Relaxed);
    let kept = if balloon.is_null() {
        0
    } else {
        // SAFETY: the balloon is registered, and `unregister` (before the balloon goes
        // away) waits for this callback to return; the chunk is ours to keep.
        unsafe { (*balloon).keep_onlining(first, 1 << order) }
    };
    // The rest goes online in the largest naturally aligned chunks it holds.
    let mut pfn = first + kept as u64;
    while pfn < end {
        let order = pfn.trailing_zeros().min((end - pfn).ilog2());
        // SAFETY: pages of the chunk the callback got and did not keep.
        unsafe {
            bindings::generic_online_page(bindings::ob_pfn_to_page(pfn as ffi::c_ulong), order)
        };
        pfn += 1 << order;
    }
}
