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
//! - `evacuate`: writing `START_PFN NR_PAGES` (decimal or `0x` hex) moves
//!   the balloon's frozen pages out of that PFN range
//!   ([`Balloon::evacuate`]), so that its memory is free afterwards;
//!   -EOPNOTSUPP for a balloon of movable pages, which compaction moves.
//! - `self_check`: reading walks the frozen pages and shows what their
//!   `struct page` holds ([`Balloon::self_check`]).

use crate::balloon::{evacuate_unsupported, Balloon};
use crate::bindings;
use crate::debugfs::{Files, SHOW_MAX};
use crate::floor::{self, Floor};
use crate::stats::TextBuf;
use core::fmt::{self, Write};
use core::ops::Range;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

const TARGET_PAGES: usize = 0;
const STATS: usize = 1;
const ALLOC_FLOOR: usize = 2;
const EVACUATE: usize = 3;
const SELF_CHECK: usize = 4;

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

/// Parses a PFN or page count, decimal or `0x` hex.
fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Parses `START_PFN NR_PAGES` written to `evacuate` into a PFN range.
fn parse_range(input: &[u8]) -> Result<Range<u64>> {
    let text = core::str::from_utf8(input).unwrap_or("");
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut words = text.split(' ').filter(|w| !w.is_empty());
    let (start, nr) = match (words.next(), words.next(), words.next()) {
        (Some(start), Some(nr), None) => (parse_number(start), parse_number(nr)),
        _ => (None, None),
    };
    let range = start.zip(nr).and_then(|(start, nr)| {
        let end = start.checked_add(nr).filter(|_| nr > 0)?;
        Some(start..end)
    });
    range.ok_or_else(|| {
        pr_err!(
            "evacuate: {:?} is not START_PFN NR_PAGES (NR_PAGES > 0, decimal or 0x hex)\n",
            text
        );
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

    fn store_evacuate(&self, input: &[u8]) -> Result {
        let pfns = parse_range(input)?;
        match self.balloon.evacuate(pfns.clone()) {
            Ok(n) => {
                pr_info!(
                    "evacuate: {} frozen pages moved out of PFNs {:#x}..{:#x}\n",
                    n,
                    pfns.start,
                    pfns.end
                );
                Ok(())
            }
            Err(e) => {
                let why = if e == evacuate_unsupported() {
                    "the balloon's pages are movable: compaction and offlining migrate them"
                } else if e == ENOMEM {
                    "no memory for replacement pages"
                } else {
                    "pages of the range are being inflated or go offline; try again"
                };
                pr_err!(
                    "evacuate: PFNs {:#x}..{:#x}: {}\n",
                    pfns.start,
                    pfns.end,
                    why
                );
                Err(e)
            }
        }
    }
}

impl Files for Control {
    const FILES: &'static [(&'static CStr, u16)] = &[
        (c_str!("target_pages"), 0o644),
        (c_str!("stats"), 0o444),
        (c_str!("alloc_floor"), 0o600),
        (c_str!("evacuate"), 0o200),
        (c_str!("self_check"), 0o400),
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
            SELF_CHECK => write!(out, "{}", balloon.self_check()),
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
            EVACUATE => self.store_evacuate(input),
            _ => {
                pr_err!("{}: read-only\n", Self::FILES[index].0);
                Err(EPERM)
            }
        }
    }
}
