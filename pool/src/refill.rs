//! Keeping each pool warm: one task per language creates containers up to its minimum of
//! idle ones plus one per waiting lease, and up to its warm target (sizing.rs) when the
//! engine autosizes, within its maximum and the global budget, evicting idle containers of
//! other languages when the budget is full and leases wait. Above its target it removes
//! idle containers one at a time.

use crate::container::Container;
use crate::error::PoolError;
use crate::pool::LanguagePool;
use crate::sizing::{Sizer, SizingRule};
use crate::state::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;
use tracing::{debug, warn};

/// How often each pool checks its idle containers and its size.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// How many containers a pool should start now: its minimum of idle ones plus one per
/// waiting lease, less those idle or starting; or up to its warm target counting every
/// container, whichever is more; within its maximum.
pub(crate) fn shortfall(pool: &LanguagePool) -> usize {
    let st = pool.containers.status();
    let creating = pool.creating.load(Ordering::SeqCst);
    let want = pool.language.pool.min_idle + pool.queue_len();
    let have = st.available + creating;
    let to_target = pool.warm_target().saturating_sub(st.size + creating);
    let room = pool.language.pool.max.saturating_sub(st.size + creating);
    want.saturating_sub(have).max(to_target).min(room)
}

/// The autosizing rule of one pool and when it last looked and trimmed.
struct Autosize {
    sizer: Sizer,
    looked: Instant,
    trimmed: Instant,
    shrink_every: Duration,
}

impl Autosize {
    fn new(shared: &Shared, pool: &LanguagePool) -> Option<Autosize> {
        let c = &shared.config;
        if !c.autosize {
            return None;
        }
        let shrink_every = Duration::from_millis(c.autosize_shrink_ms);
        let rule = SizingRule {
            floor: pool.language.pool.min_idle,
            ceiling: pool.language.pool.max.min(c.max_containers),
            window: Duration::from_millis(c.autosize_window_ms.max(1)),
            shrink_every,
        };
        Some(Autosize {
            sizer: Sizer::new(rule),
            looked: Instant::now(),
            trimmed: Instant::now(),
            shrink_every,
        })
    }

    /// Feeds the rule what the pool saw since the last look and publishes its target.
    fn update(&mut self, shared: &Shared, pool: &LanguagePool) {
        let now = Instant::now();
        let elapsed = now - self.looked;
        self.looked = now;
        let target = self
            .sizer
            .observe(elapsed, pool.take_demand(), pool.in_use());
        let before = pool.target.swap(target, Ordering::SeqCst);
        if before != target {
            debug!(language = %pool.language.id, before, target, rate = self.sizer.rate(), "warm target");
        }
        shared
            .metrics
            .warm_target
            .with_label_values(&[pool.language.id.as_str()])
            .set(target as i64);
    }

    /// Whether the pool is above its floor: the target or the pool still has to come down.
    fn shrinking(&self, pool: &LanguagePool) -> bool {
        let floor = pool.language.pool.min_idle;
        pool.warm_target() > floor || pool.containers.status().size > floor
    }

    /// Removes one idle container when the pool holds more than its target, keeps its
    /// minimum of idle ones, and did not trim within the last shrink interval (slowly:
    /// the target itself only steps down that fast).
    async fn trim(&mut self, shared: &Shared, pool: &LanguagePool) {
        if self.trimmed.elapsed() < self.shrink_every || pool.queue_len() > 0 {
            return;
        }
        let st = pool.containers.status();
        let creating = pool.creating.load(Ordering::SeqCst);
        if st.size + creating <= pool.warm_target() || st.available <= pool.language.pool.min_idle {
            return;
        }
        let mut idle = Vec::new();
        while let Ok(obj) = pool.containers.try_get() {
            idle.push(obj);
        }
        // A retiring container first: it would leave soon anyway, and its successor stays.
        let Some(pick) = idle
            .iter()
            .position(|o| o.retiring)
            .or((!idle.is_empty()).then_some(0))
        else {
            return;
        };
        let obj = idle.swap_remove(pick);
        drop(idle);
        self.trimmed = Instant::now();
        let c = deadpool::unmanaged::Object::take(obj);
        shared.discard(pool, c, "trimmed").await;
    }
}

