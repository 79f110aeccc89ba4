// SPDX-License-Identifier: GPL-2.0

//! Simulate mode: a balloon with no hypervisor behind it, like ppc CMM's
//! `simulate` parameter. The target comes from debugfs `target_pages`.

use crate::balloon::Host;

/// A host that takes every page and needs to be told nothing.
pub(crate) struct NoHost;

impl Host for NoHost {
    fn inflate(&self, _pfns: &[u32]) {}
    fn deflate(&self, _pfns: &[u32]) {}
    fn report_size(&self, _pages: u64) {}
}
