// SPDX-License-Identifier: GPL-2.0

//! The balloon's debugfs files under `/sys/kernel/debug/offline_balloon/`.
//!
//! - `target_pages`: the target in 4 KiB pages; in simulate mode, writing a
//!   decimal page count sets it. Anything else is refused with -EINVAL (or
//!   -EPERM outside simulate mode) and a kernel log line, and changes nothing.
//! - `stats`: one `name value` line per statistic (see [`crate::stats`]).

use crate::balloon::Balloon;
use crate::bindings;
use crate::debugfs::{Files, SHOW_MAX};
use crate::stats::TextBuf;
use core::fmt::{self, Write};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

const TARGET_PAGES: usize = 0;
const STATS: usize = 1;

/// The debugfs interface of a balloon.
pub(crate) struct Control {
    /// The balloon shown and controlled.
    pub(crate) balloon: Arc<Balloon>,
    /// Whether debugfs sets the target (simulate mode) or the host does.
    pub(crate) simulate: bool,
}

impl Control {
    fn store_target(&self, input: &[u8]) -> Result {
        if !self.simulate {
            pr_err!("target_pages: the host sets the target; writable only with simulate=1\n");
            return Err(EPERM);
        }
        let text = core::str::from_utf8(input).map_err(|_| EINVAL)?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        let pages: u64 = text.parse().map_err(|_| {
            pr_err!(
                "target_pages: '{}' is not a decimal page count\n",
                text.escape_debug()
            );
            EINVAL
        })?;
        // SAFETY: reads an atomic counter.
        let ram = unsafe { bindings::ob_totalram_pages() } as u64 + self.balloon.stats.inflated();
        if pages > ram {
            pr_err!(
                "target_pages: {} is more than the {} pages of RAM\n",
                pages,
                ram
            );
            return Err(EINVAL);
        }
        self.balloon.set_target(pages);
        Ok(())
    }
}

impl Files for Control {
    const FILES: &'static [(&'static CStr, u16)] =
        &[(c_str!("target_pages"), 0o644), (c_str!("stats"), 0o444)];

    fn show(&self, index: usize, out: &mut TextBuf<SHOW_MAX>) -> fmt::Result {
        let balloon = &self.balloon;
        match index {
            TARGET_PAGES => writeln!(out, "{}", balloon.target()),
            STATS => balloon
                .stats
                .write(out, balloon.target(), balloon.isolated()),
            _ => Err(fmt::Error),
        }
    }

    fn store(&self, index: usize, input: &[u8]) -> Result {
        match index {
            TARGET_PAGES => self.store_target(input),
            _ => Err(EPERM),
        }
    }
}
