// SPDX-License-Identifier: GPL-2.0

//! offline_balloon: a PageOffline-aware memory balloon driver.
//!
//! Inflated pages come from [`offline_page`]: taken from the buddy allocator,
//! marked PageOffline and taken out of the managed page count. Movable ones
//! can be migrated by compaction and memory offlining through the balloon
//! compaction hooks ([`balloon`]). The host drives the balloon through the
//! virtio balloon device ([`virtio`]), or, with `simulate=1`, debugfs does
//! ([`simulate`]). Statistics and control live under
//! `/sys/kernel/debug/offline_balloon/` ([`control`]).
//!
//! Module parameters (C, see `helpers.c`): `simulate` (no device; debugfs
//! sets the target) and `movable` (refcount model of inflated pages in
//! simulate mode; the virtio backend always uses movable pages).

use kernel::prelude::*;

mod balloon;
mod bindings;
mod control;
mod debugfs;
mod offline_page;
mod page_list;
mod simulate;
mod stats;
mod virtio;

module! {
    type: OfflineBalloon,
    name: "offline_balloon",
    author: "offline_balloon developers",
    description: "PageOffline-aware memory balloon driver",
    license: "GPL",
    alias: ["virtio:d00000005v*"],
}

/// Where the balloon's target comes from; dropping it gives every page back.
enum Backend {
    Simulate { _device: simulate::Device },
    Virtio { _driver: virtio::Driver },
}

struct OfflineBalloon {
    _backend: Backend,
}

impl kernel::Module for OfflineBalloon {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: reads module parameters, fixed at load time.
        let (simulate, movable) = unsafe { (bindings::ob_param_simulate(), bindings::ob_param_movable()) };
        let backend = if simulate {
            let model = if movable {
                offline_page::RefModel::Movable
            } else {
                offline_page::RefModel::Frozen
            };
            Backend::Simulate {
                _device: simulate::Device::new(model)?,
            }
        } else {
            if !movable {
                pr_err!("movable=0 is for simulate mode; the virtio backend balloons movable pages\n");
                return Err(EINVAL);
            }
            Backend::Virtio {
                _driver: virtio::Driver::register()?,
            }
        };
        pr_info!("loaded: simulate={} movable={}\n", simulate, movable);
        Ok(Self { _backend: backend })
    }
}

impl Drop for OfflineBalloon {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
