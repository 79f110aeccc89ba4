// SPDX-License-Identifier: GPL-2.0

//! offline_balloon: a PageOffline-aware memory balloon driver.
//!
//! Inflated pages come from [`offline_page`]: taken from the buddy allocator,
//! marked PageOffline and taken out of the managed page count. Movable ones
//! can be migrated by compaction and memory offlining through the balloon
//! compaction hooks ([`balloon`]). Statistics and control live under
//! `/sys/kernel/debug/offline_balloon/` ([`control`]).
//!
//! Module parameters (C, see `helpers.c`): `simulate` (no device; debugfs
//! sets the target) and `movable` (refcount model of inflated pages).

use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

mod balloon;
mod bindings;
mod control;
mod debugfs;
mod offline_page;
mod page_list;
mod simulate;
mod stats;

module! {
    type: OfflineBalloon,
    name: "offline_balloon",
    author: "offline_balloon developers",
    description: "PageOffline-aware memory balloon driver",
    license: "GPL",
}

struct OfflineBalloon {
    debugfs: Option<debugfs::Dir<control::Control>>,
    balloon: Arc<balloon::Balloon>,
}

impl kernel::Module for OfflineBalloon {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // SAFETY: reads module parameters, fixed at load time.
        let (simulate, movable) =
            unsafe { (bindings::ob_param_simulate(), bindings::ob_param_movable()) };
        if !simulate {
            pr_err!("only simulate=1 is supported so far\n");
            return Err(ENODEV);
        }
        let model = if movable {
            offline_page::RefModel::Movable
        } else {
            offline_page::RefModel::Frozen
        };
        let host = Arc::new(simulate::NoHost, GFP_KERNEL)?;
        let balloon = balloon::Balloon::new(model, host)?;
        balloon.register_oom_notifier()?;
        let control = Arc::new(
            control::Control {
                balloon: balloon.clone(),
                simulate,
            },
            GFP_KERNEL,
        )?;
        let debugfs = debugfs::Dir::new(c_str!("offline_balloon"), control, module)?;
        pr_info!("loaded: simulate={} movable={}\n", simulate, movable);
        Ok(Self {
            debugfs: Some(debugfs),
            balloon,
        })
    }
}

impl Drop for OfflineBalloon {
    fn drop(&mut self) {
        // No more target changes, then give every page back.
        drop(self.debugfs.take());
        let pages = self.balloon.stats.inflated();
        self.balloon.shutdown();
        pr_info!("unloaded, {} pages returned\n", pages);
    }
}
