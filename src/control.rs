// SPDX-License-Identifier: GPL-2.0

//! The balloon's debugfs files under `/sys/kernel/debug/offline_balloon/`.
//!
//! - `target_pages`: the target in 4 KiB pages; in simulate mode, writing a
//!   decimal page count sets it. Anything else is refused with -EINVAL (or
//!   -EPERM outside simulate mode) and a kernel log line, and changes nothing.
//! - `stats`: one `name value` line per statistic (see [`crate::stats`]).
//! - `alloc_floor`: writing a page count allocates and frees that many plain
//!   pages ([`crate::floor`]); reading shows the last run as
//!   `pages N alloc_ns_per_page N free_ns_per_page N`.

use crate::balloon::Balloon;
use crate::bindings;
use crate::debugfs::{Files, SHOW_MAX};
use crate::floor::{self, Floor};
use crate::stats::TextBuf;
use core::fmt::{self, Write};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

const TARGET_PAGES: usize = 0;
const STATS: usize = 1;
const ALLOC_FLOOR: usize = 2;

/// The debugfs interface of a balloon.
pub(crate) struct Control {
    /// The balloon shown and controlled.
    pub(crate) balloon: Arc<Balloon>,
    /// Whether debugfs sets the target (simulate mode) or the host does.
    pub(crate) simulate: bool,
    /// The allocation floor measurement.
    pub(crate) floor: Pin<KBox<Floor>>,
}

/// Parses a decimal page count written to file `name`, with an optional newline.
fn parse_pages(name: &str, input: &[u8]) -> Result<u64> {
    let text = core::str::from_utf8(input).map_err(|_| {
        pr_err!("{}: the value is not text\n", name);
        EINVAL
    })?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.parse().map_err(|_| {
        pr_err!("{}: {:?} is not a decimal page count\n", name, text);
        EINVAL
    })
}

impl Control {
    /// The debugfs interface of `balloon`.
    pub(crate) fn new(balloon: Arc<Balloon>, simulate: bool) -> Result<Arc<Self>> {
        let floor = Floor::new()?;
        Ok(Arc::new(
            Self {
                balloon,
                simulate,
                floor,
            },
            GFP_KERNEL,
        )?)
    }

    fn store_target(&self, input: &[u8]) -> Result {
        if !self.simulate {
            pr_err!("target_pages: the host sets the target; writable only with simulate=1\n");
            return Err(EPERM);
        }
        let pages = parse_pages("target_pages", input)?;
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
    const FILES: &'static [(&'static CStr, u16)] = &[
        (c_str!("target_pages"), 0o644),
        (c_str!("stats"), 0o444),
        (c_str!("alloc_floor"), 0o600),
    ];

    fn show(&self, index: usize, out: &mut TextBuf<SHOW_MAX>) -> fmt::Result {
        let balloon = &self.balloon;
        match index {
            TARGET_PAGES => writeln!(out, "{}", balloon.target()),
            STATS => balloon.write_stats(out),
            ALLOC_FLOOR => {
                let r = self.floor.result();
                writeln!(
                    out,
                    "pages {} alloc_ns_per_page {} free_ns_per_page {}",
                    r.pages, r.alloc_ns, r.free_ns
                )
            }
            _ => Err(fmt::Error),
        }
    }

    fn store(&self, index: usize, input: &[u8]) -> Result {
        match index {
            TARGET_PAGES => self.store_target(input),
            ALLOC_FLOOR => {
                let pages = parse_pages("alloc_floor", input)?;
                if pages > floor::MAX_PAGES {
                    pr_err!("alloc_floor: at most {} pages\n", floor::MAX_PAGES);
                    return Err(EINVAL);
                }
                self.floor.run(pages);
                Ok(())
            }
            _ => {
                pr_err!("stats: read-only\n");
                Err(EPERM)
            }
        }
    }
}
