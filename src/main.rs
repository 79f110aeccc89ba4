// SPDX-License-Identifier: GPL-2.0

//! offline_balloon: a PageOffline-aware memory balloon driver.
//!
//! Inflated pages come from [`offline_page`]: taken from the buddy allocator,
//! out of the managed page count and PageOffline (movable ones once the
//! balloon core holds them). Movable ones
//! can be migrated by compaction and memory offlining through the balloon
//! core's migration hooks ([`balloon`]). The host drives the balloon through the
//! virtio balloon device ([`virtio`]), or, with `simulate=1`, debugfs does
//! ([`simulate`]). Statistics and control live under
//! `/sys/kernel/debug/offline_balloon/` ([`control`]).
//!
//! Module parameters (C, see `helpers.c`): `simulate` (no device; debugfs
//! sets the target), `movable` (refcount model of inflated pages in simulate
//! mode; the virtio backend always uses movable pages), `batch` (pages per
//! batch and host request), `order` (inflate whole blocks first) and
//! `evacuate` (frozen pages leave a memory block going offline for pages
//! elsewhere, rather than going offline with it) and `keep_hotplugged`
//! (frozen pages come from hot-added memory being onlined first).

// The `pin_init!` of `Balloon` expands past the default limit of 128.
#![recursion_limit = "256"]

use kernel::prelude::*;

mod balloon;
mod bindings;
mod compat;
mod control;
mod debugfs;
mod floor;
mod frozen_set;
mod notifiers;
mod offline_page;
mod page_batch;
mod page_list;
mod simulate;
mod stats;
mod virtio;

module! {
    type: OfflineBalloon,
    name: "offline_balloon",
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

/// Largest `batch`: 64 KiB of PFNs per host request.
const MAX_BATCH: usize = 16384;

/// The balloon configuration from the module parameters, checked at load.
fn config() -> balloon::Config {
    // SAFETY: reads module parameters, fixed at load time.
    let (movable, batch, order, evacuate, keep_hotplugged) = unsafe {
        (
            bindings::ob_param_movable(),
            bindings::ob_param_batch(),
            bindings::ob_param_order(),
            bindings::ob_param_evacuate(),
            bindings::ob_param_keep_hotplugged(),
        )
    };
    balloon::Config {
        model: if movable {
            offline_page::RefModel::Movable
        } else {
            offline_page::RefModel::Frozen
        },
        batch: batch as usize,
        order,
        evacuate,
        keep_hotplugged,
    }
}

impl kernel::Module for OfflineBalloon {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: reads a module parameter, fixed at load time.
        let simulate = unsafe { bindings::ob_param_simulate() };
        offline_page::init();
        let config = config();
        if !(1..=MAX_BATCH).contains(&config.batch) {
            pr_err!("batch={} is out of range 1..={}\n", config.batch, MAX_BATCH);
            return Err(EINVAL);
        }
        if config.order > bindings::OB_MAX_PAGE_ORDER || (1usize << config.order) > config.batch {
            pr_err!(
                "order={} must be at most {} and fit in a batch ({} pages)\n",
                config.order,
                bindings::OB_MAX_PAGE_ORDER,
                config.batch
            );
            return Err(EINVAL);
        }
        let backend = if simulate {
            Backend::Simulate {
                _device: simulate::Device::new(config)
                    .inspect_err(|e| pr_err!("simulate mode: setup failed: {:?}\n", e))?,
            }
        } else {
            if config.model != offline_page::RefModel::Movable {
                pr_err!(
                    "movable=0 is for simulate mode; the virtio backend balloons movable pages\n"
                );
                return Err(EINVAL);
            }
            Backend::Virtio {
                _driver: virtio::Driver::register()?,
            }
        };
        pr_info!(
            "loaded: simulate={} model={:?} batch={} order={}\n",
            simulate,
            config.model,
            config.batch,
            config.order
        );
        Ok(Self { _backend: backend })
    }
}

impl Drop for OfflineBalloon {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
