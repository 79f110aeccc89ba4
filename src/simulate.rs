// SPDX-License-Identifier: GPL-2.0

//! Simulate mode: a balloon with no hypervisor behind it, like ppc CMM's
//! `simulate` parameter. The target comes from debugfs `target_pages`.

use crate::balloon::{Balloon, Config, Host};
use crate::control::Control;
use crate::debugfs;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A host that takes every page and needs to be told nothing.
struct NoHost;

impl Host for NoHost {
    fn inflate(&self, _pfns: &[u64]) {}
    fn deflate(&self, _pfns: &[u64]) {}
    fn report_size(&self, _pages: u64) {}
    fn target(&self) -> Option<u64> {
        None
    }
    fn pfn_limit(&self) -> u64 {
        u64::MAX
    }
}

/// The simulated balloon device and its debugfs files.
pub(crate) struct Device {
    debugfs: Option<debugfs::Dir<Control>>,
    balloon: Arc<Balloon>,
}

impl Device {
    /// Creates a balloon inflating as `config` says, controlled through debugfs.
    pub(crate) fn new(config: Config) -> Result<Self> {
        let balloon = Balloon::new(config, Arc::new(NoHost, GFP_KERNEL)?)?;
        let control = Control::new(balloon.clone(), true)?;
        let debugfs = debugfs::Dir::new(c_str!("offline_balloon"), control)?;
        // Last: on a notifier chain the balloon can be called at any time. On an
        // error `start` has left the chains it joined.
        balloon.start(true)?;
        Ok(Self {
            debugfs: Some(debugfs),
            balloon,
        })
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // No more target changes, then give every page back.
        drop(self.debugfs.take());
        self.balloon.shutdown();
    }
}
