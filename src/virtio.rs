// SPDX-License-Identifier: GPL-2.0

//! The virtio-balloon backend: a driver for the virtio balloon device
//! (`VIRTIO_ID_BALLOON`), e.g. QEMU's `virtio-balloon-pci`, driven by the host.
//!
//! Features: `MUST_TELL_HOST` (deflated pages are always reported before they
//! are freed), `STATS_VQ` and `DEFLATE_ON_OOM`; any other feature the device
//! offers is left unnegotiated. The host's target (`num_pages`) is read by the
//! balloon's worker after a config change; `actual` is written after every
//! change. PFNs travel in 4 KiB units as 32-bit numbers, so pages above 16 TiB
//! are never ballooned. Virtqueue callbacks and config changes (possibly in
//! interrupt context) only wake work items.
//!
//! Suspend and hibernation: `freeze` takes the host channel away from the
//! balloon (it keeps its pages; the OOM notifier and migration give up until
//! `restore`), stops the statistics, resets the device and frees its
//! virtqueues; `restore` finds new ones, tells the host the balloon's size and
//! lets the worker follow the host's target again. The worker runs on the
//! freezable system workqueue, so it is idle in between.

use crate::balloon::{Balloon, Config, Host};
use crate::bindings;
use crate::compat;
use crate::control::Control;
use crate::debugfs;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, Mutex};
use kernel::types::Opaque;
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};
use kernel::{c_str, ffi};

const VQ_INFLATE: usize = 0;
const VQ_DEFLATE: usize = 1;
const VQ_STATS: usize = 2;
const NR_VQS: usize = 3;

/// 4 KiB balloon pages per guest page.
const PFNS_PER_PAGE: usize = bindings::OB_PAGE_SIZE >> bindings::VIRTIO_BALLOON_PFN_SHIFT;

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

static FEATURES: [ffi::c_uint; 3] = [
    bindings::VIRTIO_BALLOON_F_MUST_TELL_HOST,
    bindings::VIRTIO_BALLOON_F_STATS_VQ,
    bindings::VIRTIO_BALLOON_F_DEFLATE_ON_OOM,
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
                feature_table: FEATURES.as_ptr(),
                feature_table_size: FEATURES.len() as ffi::c_uint,
                validate: Some(validate),
                probe: Some(probe),
                remove: Some(remove),
                config_changed: Some(config_changed),
                freeze: Some(freeze),
                restore: Some(restore),
                ..Default::default()
            });
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

/// The first guest PFN whose 4 KiB PFNs do not fit in 32 bits.
const PFN_LIMIT: u64 = (1 << 32) / PFNS_PER_PAGE as u64;

/// What the host is told through: the virtqueues and their buffers.
#[pin_data]
struct VirtioHost {
    vdev: *mut bindings::virtio_device,
    /// The virtqueues; replaced by `restore`, while nothing uses them.
    vqs: [AtomicPtr<bindings::virtqueue>; NR_VQS],
    /// No statistics requests are served (set before a reset).
    stats_stopped: AtomicBool,
    little_endian: bool,
    /// Woken by the inflate and deflate virtqueue callbacks.
    #[pin]
    acked: Opaque<bindings::wait_queue_head>,
    /// PFNs on their way to the host (heap memory: it is DMA-mapped).
    #[pin]
    pfns: Mutex<KVec<u32>>,
    #[pin]
    stats: Mutex<StatsBuf>,
    #[pin]
    stats_work: Work<VirtioHost>,
}

/// The statistics buffer the host reads, and room for the VM event counters.
struct StatsBuf {
    stats: KVec<bindings::virtio_balloon_stat>,
    events: KVec<ffi::c_ulong>,
}

// SAFETY: the device and its virtqueues may be used from any thread; every use of a
// virtqueue is serialised (inflate/deflate by the balloon's host channel, stats by the
// `stats` mutex), and the virtqueues are replaced only while neither can use them
// (`freeze` and `restore`).
unsafe impl Send for VirtioHost {}
// SAFETY: as for `Send`.
unsafe impl Sync for VirtioHost {}

