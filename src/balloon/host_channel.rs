// SPDX-License-Identifier: GPL-2.0

//! The host channel: one task at a time talks to the host (inflation,
//! deflation, a migration's exchange), and nobody while the host is down
//! (the device suspended).
//!
//! Taking and releasing a free channel is one atomic operation each, with no
//! lock and no wakeup: a balloon page's migration, which only tries
//! ([`HostChannel::try_hold`]), pays no more. Waiters sleep on a condition
//! variable, counted, so that a release wakes them only when there are any.
//! Every access to `busy`, `up` and `waiters` is sequentially consistent: a
//! waiter counts itself before it tries again, a releaser clears `busy`
//! before it reads the count, so one of the two sees the other (no lost
//! wakeup), and the waiter sleeps only after it took `lock`, which the
//! releaser takes before it wakes anyone.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use kernel::prelude::*;
use kernel::sync::{new_condvar, new_mutex, CondVar, Mutex};

#[pin_data]
pub(super) struct HostChannel {
    /// Someone holds the channel.
    busy: AtomicBool,
    /// The host can be talked to.
    up: AtomicBool,
    /// Tasks waiting for the channel.
    waiters: AtomicUsize,
    /// Held by waiters between counting themselves and sleeping.
    #[pin]
    lock: Mutex<()>,
    #[pin]
    idle: CondVar,
}

impl HostChannel {
    /// A free channel to a host that is up.
    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            busy: AtomicBool::new(false),
            up: AtomicBool::new(true),
            waiters: AtomicUsize::new(0),
            lock <- new_mutex!((), "offline_balloon::host"),
            idle <- new_condvar!("offline_balloon::host_idle"),
        })
    }

    fn try_take(&self) -> bool {
        self.busy
            .compare_exchange(false, true, SeqCst, SeqCst)
            .is_ok()
    }

    /// Takes the channel, waiting while someone else holds it.
    fn take(&self) {
        if self.try_take() {
            return;
        }
        let mut guard = self.lock.lock();
        self.waiters.fetch_add(1, SeqCst);
        while !self.try_take() {
            self.idle.wait(&mut guard);
        }
        self.waiters.fetch_sub(1, SeqCst);
    }

    /// Gives the channel back, waking the waiters if there are any.
    pub(super) fn release(&self) {
        self.busy.store(false, SeqCst);
        if self.waiters.load(SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.idle.notify_all();
        }
    }

    /// Waits for the channel and holds it if the host is up; whether it does.
    pub(super) fn hold(&self) -> bool {
        self.take();
        self.up.load(SeqCst) || {
            self.release();
            false
        }
    }

    /// Holds the channel if nobody does and the host is up; whether it does.
    pub(super) fn try_hold(&self) -> bool {
        self.try_take()
            && (self.up.load(SeqCst) || {
                self.release();
                false
            })
    }

    /// The host goes down once whoever talks to it is done.
    pub(super) fn go_down(&self) {
        self.take();
        self.up.store(false, SeqCst);
        self.release();
    }

    /// The host can be talked to again.
    pub(super) fn come_up(&self) {
        self.up.store(true, SeqCst);
    }
}
