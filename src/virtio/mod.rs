// SPDX-License-Identifier: GPL-2.0

//! The virtio-balloon backend: a driver for the virtio balloon device
//! (`VIRTIO_ID_BALLOON`), e.g. QEMU's `virtio-balloon-pci`, driven by the host,
//! that negotiates every feature of the in-tree virtio_balloon
//! ([`features`]).
//!
//! One file per concern: [`features`] (what is negotiated and decided before
//! `probe`), [`host`] (the virtqueues and the balloon's inflate/deflate
//! requests), [`stats`], [`reporting`] (free page reporting), [`hinting`]
//! (free page hinting) and [`wakeup`]; this file binds them to the device's
//! life: `probe`, `remove`, `freeze`, `restore` and the virtqueue callbacks.
//! The host's target (`num_pages`) is read by the balloon's worker after a
//! config change; `actual` is written after every change. Virtqueue
//! callbacks and config changes (possibly in interrupt context) only wake
//! work items.
//!
//! Suspend and hibernation: `freeze` takes the host channel away from the
//! balloon (it keeps its pages; the OOM notifier and migration give up until
//! `restore`), leaves page reporting, stops statistics and hinting, resets the
//! device, frees its virtqueues and gives hinted blocks back; `restore` finds
//! new ones, tells the host the balloon's size and lets the worker follow the
//! host's target again. The work items run on the freezable system workqueue,
//! so they are idle in between.

mod blocks;
mod features;
mod hinting;
mod host;
mod reporting;
mod stats;
mod wakeup;

use crate::balloon::{Balloon, Config};
use crate::bindings;
use crate::compat;
use crate::control::Control;
use crate::debugfs;
use core::ptr::null_mut;
use core::sync::atomic::Ordering::Relaxed;
use host::{VirtioHost, NR_VQS, VQ_DEFLATE, VQ_FREE_PAGE, VQ_INFLATE, VQ_REPORTING, VQ_STATS};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;
use kernel::{c_str, ffi};
use wakeup::Wakeup;

static ID_TABLE: [bindings::virtio_device_id; 2] = [
    bindings::virtio_device_id {
        device: bindings::VIRTIO_ID_BALLOON,
        vendor: bindings::VIRTIO_DEV_ANY_ID,
    },
    bindings::virtio_device_id {
        device: 0,
        vendor: 0,
    },
];

/// The registered virtio driver; unregistered (removing every device) on drop.
pub(crate) struct Driver {
    drv: Pin<KBox<Opaque<bindings::virtio_driver>>>,
}

// SAFETY: the driver structure is only handed to the virtio core, which is thread-safe.
unsafe impl Send for Driver {}
// SAFETY: `Driver` has no methods taking `&self`.
unsafe impl Sync for Driver {}

impl Driver {
    /// Registers the driver; the virtio core probes matching devices.
    pub(crate) fn register() -> Result<Self> {
        let drv = KBox::pin(Opaque::<bindings::virtio_driver>::uninit(), GFP_KERNEL)?;
        // SAFETY: `drv` is pinned heap memory that stays registered until `drop`; the
        // tables are statics.
        unsafe {
            drv.get().write(bindings::virtio_driver {
                driver: bindings::device_driver {
                    name: c_str!("offline_balloon").as_char_ptr(),
                    ..Default::default()
                },
                id_table: ID_TABLE.as_ptr(),
                feature_table: features::FEATURES.as_ptr(),
                feature_table_size: features::FEATURES.len() as ffi::c_uint,
                validate: Some(features::validate),
                probe: Some(probe),
                remove: Some(remove),
                config_changed: Some(config_changed),
                freeze: Some(freeze),
                restore: Some(restore),
                ..Default::default()
            });
            compat::set_virtio_shutdown(&mut *drv.get());
            kernel::error::to_result(bindings::ob_register_virtio_driver(drv.get()))?;
        }
        Ok(Self { drv })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; unregistering removes every bound device.
        unsafe { bindings::unregister_virtio_driver(self.drv.get()) };
    }
}

/// A bound device: its host channel, balloon and debugfs files.
struct Device {
    host: Arc<VirtioHost>,
    balloon: Arc<Balloon>,
    _debugfs: debugfs::Dir<Control>,
}

