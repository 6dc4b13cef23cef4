//! One language's warm pool: idle containers in a `deadpool` pool, the FIFO wait queue with
//! positions, and the counters behind the pool's state metrics.

use crate::catalog::Language;
use crate::container::Container;
use crate::error::PoolError;
use crate::sizing::Demand;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The containers of one language.
pub struct LanguagePool {
    /// The language served.
    pub language: Arc<Language>,
    /// Ready containers; a leased one is an `Object` outside, returned on drop.
    pub(crate) containers: deadpool::unmanaged::Pool<Container>,
    /// Containers being created.
    pub(crate) creating: AtomicUsize,
    /// Containers being reset after a run.
    pub(crate) resetting: AtomicUsize,
    /// Waiting leases, oldest first, by ticket.
    queue: Mutex<VecDeque<u64>>,
    next_ticket: AtomicU64,
    /// Bumped whenever the queue changes, so waiters can recompute their position.
    queue_moved: watch::Sender<u64>,
    /// Wakes the refill task.
    pub(crate) refill: Notify,
    /// Why the language cannot run now (missing image, creation failing), if so.
    pub(crate) unavailable: Mutex<Option<String>>,
    /// What the pool saw since the refill loop last looked (sizing.rs).
    demand: Mutex<Demand>,
    /// Containers the pool keeps now (sizing.rs): its `min_idle` when it does not autosize.
    pub(crate) target: AtomicUsize,
}

/// A snapshot of a pool for health checks and metrics.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PoolStatus {
    pub language: String,
    pub idle: usize,
    pub leased: usize,
    pub starting: usize,
    pub resetting: usize,
    pub queued: usize,
    pub min_idle: usize,
    /// Containers (idle, leased or resetting) the pool keeps now: follows the traffic when
    /// the engine autosizes, else `min_idle`.
    pub warm_target: usize,
    pub max: usize,
    pub unavailable: Option<String>,
}

impl LanguagePool {
    /// An empty pool for `language`.
    pub fn new(language: Arc<Language>) -> LanguagePool {
        LanguagePool {
            // One over the language's maximum: the successor of a retiring container (see
            // refill.rs `successor_place`); the maximum itself is kept by `shortfall`.
            containers: deadpool::unmanaged::Pool::new(language.pool.max + 1),
            creating: AtomicUsize::new(0),
            resetting: AtomicUsize::new(0),
            queue: Mutex::new(VecDeque::new()),
            next_ticket: AtomicU64::new(0),
            queue_moved: watch::channel(0).0,
            refill: Notify::new(),
            unavailable: Mutex::new(None),
            demand: Mutex::new(Demand::default()),
            target: AtomicUsize::new(language.pool.min_idle),
            language,
        }
    }

    /// A lease was asked for; `missed`: it found no idle container.
    pub(crate) fn record_arrival(&self, missed: bool) {
        let mut d = self.demand.lock().unwrap();
        d.arrivals += 1;
        d.misses += u64::from(missed);
    }

    /// A lease ended after holding its container `held` (reset included).
    pub(crate) fn record_hold(&self, held: Duration) {
        let mut d = self.demand.lock().unwrap();
        d.holds += 1;
        d.hold_seconds += held.as_secs_f64();
    }

    /// What the pool saw since the previous call.
    pub(crate) fn take_demand(&self) -> Demand {
        std::mem::take(&mut *self.demand.lock().unwrap())
    }

    /// Containers leased or resetting plus leases waiting: the demand on the pool now.
    pub(crate) fn in_use(&self) -> usize {
        let st = self.containers.status();
        st.size.saturating_sub(st.available) + self.queue_len()
    }

    /// The warm target in effect.
    pub fn warm_target(&self) -> usize {
        self.target.load(Ordering::Relaxed)
    }

    /// Counts by state.
    pub fn status(&self) -> PoolStatus {
        let st = self.containers.status();
        let resetting = self.resetting.load(Ordering::Relaxed);
        PoolStatus {
            language: self.language.id.to_string(),
            idle: st.available,
            leased: st.size.saturating_sub(st.available + resetting),
            starting: self.creating.load(Ordering::Relaxed),
            resetting,
            queued: self.queue_len(),
            min_idle: self.language.pool.min_idle,
            warm_target: self.warm_target(),
            max: self.language.pool.max,
            unavailable: self.unavailable.lock().unwrap().clone(),
        }
    }

    /// Leases waiting now.
    pub fn queue_len(&self) -> usize {
        self.queue.lock().unwrap().len()
    }

    /// Joins the queue, unless `capacity` leases already wait.
    pub(crate) fn enqueue(self: &Arc<Self>, capacity: usize) -> Result<Ticket, PoolError> {
        let mut q = self.queue.lock().unwrap();
        if q.len() >= capacity {
            return Err(PoolError::QueueFull(self.language.id.to_string()));
        }
        let id = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        q.push_back(id);
        drop(q);
        self.queue_moved.send_modify(|v| *v += 1);
        self.refill.notify_one();
        Ok(Ticket {
            id,
            pool: self.clone(),
        })
    }

    /// A receiver that changes whenever a queue position may have changed.
    pub(crate) fn watch_queue(&self) -> watch::Receiver<u64> {
        self.queue_moved.subscribe()
    }

    pub(crate) fn set_unavailable(&self, reason: Option<String>) {
        let became = {
            let mut now = self.unavailable.lock().unwrap();
            let became = now.is_none() && reason.is_some();
            *now = reason;
            became
        };
        if became {
            // Waiting leases look again: with no container left they fail at once rather
            // than at their timeout (Docker gone, image removed).
            self.queue_moved.send_modify(|v| *v += 1);
        }
    }

    /// Why leases fail at once: the language cannot make containers now and has none.
    pub(crate) fn unavailable_and_empty(&self) -> Option<String> {
        let reason = self.unavailable.lock().unwrap().clone()?;
        (self.containers.status().size == 0).then_some(reason)
    }
}

/// A place in a language's queue; leaving (drop) moves everyone behind it up.
pub(crate) struct Ticket {
    id: u64,
    pool: Arc<LanguagePool>,
}

impl Ticket {
    /// 1 for the head of the queue.
    pub(crate) fn position(&self) -> usize {
        let q = self.pool.queue.lock().unwrap();
        q.iter().position(|t| *t == self.id).map_or(0, |i| i + 1)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut q = self.pool.queue.lock().unwrap();
        if let Some(i) = q.iter().position(|t| *t == self.id) {
            q.remove(i);
        }
        drop(q);
        self.pool.queue_moved.send_modify(|v| *v += 1);
    }
}