/// Keeps one pool at its size (see [`shortfall`]); destroys idle containers that died.
pub(crate) async fn refill_loop(shared: Arc<Shared>, pool: Arc<LanguagePool>) {
    let lang = pool.language.id.clone();
    let mut failures: u32 = 0;
    let mut autosize = Autosize::new(&shared, &pool);
    loop {
        if shared.is_closing() {
            return;
        }
        sweep_dead(&shared, &pool).await;
        if let Some(a) = autosize.as_mut() {
            a.update(&shared, &pool);
            a.trim(&shared, &pool).await;
        }
        let need = shortfall(&pool);
        for _ in 0..need {
            let permit = match shared.budget.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) if pool.queue_len() > 0 => match shared.evict_idle_elsewhere(&lang).await {
                    Some(p) => p,
                    None => break,
                },
                Err(_) => break,
            };
            start_creating(shared.clone(), pool.clone(), permit);
        }
        if need > 0 && pool.creating.load(Ordering::SeqCst) == 0 {
            failures += 1;
        } else {
            failures = 0;
        }
        let mut nap = SWEEP_EVERY * failures.clamp(1, 5);
        if let Some(a) = &autosize {
            if a.shrinking(&pool) {
                // Look again when the next step down is due, not a sweep later.
                nap = nap.min(a.shrink_every);
            }
        }
        tokio::select! {
            _ = pool.refill.notified() => {}
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

/// Starts creating one container in the background, in the budget place `permit`.
pub(crate) fn start_creating(
    shared: Arc<Shared>,
    pool: Arc<LanguagePool>,
    permit: OwnedSemaphorePermit,
) {
    pool.creating.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(async move {
        let ok = create_one(&shared, &pool, permit).await;
        pool.creating.fetch_sub(1, Ordering::SeqCst);
        if !ok {
            // Back off so that a broken image or a stopped runtime is not hammered.
            tokio::time::sleep(SWEEP_EVERY).await;
        }
        pool.refill.notify_one();
    });
}

/// A place for the successor of a container near its retirement age: room in the global
/// budget, and in the language's maximum with one over it allowed (a busy pool at its
/// maximum is where a retirement would make leases wait), or `None`: it then retires the
/// old way, leaving at its age, and the pool refills after.
pub(crate) fn successor_place(
    shared: &Shared,
    pool: &LanguagePool,
) -> Option<OwnedSemaphorePermit> {
    let st = pool.containers.status();
    let creating = pool.creating.load(Ordering::SeqCst);
    if st.size + creating > pool.language.pool.max {
        return None;
    }
    shared.budget.clone().try_acquire_owned().ok()
}

/// A retiring container may leave without anyone waiting for a container to start: another
/// one is idle, or no creation (its successor's) is under way.
pub(crate) fn successor_ready(pool: &LanguagePool) -> bool {
    pool.creating.load(Ordering::SeqCst) == 0 || pool.containers.status().available > 0
}

/// Creates one container and adds it to the pool; false when creation failed.
async fn create_one(shared: &Shared, pool: &LanguagePool, permit: OwnedSemaphorePermit) -> bool {
    let lang = pool.language.id.as_str();
    let Ok(_slot) = shared.create_slots.acquire().await else {
        return false;
    };
    if shared.is_closing() {
        return false;
    }
    let started = Instant::now();
    let created = Container::create(
        &shared.backend,
        &shared.identity,
        &pool.language,
        &shared.config,
        permit,
        pool.language.limits.memory_mb,
    )
    .await;
    match created {
        Ok(c) => {
            shared
                .metrics
                .start_seconds
                .with_label_values(&[lang])
                .observe(started.elapsed().as_secs_f64());
            shared.metrics.created.with_label_values(&[lang]).inc();
            pool.set_unavailable(None);
            if let Some(spec) = crate::run::prestart_spec(&pool.language, &shared.config) {
                // The agent keeps it from now on, restarting it after every reset.
                let _ = c.send(agent::Request::Prestart(spec));
            }
            if let Err((c, _)) = pool.containers.try_add(c) {
                c.destroy().await;
            }
            true
        }
        Err(e) if shared.is_closing() => {
            // Shutdown removed the container while it was starting.
            debug!(language = lang, "creation interrupted by shutdown: {e}");
            false
        }
        Err(e) => {
            warn!(language = lang, "creating a container failed: {e}");
            shared
                .metrics
                .create_failures
                .with_label_values(&[lang])
                .inc();
            pool.set_unavailable(Some(unavailable_reason(&e)));
            false
        }
    }
}

/// Why a language cannot run, from the error that stopped its creation.
fn unavailable_reason(e: &PoolError) -> String {
    match e {
        // Not an answer of Docker's but no answer at all: say so plainly.
        PoolError::Docker(d)
            if !matches!(d, bollard::errors::Error::DockerResponseServerError { .. }) =>
        {
            format!("the Docker daemon is not reachable ({d})")
        }
        _ => e.to_string(),
    }
}

/// Takes every idle container out for an instant and destroys those whose agent link died
/// (killed from outside, Docker restarted), and retiring ones whose successor is warm.
async fn sweep_dead(shared: &Shared, pool: &LanguagePool) {
    let mut idle = Vec::new();
    while let Ok(obj) = pool.containers.try_get() {
        idle.push(obj);
    }
    let warm_others = idle.iter().filter(|o| o.is_alive() && !o.retiring).count();
    let successors_started = pool.creating.load(Ordering::SeqCst) == 0;
    let mut leaving = Vec::new();
    for obj in idle {
        if !obj.is_alive() {
            leaving.push((deadpool::unmanaged::Object::take(obj), "dead"));
        } else if obj.retiring && (warm_others > 0 || successors_started) {
            leaving.push((deadpool::unmanaged::Object::take(obj), "max_uses"));
        } else {
            drop(obj);
        }
    }
    for (c, reason) in leaving {
        shared.discard(pool, c, reason).await;
    }
}