impl Device {
    /// Recovers the device from a virtio device this driver probed.
    ///
    /// # Safety
    ///
    /// `vdev` must be bound to this driver, with `priv` set by `probe` and not
    /// yet taken back by `release`.
    unsafe fn from_vdev<'a>(vdev: *mut bindings::virtio_device) -> &'a Device {
        // SAFETY: `probe` set `priv` to a `Device` that `release` frees.
        unsafe { &*(*vdev).priv_.cast::<Device>() }
    }
}

/// Finds the virtqueues of `vdev`: inflate and deflate, then stats, free
/// page and reporting for the features negotiated.
fn find_vqs(vdev: *mut bindings::virtio_device) -> Result<[*mut bindings::virtqueue; NR_VQS]> {
    // SAFETY: `vdev` is the device being probed or restored.
    let has = |bit| unsafe { bindings::ob_virtio_has_feature(vdev, bit) };
    let mut vqs = [null_mut(); NR_VQS];
    let mut infos = [bindings::virtqueue_info::default(); NR_VQS];
    infos[VQ_INFLATE] = vq_info(c_str!("inflate"), Some(balloon_ack));
    infos[VQ_DEFLATE] = vq_info(c_str!("deflate"), Some(balloon_ack));
    if has(bindings::VIRTIO_BALLOON_F_STATS_VQ) {
        infos[VQ_STATS] = vq_info(c_str!("stats"), Some(stats_request));
    }
    if has(bindings::VIRTIO_BALLOON_F_FREE_PAGE_HINT) {
        // The hint work item takes used buffers back itself.
        infos[VQ_FREE_PAGE] = vq_info(c_str!("free_page_vq"), None);
    }
    if has(bindings::VIRTIO_BALLOON_F_REPORTING) {
        infos[VQ_REPORTING] = vq_info(c_str!("reporting_vq"), Some(balloon_ack));
    }
    // SAFETY: `vqs` and `infos` have NR_VQS entries; a null name skips a queue.
    kernel::error::to_result(unsafe {
        bindings::ob_virtio_find_vqs(vdev, NR_VQS as u32, vqs.as_mut_ptr(), infos.as_mut_ptr())
    })?;
    Ok(vqs)
}

/// Sets up the virtqueues, the balloon (not yet on any notifier chain) and
/// the debugfs files of `vdev`.
fn new_device(vdev: *mut bindings::virtio_device, config: Config) -> Result<KBox<Device>> {
    // SAFETY: `vdev` is the device being probed.
    if unsafe { (*(*vdev).config).get.is_none() } {
        pr_err!("virtio-balloon device without config access\n");
        return Err(EINVAL);
    }
    let vqs = find_vqs(vdev)?;
    let device = (|| {
        let host = VirtioHost::new(vdev, vqs, config.batch)?;
        let balloon = Balloon::new(config, host.clone())?;
        let control = Control::new(balloon.clone(), false)?;
        let debugfs = debugfs::Dir::new(c_str!("offline_balloon"), control)?;
        Ok(KBox::new(
            Device {
                host,
                balloon,
                _debugfs: debugfs,
            },
            GFP_KERNEL,
        )?)
    })();
    if device.is_err() {
        // SAFETY: the queues were found above, no buffer was queued and nothing uses them.
        // The reset first: deleting the queues does not disable them in the device, and
        // the next probe's find_vqs would fail on queues still enabled (-ENOENT).
        unsafe {
            bindings::virtio_reset_device(vdev);
            bindings::ob_virtio_del_vqs(vdev);
        }
    }
    device
}

/// The last steps of `probe`, after `priv` is set (the callbacks need it), in
/// virtio_balloon's order: the first statistics buffer, hinting's shrinker,
/// the notifier chains, the poison value, page reporting, wakeup capability.
fn start_device(vdev: *mut bindings::virtio_device, device: &Device) -> Result {
    let host = &device.host;
    if host.has_feature(bindings::VIRTIO_BALLOON_F_STATS_VQ) {
        host.send_stats(true)?;
    }
    host.start_hinting()?;
    device
        .balloon
        .start(host.has_feature(bindings::VIRTIO_BALLOON_F_DEFLATE_ON_OOM))?;
    // SAFETY: `vdev` is being probed.
    unsafe { features::write_poison_value(vdev) };
    host.start_reporting()?;
    // SAFETY: `vdev` is being probed. The balloon cannot wake the system but handles
    // wakeup events the transport passes up, with a wakeup source of its own.
    unsafe { bindings::device_set_wakeup_capable(&raw mut (*vdev).dev, true) };
    Ok(())
}