impl_has_work! {
    impl HasWork<Self> for VirtioHost { self.stats_work }
}

impl VirtioHost {
    fn new(
        vdev: *mut bindings::virtio_device,
        vqs: [*mut bindings::virtqueue; NR_VQS],
        batch: usize,
    ) -> Result<Arc<Self>> {
        // SAFETY: `vdev` is the device being probed.
        let little_endian = unsafe { bindings::ob_virtio_is_little_endian(vdev) };
        let stats = StatsBuf {
            stats: KVec::from_elem(
                bindings::virtio_balloon_stat { tag: 0, val: 0 },
                bindings::VIRTIO_BALLOON_S_NR as usize,
                GFP_KERNEL,
            )?,
            events: KVec::from_elem(
                0,
                bindings::vm_event_item_NR_VM_EVENT_ITEMS as usize,
                GFP_KERNEL,
            )?,
        };
        let pfns = KVec::from_elem(0, batch * PFNS_PER_PAGE, GFP_KERNEL)?;
        let this = Arc::pin_init(
            pin_init!(Self {
                vdev,
                vqs: vqs.map(AtomicPtr::new),
                stats_stopped: AtomicBool::new(false),
                little_endian,
                acked: Opaque::uninit(),
                pfns <- new_mutex!(pfns),
                stats <- new_mutex!(stats),
                stats_work <- new_work!("offline_balloon::stats_work"),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `acked` is pinned in the Arc and not yet shared.
        unsafe { bindings::ob_init_waitqueue_head(this.acked.get()) };
        Ok(this)
    }

    fn has_feature(&self, bit: u32) -> bool {
        // SAFETY: `vdev` is live while the host is.
        unsafe { bindings::ob_virtio_has_feature(self.vdev, bit) }
    }

    fn cpu_to_virtio32(&self, v: u32) -> u32 {
        if self.little_endian {
            v.to_le()
        } else {
            v.to_be()
        }
    }

    fn vq(&self, index: usize) -> *mut bindings::virtqueue {
        self.vqs[index].load(Relaxed)
    }

    /// Sends `pfns` (guest page frames below [`PFN_LIMIT`]) on virtqueue `vq`
    /// as 4 KiB PFNs and waits until the host has taken them.
    fn tell(&self, vq: usize, pfns: &[u64]) {
        let mut buf = self.pfns.lock();
        let per_request = buf.len() / PFNS_PER_PAGE;
        for chunk in pfns.chunks(per_request) {
            let mut n = 0;
            for &pfn in chunk {
                for i in 0..PFNS_PER_PAGE as u64 {
                    // The balloon inflates no page at or above `PFN_LIMIT`: this fits.
                    buf[n] = self.cpu_to_virtio32((pfn * PFNS_PER_PAGE as u64 + i) as u32);
                    n += 1;
                }
            }
            let mut sg = bindings::scatterlist::default();
            // SAFETY: `buf` is heap memory of at least `n` PFNs, kept locked until the host
            // used it; the virtqueue is live and only this caller (holding the balloon's
            // host channel) adds to it. The data token is any non-null pointer.
            unsafe {
                bindings::sg_init_one(&mut sg, buf.as_ptr().cast(), (n * 4) as ffi::c_uint);
                let err = bindings::virtqueue_add_outbuf(
                    self.vq(vq),
                    &mut sg,
                    1,
                    core::ptr::from_ref(self).cast_mut().cast::<ffi::c_void>(),
                    bindings::OB_GFP_KERNEL,
                );
                if err != 0 {
                    pr_err!("cannot queue {} PFNs for the host: error {}\n", n, err);
                    return;
                }
                bindings::virtqueue_kick(self.vq(vq));
                bindings::ob_wait_for_used_buf(self.acked.get(), self.vq(vq));
            }
        }
    }

    /// Fills the statistics buffer; returns the number of entries.
    fn update_stats(&self, buf: &mut StatsBuf) -> usize {
        let StatsBuf { stats, events } = buf;
        // SAFETY: `events` has room for every VM event counter.
        unsafe { bindings::all_vm_events(events.as_mut_ptr()) };
        let ev = |item: bindings::vm_event_item| events[item as usize] as u64;
        let mut stall = 0;
        for zid in 0..bindings::zone_type___MAX_NR_ZONES {
            stall += ev(bindings::vm_event_item_ALLOCSTALL_NORMAL
                - bindings::zone_type_ZONE_NORMAL
                + zid);
        }
        let mut info = bindings::sysinfo::default();
        // SAFETY: `info` is a valid sysinfo to fill.
        unsafe { bindings::si_meminfo(&mut info) };
        // SAFETY: plain reads of memory counters.
        let (available, caches) = unsafe {
            (
                bindings::si_mem_available() as u64,
                bindings::ob_node_page_state(bindings::node_stat_item_NR_FILE_PAGES) as u64,
            )
        };
        let bytes = |pages: u64| pages * bindings::OB_PAGE_SIZE as u64;
        let reclaim = compat::Reclaim::read(events);
        let values = [
            (
                bindings::VIRTIO_BALLOON_S_SWAP_IN,
                bytes(ev(bindings::vm_event_item_PSWPIN)),
            ),
            (
                bindings::VIRTIO_BALLOON_S_SWAP_OUT,
                bytes(ev(bindings::vm_event_item_PSWPOUT)),
            ),
            (
                bindings::VIRTIO_BALLOON_S_MAJFLT,
                ev(bindings::vm_event_item_PGMAJFAULT),
            ),
            (
                bindings::VIRTIO_BALLOON_S_MINFLT,
                ev(bindings::vm_event_item_PGFAULT),
            ),
            (
                bindings::VIRTIO_BALLOON_S_OOM_KILL,
                ev(bindings::vm_event_item_OOM_KILL),
            ),
            (bindings::VIRTIO_BALLOON_S_ALLOC_STALL, stall),
            (
                bindings::VIRTIO_BALLOON_S_ASYNC_SCAN,
                bytes(reclaim.kswapd_scan),
            ),
            (
                bindings::VIRTIO_BALLOON_S_DIRECT_SCAN,
                bytes(reclaim.direct_scan),
            ),
            (
                bindings::VIRTIO_BALLOON_S_ASYNC_RECLAIM,
                bytes(reclaim.kswapd_steal),
            ),
            (
                bindings::VIRTIO_BALLOON_S_DIRECT_RECLAIM,
                bytes(reclaim.direct_steal),
            ),
            (
                bindings::VIRTIO_BALLOON_S_MEMFREE,
                bytes(info.freeram as u64),
            ),
            (
                bindings::VIRTIO_BALLOON_S_MEMTOT,
                bytes(info.totalram as u64),
            ),
            (bindings::VIRTIO_BALLOON_S_AVAIL, bytes(available)),
            (bindings::VIRTIO_BALLOON_S_CACHES, bytes(caches)),
        ];
        for (slot, (tag, val)) in stats.iter_mut().zip(values) {
            let (tag, val) = if self.little_endian {
                ((tag as u16).to_le(), val.to_le())
            } else {
                ((tag as u16).to_be(), val.to_be())
            };
            *slot = bindings::virtio_balloon_stat { tag, val };
        }
        values.len()
    }

    /// Hands the host a fresh statistics buffer; with `first`, the initial one
    /// that the host uses to ask for statistics later.
    fn send_stats(&self, first: bool) -> Result {
        let mut buf = self.stats.lock();
        let vq = self.vq(VQ_STATS);
        let n = self.update_stats(&mut buf);
        let mut len = 0;
        // SAFETY: the stats virtqueue is live and used only by this function, under the
        // `stats` mutex.
        if !first && unsafe { bindings::virtqueue_get_buf(vq, &mut len) }.is_null() {
            return Ok(());
        }
        let mut sg = bindings::scatterlist::default();
        // SAFETY: the statistics buffer is heap memory that lives as long as the device;
        // the host reads it until it returns it with its next request.
        let err = unsafe {
            bindings::sg_init_one(
                &mut sg,
                buf.stats.as_ptr().cast(),
                (n * core::mem::size_of::<bindings::virtio_balloon_stat>()) as ffi::c_uint,
            );
            bindings::virtqueue_add_outbuf(
                vq,
                &mut sg,
                1,
                core::ptr::from_ref(self).cast_mut().cast::<ffi::c_void>(),
                bindings::OB_GFP_KERNEL,
            )
        };
        kernel::error::to_result(err).inspect_err(|e| {
            pr_err!("cannot queue the statistics buffer: {:?}\n", e);
        })?;
        // SAFETY: as above.
        unsafe { bindings::virtqueue_kick(vq) };
        Ok(())
    }

    /// Stops serving statistics requests and waits for one in progress; a
    /// request queued later finds the statistics stopped and does nothing.
    fn stop_stats(&self) {
        self.stats_stopped.store(true, Relaxed);
        self.flush_stats();
    }

    /// Waits until the statistics work item is idle.
    fn flush_stats(&self) {
        // SAFETY: `stats_work` is an initialised work item of this live host.
        unsafe { kernel::bindings::flush_work(Work::raw_get(&self.stats_work)) };
    }
}

impl WorkItem for VirtioHost {
    type Pointer = Arc<VirtioHost>;

    fn run(this: Arc<VirtioHost>) {
        if !this.stats_stopped.load(Relaxed) {
            // A failure is logged; the host then stops asking.
            let _ = this.send_stats(false);
        }
    }
}

impl Host for VirtioHost {
    fn inflate(&self, pfns: &[u64]) {
        self.tell(VQ_INFLATE, pfns);
    }

    fn deflate(&self, pfns: &[u64]) {
        self.tell(VQ_DEFLATE, pfns);
    }

    fn report_size(&self, pages: u64) {
        // SAFETY: `vdev` is live; writing `actual` is a config space write.
        unsafe {
            bindings::ob_virtio_balloon_set_actual(self.vdev, (pages * PFNS_PER_PAGE as u64) as u32)
        };
    }

    fn target(&self) -> Option<u64> {
        // SAFETY: `vdev` is live; reading `num_pages` is a config space read.
        let num_pages = u64::from(unsafe { bindings::ob_virtio_balloon_num_pages(self.vdev) });
        // Round up to whole guest pages, as virtio_balloon does.
        Some(num_pages.div_ceil(PFNS_PER_PAGE as u64))
    }

    fn pfn_limit(&self) -> u64 {
        PFN_LIMIT
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

/// Finds the virtqueues of `vdev`: inflate, deflate, and stats if offered.
fn find_vqs(vdev: *mut bindings::virtio_device) -> Result<[*mut bindings::virtqueue; NR_VQS]> {
    let mut vqs = [null_mut(); NR_VQS];
    let mut infos = [bindings::virtqueue_info::default(); NR_VQS];
    infos[VQ_INFLATE] = vq_info(c_str!("inflate"), balloon_ack);
    infos[VQ_DEFLATE] = vq_info(c_str!("deflate"), balloon_ack);
    // SAFETY: `vdev` is the device being probed or restored.
    if unsafe { bindings::ob_virtio_has_feature(vdev, bindings::VIRTIO_BALLOON_F_STATS_VQ) } {
        infos[VQ_STATS] = vq_info(c_str!("stats"), stats_request);
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

/// The last steps of `probe`, after `priv` is set (the statistics callback
/// needs it): the first statistics buffer, then the notifier chains.
fn start_device(device: &Device) -> Result {
    let host = &device.host;
    if host.has_feature(bindings::VIRTIO_BALLOON_F_STATS_VQ) {
        host.send_stats(true)?;
    }
    device
        .balloon
        .start(host.has_feature(bindings::VIRTIO_BALLOON_F_DEFLATE_ON_OOM))
}

fn vq_info(
    name: &'static CStr,
    callback: unsafe extern "C" fn(*mut bindings::virtqueue),
) -> bindings::virtqueue_info {
    bindings::virtqueue_info {
        name: name.as_char_ptr(),
        callback: Some(callback),
        ctx: false,
    }
}

/// `validate`: no indirect descriptors (no allocation while telling the host),
/// no platform DMA translation, as virtio_balloon does.
///
/// # Safety
///
/// Called by the virtio core with a device it is about to probe.
unsafe extern "C" fn validate(vdev: *mut bindings::virtio_device) -> ffi::c_int {
    // SAFETY: the virtio core validates the device it is about to probe.
    unsafe {
        bindings::ob_virtio_clear_feature(vdev, bindings::VIRTIO_RING_F_INDIRECT_DESC);
        bindings::ob_virtio_clear_feature(vdev, bindings::VIRTIO_F_ACCESS_PLATFORM);
    }
    0
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
    if let Err(e) = start_device(device) {
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

/// Gives every page back, stops the statistics, resets the device, frees
/// its queues and the `Device`.
///
/// # Safety
///
/// `vdev` must be bound to this driver with `priv` set by `probe`, and
/// config change callbacks disabled (or never enabled); `priv` is freed.
unsafe fn release(vdev: *mut bindings::virtio_device) {
    // SAFETY: per the function's contract.
    let device = unsafe { Device::from_vdev(vdev) };
    device.host.stop_stats();
    device.balloon.shutdown();
    // SAFETY: the queues are unused: the balloon is shut down, the statistics stopped.
    unsafe { reset_and_free_queues(vdev, device) };
    // SAFETY: nothing uses the `Device` any more; `probe` made `priv` from a `KBox`.
    unsafe {
        drop(KBox::from_raw((*vdev).priv_.cast::<Device>()));
        (*vdev).priv_ = null_mut();
    }
}

/// Resets the device, so that no callback runs any more, waits for a
/// statistics request that raced `stop_stats`, and frees the queues (if
/// there are any: none after a failed `restore`).
///
/// # Safety
///
/// `device` is the bound `vdev`'s, and nothing uses its queues any more.
unsafe fn reset_and_free_queues(vdev: *mut bindings::virtio_device, device: &Device) {
    // SAFETY: per the function's contract; after the reset no callback uses the queues.
    unsafe { bindings::virtio_reset_device(vdev) };
    device.host.flush_stats();
    if !device.host.vq(VQ_INFLATE).is_null() {
        // SAFETY: the queues exist and nothing uses them (see above).
        unsafe { bindings::ob_virtio_del_vqs(vdev) };
    }
    for vq in &device.host.vqs {
        vq.store(null_mut(), Relaxed);
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
/// reset the device and free its queues. The worker's workqueue is already
/// frozen.
///
/// # Safety
///
/// Called by the virtio core with a device that `probe` bound, config changes
/// disabled.
unsafe extern "C" fn freeze(vdev: *mut bindings::virtio_device) -> ffi::c_int {
    // SAFETY: per the function's contract.
    let device = unsafe { Device::from_vdev(vdev) };
    device.host.stop_stats();
    device.balloon.suspend_host();
    // SAFETY: the queues are unused: the host channel is down, the statistics stopped.
    unsafe { reset_and_free_queues(vdev, device) };
    0
}

/// `restore` (resume): new queues, the statistics buffer, then the balloon
/// follows the host again.
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
    unsafe { Device::from_vdev(vdev) }.balloon.host_changed();
}

/// Inflate and deflate virtqueue callback (interrupt context): wake the sender.
///
/// # Safety
///
/// Called by the virtio core for a virtqueue of a bound device.
unsafe extern "C" fn balloon_ack(vq: *mut bindings::virtqueue) {
    // SAFETY: buffers are only queued once `priv` is set, and `release` resets the
    // device (no more callbacks) before it frees `priv`.
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
    let device = unsafe { Device::from_vdev((*vq).vdev) };
    if !device.host.stats_stopped.load(Relaxed) {
        let _ = workqueue::system_freezable().enqueue(device.host.clone());
    }
}
