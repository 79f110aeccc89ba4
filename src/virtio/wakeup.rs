// SPDX-License-Identifier: GPL-2.0

//! The device's wakeup event, held while the balloon adjusts to a new target
//! and while a statistics request is served, so that the system does not
//! suspend in between (as virtio_balloon does; `pm_stay_awake` does nothing
//! unless user space enabled the device's wakeup in sysfs `power/wakeup`).
//!
//! Each reason is a bit: [`Wakeup::stay_awake`] sets it (possibly in interrupt
//! context), [`Wakeup::processing`] clears it when the work it asked for
//! starts, and [`Wakeup::finish`] releases the event once no bit is set, so a
//! request that arrives while the work runs keeps the event held.

use crate::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The wakeup state: the reasons pending and whether the event is held,
/// under an irq-safe spinlock.
#[pin_data]
pub(super) struct Wakeup {
    #[pin]
    lock: Opaque<bindings::spinlock_t>,
    /// Reasons pending (under `lock`).
    mask: core::cell::Cell<u32>,
    /// `pm_stay_awake` was called and `pm_relax` not yet (under `lock`).
    held: core::cell::Cell<bool>,
}

// SAFETY: `mask` and `held` are only accessed under `lock`.
unsafe impl Send for Wakeup {}
// SAFETY: as for `Send`.
unsafe impl Sync for Wakeup {}

impl Wakeup {
    /// The balloon adjusts to the host's target.
    pub(super) const ADJUST: u32 = 1 << 0;
    /// A statistics request is being served.
    pub(super) const STATS: u32 = 1 << 1;

    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `ffi_init` passes the pinned, uninitialised spinlock.
            lock <- Opaque::ffi_init(|slot| unsafe { bindings::ob_spin_lock_init(slot) }),
            mask: core::cell::Cell::new(0),
            held: core::cell::Cell::new(false),
        })
    }

    /// Runs `f` on the state under the lock, interrupts off.
    fn locked<R>(&self, f: impl FnOnce(&Self) -> R) -> R {
        // SAFETY: `lock` was initialised by `new`; every holder restores the flags.
        let flags = unsafe { bindings::ob_spin_lock_irqsave(self.lock.get()) };
        let r = f(self);
        // SAFETY: taken above with these flags.
        unsafe { bindings::ob_spin_unlock_irqrestore(self.lock.get(), flags) };
        r
    }

    /// Holds the wakeup event of `vdev` for `reason`. Callable in interrupt context.
    pub(super) fn stay_awake(&self, vdev: *mut bindings::virtio_device, reason: u32) {
        self.locked(|s| {
            s.mask.set(s.mask.get() | reason);
            if !s.held.replace(true) {
                // SAFETY: `vdev` is bound: the callers are its config and virtqueue
                // callbacks and work items, which `remove` and `freeze` stop before the
                // device goes; pm_stay_awake takes an irq-safe lock of its own.
                unsafe { bindings::pm_stay_awake(&raw mut (*vdev).dev) };
            }
        });
    }

    /// The work asked for by `reason` starts.
    pub(super) fn processing(&self, reason: u32) {
        self.locked(|s| s.mask.set(s.mask.get() & !reason));
    }

    /// The work started by [`Self::processing`] is done: releases the event
    /// unless a reason came meanwhile.
    pub(super) fn finish(&self, vdev: *mut bindings::virtio_device) {
        self.locked(|s| {
            if s.mask.get() == 0 && s.held.replace(false) {
                // SAFETY: as in `stay_awake`.
                unsafe { bindings::pm_relax(&raw mut (*vdev).dev) };
            }
        });
    }

    /// The device stops (removal, suspend): no reason is pending any more.
    pub(super) fn release(&self, vdev: *mut bindings::virtio_device) {
        self.locked(|s| s.mask.set(0));
        self.finish(vdev);
    }
}