fn vq_info(
    name: &'static CStr,
    callback: Option<unsafe extern "C" fn(*mut bindings::virtqueue)>,
) -> bindings::virtqueue_info {
    bindings::virtqueue_info {
        name: name.as_char_ptr(),
        callback,
        ctx: false,
    }
}

/// `probe`: set up the virtqueues, the balloon and debugfs, then follow the host.
///
/// # Safety
///
/// Called by the virtio core with a device matching [`ID_TABLE`], not yet bound.
unsafe extern "C" fn probe(vdev: *mut bindings::virtio_device) -> ffi::c_int {
    let device = match new_device(vdev, crate::config()) {
        Ok(device) => device,
        Err(e) => {
            pr_err!("probe failed: {:?}\n", e);
            return e.to_errno();
        }
    };
    // SAFETY: `vdev` is being probed; `release` takes the device back.
    let device = unsafe {
        (*vdev).priv_ = KBox::into_raw(device).cast();
        Device::from_vdev(vdev)
    };
    if let Err(e) = start_device(vdev, device) {
        pr_err!("probe failed: {:?}\n", e);
        // SAFETY: `priv` was set above and the device is not ready.
        unsafe { release(vdev) };
        return e.to_errno();
    }
    // SAFETY: the device is set up.
    unsafe { bindings::ob_virtio_device_ready(vdev) };
    device.balloon.host_changed();
    pr_info!("virtio-balloon device bound\n");
    0
}

/// Leaves page reporting, stops hinting and the statistics, gives every page
/// back, resets the device, frees its queues, the hinted blocks and the
/// `Device`.
///
/// # Safety
///
/// `vdev` must be bound to this driver with `priv` set by `probe`, and
/// config change callbacks disabled (or never enabled); `priv` is freed.
unsafe fn release(vdev: *mut bindings::virtio_device) {
    // SAFETY: per the function's contract.
    let device = unsafe { Device::from_vdev(vdev) };
    let host = &device.host;
    host.stop_reporting();
    host.pause_hinting(true);
    host.stop_hinting();
    host.stop_stats(true);
    device.balloon.shutdown();
    // SAFETY: the queues are unused: the balloon is shut down, reporting, hinting and
    // the statistics stopped.
    unsafe { reset_and_free_queues(vdev, device, true) };
    host.give_back_hints();
    host.wakeup.release(vdev);
    // SAFETY: nothing uses the `Device` any more; `probe` made `priv` from a `KBox`.
    unsafe {
        drop(KBox::from_raw((*vdev).priv_.cast::<Device>()));
        (*vdev).priv_ = null_mut();
    }
}

/// Resets the device, frees the queues (if there are any: none after a
/// failed `restore`), and with `wait` waits for a statistics request that
/// raced `stop_stats`.
///
/// # Safety
///
/// `device` is the bound `vdev`'s, and nothing uses its queues any more.
unsafe fn reset_and_free_queues(vdev: *mut bindings::virtio_device, device: &Device, wait: bool) {
    // SAFETY: per the function's contract: the device stops using the queues.
    unsafe { bindings::virtio_reset_device(vdev) };
    if !device.host.vq(VQ_INFLATE).is_null() {
        // Deleting the queues frees or synchronises their interrupts (vp_del_vqs,
        // vm_del_vqs): no virtqueue callback runs after this, whatever the transport
        // (the reset alone waits for callbacks only on virtio-pci).
        // SAFETY: the queues exist and nothing uses them (see above).
        unsafe { bindings::ob_virtio_del_vqs(vdev) };
    }
    for vq in &device.host.vqs {
        vq.store(null_mut(), Relaxed);
    }
    if wait {
        // A statistics callback that read `stats_stopped` before `stop_stats` set it
        // may have queued the work item since.
        device.host.flush_stats();
    }
}

/// `remove`: give every page back, then reset the device and free its queues.
///
/// # Safety
///
/// Called by the virtio core with a device that `probe` bound, once, with
/// config changes disabled.
unsafe extern "C" fn remove(vdev: *mut bindings::virtio_device) {
    // SAFETY: per the function's contract.
    unsafe { release(vdev) };
    pr_info!("virtio-balloon device released\n");
}

