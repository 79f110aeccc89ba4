// SPDX-License-Identifier: GPL-2.0

//! The features the driver negotiates, as the in-tree virtio_balloon does,
//! and the decisions it takes on them before and after `probe`:
//!
//! - `MUST_TELL_HOST`: deflated pages are always reported before they are
//!   freed (whether or not the host asks).
//! - `STATS_VQ`: memory statistics on request ([`super::stats`]).
//! - `DEFLATE_ON_OOM`: the OOM notifier deflates (inflated pages leave the
//!   managed page count either way).
//! - `FREE_PAGE_HINT`: free page hinting for live migration ([`super::hinting`]).
//! - `PAGE_POISON`: the host learns the value free pages hold
//!   ([`write_poison_value`]); offered only when pages are poisoned or
//!   zeroed on free.
//! - `REPORTING`: free page reporting ([`super::reporting`]); refused when
//!   free pages hold a value the host cannot be told (poisoning or
//!   `init_on_free` without `PAGE_POISON`), since a reported page comes back
//!   zero-filled.

use crate::bindings;
use kernel::ffi;

pub(super) static FEATURES: [ffi::c_uint; 6] = [
    bindings::VIRTIO_BALLOON_F_MUST_TELL_HOST,
    bindings::VIRTIO_BALLOON_F_STATS_VQ,
    bindings::VIRTIO_BALLOON_F_DEFLATE_ON_OOM,
    bindings::VIRTIO_BALLOON_F_FREE_PAGE_HINT,
    bindings::VIRTIO_BALLOON_F_PAGE_POISON,
    bindings::VIRTIO_BALLOON_F_REPORTING,
];

/// Whether free pages hold a value: zero (`init_on_free`) or the poison
/// pattern (page poisoning).
fn free_pages_written() -> bool {
    // SAFETY: reads of boot-time static keys.
    unsafe { bindings::ob_want_init_on_free() || bindings::ob_page_poisoning_enabled() }
}

/// `validate`: the feature decisions virtio_balloon takes before `probe`
/// (page poison and reporting as above); no indirect descriptors (no
/// allocation while telling the host or reporting), no platform DMA
/// translation.
///
/// # Safety
///
/// Called by the virtio core with a device it is about to probe.
pub(super) unsafe extern "C" fn validate(vdev: *mut bindings::virtio_device) -> ffi::c_int {
    // SAFETY: the virtio core validates the device it is about to probe.
    unsafe {
        if !free_pages_written() {
            bindings::ob_virtio_clear_feature(vdev, bindings::VIRTIO_BALLOON_F_PAGE_POISON);
        } else if !bindings::ob_virtio_has_feature(vdev, bindings::VIRTIO_BALLOON_F_PAGE_POISON) {
            bindings::ob_virtio_clear_feature(vdev, bindings::VIRTIO_BALLOON_F_REPORTING);
        }
        bindings::ob_virtio_clear_feature(vdev, bindings::VIRTIO_RING_F_INDIRECT_DESC);
        bindings::ob_virtio_clear_feature(vdev, bindings::VIRTIO_F_ACCESS_PLATFORM);
    }
    0
}

/// With `PAGE_POISON`, what the host is told free pages hold: 0 with
/// `init_on_free`, otherwise the poison byte in every byte. QEMU discards no
/// reported page while this is not 0.
///
/// # Safety
///
/// `vdev` is a bound device, or one being probed or restored.
pub(super) unsafe fn poison_value(vdev: *mut bindings::virtio_device) -> Option<u32> {
    // SAFETY: per the function's contract.
    if !unsafe { bindings::ob_virtio_has_feature(vdev, bindings::VIRTIO_BALLOON_F_PAGE_POISON) } {
        return None;
    }
    // SAFETY: reads a boot-time static key.
    Some(if unsafe { bindings::ob_want_init_on_free() } {
        0
    } else {
        u32::from_ne_bytes([bindings::PAGE_POISON as u8; 4])
    })
}

/// With `PAGE_POISON`, tells the host the [`poison_value`].
///
/// # Safety
///
/// `vdev` is a device being probed or restored.
pub(super) unsafe fn write_poison_value(vdev: *mut bindings::virtio_device) {
    // SAFETY: per the function's contract.
    if let Some(value) = unsafe { poison_value(vdev) } {
        // SAFETY: a config space write of a device being probed or restored.
        unsafe { bindings::ob_virtio_balloon_set_poison(vdev, value) };
    }
}