/// `freeze` (suspend, hibernation): keep the pages, stop talking to the host,
/// reset the device, free its queues and give hinted blocks back. The work
/// items' workqueue is already frozen: nothing waits for them here (a queued
/// one runs after `restore`, on the new queues).
///
/// # Safety
///
/// Called by the virtio core with a device that `probe` bound, config changes
/// disabled.
unsafe extern "C" fn freeze(vdev: *mut bindings::virtio_device) -> ffi::c_int {
    // SAFETY: per the function's contract.
    unsafe { stop_talking(vdev, false) };
    // SAFETY: per the function's contract.
    let device = unsafe { Device::from_vdev(vdev) };
    let host = &device.host;
    host.forget_hint_run();
    // SAFETY: the queues are unused: the host channel is down, reporting, hinting and
    // the statistics stopped, their work items frozen.
    unsafe { reset_and_free_queues(vdev, device, false) };
    host.give_back_hints();
    host.wakeup.release(vdev);
    0
}

/// Stops everything that talks to the device: page reporting, hinting and
/// the statistics (with `wait` also their work items in progress: not while
/// the system freezes, when the freezable workqueues run nothing), then takes
/// the host channel from the balloon, waiting for a request in flight. Used
/// by `freeze` and, on kernels with the hook, at system shutdown before the
/// core breaks the device (see [`compat::set_virtio_shutdown`]).
///
/// # Safety
///
/// `vdev` must be bound to this driver with `priv` set by `probe`, config
/// changes disabled.
pub(crate) unsafe fn stop_talking(vdev: *mut bindings::virtio_device, wait: bool) {
    // SAFETY: per the function's contract.
    let device = unsafe { Device::from_vdev(vdev) };
    let host = &device.host;
    host.stop_reporting();
    host.pause_hinting(wait);
    host.stop_stats(wait);
    device.balloon.suspend_host();
}

/// `restore` (resume): new queues, the statistics buffer, the poison value,
/// hinting and page reporting again, then the balloon follows the host.
///
/// # Safety
///
/// Called by the virtio core with a device that `freeze` froze, reset and with
/// its features negotiated again.
unsafe extern "C" fn restore(vdev: *mut bindings::virtio_device) -> ffi::c_int {
    // SAFETY: per the function's contract.
    let device = unsafe { Device::from_vdev(vdev) };
    let host = &device.host;
    let vqs = match find_vqs(vdev) {
        Ok(vqs) => vqs,
        Err(e) => return e.to_errno(),
    };
    for (slot, vq) in host.vqs.iter().zip(vqs) {
        slot.store(vq, Relaxed);
    }
    host.stats_stopped.store(false, Relaxed);
    if host.has_feature(bindings::VIRTIO_BALLOON_F_STATS_VQ) {
        if let Err(e) = host.send_stats(true) {
            return e.to_errno();
        }
    }
    // SAFETY: the device is being restored.
    unsafe { features::write_poison_value(vdev) };
    if let Err(e) = host.start_reporting() {
        return e.to_errno();
    }
    host.resume_hinting();
    // SAFETY: the device is set up again.
    unsafe { bindings::ob_virtio_device_ready(vdev) };
    device.balloon.resume_host();
    0
}

/// `config_changed` (possibly in interrupt context): the host's target may have changed.
///
/// # Safety
///
/// Called by the virtio core with a device that `probe` bound and `remove` has
/// not released (config changes are disabled around both).
unsafe extern "C" fn config_changed(vdev: *mut bindings::virtio_device) {
    // SAFETY: config changes reach only a probed device.
    let device = unsafe { Device::from_vdev(vdev) };
    device.host.wakeup.stay_awake(vdev, Wakeup::ADJUST);
    device.balloon.host_changed();
    device.host.hint_requested();
}

/// Inflate, deflate and reporting virtqueue callback (interrupt context):
/// wake the sender.
///
/// # Safety
///
/// Called by the virtio core for a virtqueue of a bound device.
unsafe extern "C" fn balloon_ack(vq: *mut bindings::virtqueue) {
    // SAFETY: buffers are only queued once `priv` is set, and `release` deletes the
    // queues (no callback runs after that) before it frees `priv`.
    let device = unsafe { Device::from_vdev((*vq).vdev) };
    // SAFETY: `acked` is initialised.
    unsafe { bindings::ob_wake_up(device.host.acked.get()) };
}

/// Stats virtqueue callback (interrupt context): the host asks for statistics.
///
/// # Safety
///
/// Called by the virtio core for the stats virtqueue of a bound device.
unsafe extern "C" fn stats_request(vq: *mut bindings::virtqueue) {
    // SAFETY: as in `balloon_ack`.
    unsafe { Device::from_vdev((*vq).vdev) }
        .host
        .stats_requested();
}
