//! A leased container: exclusive use for one run, then a reset and the way back to the pool
//! (or destruction when the reset fails or the container reached its maximum uses).

use crate::config::Runtime;
use crate::container::Container;
use crate::pool::LanguagePool;
use crate::state::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::warn;

/// How a lease was obtained (the API's enum: warm, cold or queued).
pub use warmrun_api::LeaseKind;

/// Exclusive use of one container; dropping it resets the container in the background.
pub struct Lease {
    obj: Option<deadpool::unmanaged::Object<Container>>,
    pool: Arc<LanguagePool>,
    inner: Arc<Shared>,
    /// How the lease was obtained.
    pub kind: LeaseKind,
    /// How long obtaining it took.
    pub waited: Duration,
    /// When it was granted: the pool learns how long leases hold containers (sizing.rs).
    granted: Instant,
}

impl Lease {
    pub(crate) fn new(
        obj: deadpool::unmanaged::Object<Container>,
        pool: Arc<LanguagePool>,
        inner: Arc<Shared>,
        kind: LeaseKind,
        waited: Duration,
    ) -> Lease {
        Lease {
            obj: Some(obj),
            pool,
            inner,
            kind,
            waited,
            granted: Instant::now(),
        }
    }

    /// The language of the leased container.
    pub fn language(&self) -> &Arc<crate::catalog::Language> {
        &self.pool.language
    }

    /// The leased container.
    pub fn container(&mut self) -> &mut Container {
        self.obj
            .as_mut()
            .expect("lease holds its container until released")
    }

    /// Resets the container and returns it to the pool, or destroys it when the reset
    /// fails or it has served its maximum number of runs.
    pub async fn release(mut self) {
        if let Some(obj) = self.obj.take() {
            recycle(self.inner.clone(), self.pool.clone(), obj, self.granted).await;
        }
    }

    /// Destroys the container instead of returning it (it misbehaved).
    pub async fn discard(mut self, reason: &str) {
        if let Some(obj) = self.obj.take() {
            let c = deadpool::unmanaged::Object::take(obj);
            self.inner.discard(&self.pool, c, reason).await;
            self.pool.record_hold(self.granted.elapsed());
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(obj) = self.obj.take() {
            let (inner, pool) = (self.inner.clone(), self.pool.clone());
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(recycle(inner, pool, obj, self.granted));
            }
        }
    }
}

/// Returns a container after its lease, then tells the pool how long the lease held it
/// (until back in the pool or gone).
async fn recycle(
    inner: Arc<Shared>,
    pool: Arc<LanguagePool>,
    obj: deadpool::unmanaged::Object<Container>,
    granted: Instant,
) {
    return_container(&inner, &pool, obj).await;
    pool.record_hold(granted.elapsed());
    pool.refill.notify_one();
}

async fn return_container(
    inner: &Arc<Shared>,
    pool: &Arc<LanguagePool>,
    mut obj: deadpool::unmanaged::Object<Container>,
) {
    let lang = pool.language.id.as_str();
    obj.uses += 1;
    if inner.config.runtime == Runtime::Runsc && obj.memory_mb != pool.language.limits.memory_mb {
        // Made for one run's memory limit under gVisor (see run.rs `drive`): the pool refills
        // with a default one, off anyone's latency path.
        let c = deadpool::unmanaged::Object::take(obj);
        inner.discard(pool, c, "memory_override").await;
        return;
    }
    pool.resetting.fetch_add(1, Ordering::SeqCst);
    let started = Instant::now();
    let timeout = Duration::from_millis(inner.config.reset_timeout_ms);
    let result = obj.reset(timeout).await;
    pool.resetting.fetch_sub(1, Ordering::SeqCst);
    inner
        .metrics
        .reset_seconds
        .with_label_values(&[lang])
        .observe(started.elapsed().as_secs_f64());
    let max_uses = inner.config.max_uses;
    let retire_at = retire_after(max_uses, obj.sandbox_uid);
    match result {
        // At its age, or early once its successor is warm (leaving early is always safe).
        Ok(())
            if obj.uses >= retire_at || (obj.retiring && crate::refill::successor_ready(pool)) =>
        {
            let c = deadpool::unmanaged::Object::take(obj);
            inner.discard(pool, c, "max_uses").await;
        }
        Ok(()) => {
            // Retirement off the latency path: a few uses before its age the successor starts,
            // so that no lease waits for a container to start because one retired.
            if !obj.retiring && obj.uses + successor_lead(max_uses) >= retire_at {
                if let Some(place) = crate::refill::successor_place(inner, pool) {
                    obj.retiring = true;
                    crate::refill::start_creating(inner.clone(), pool.clone(), place);
                }
            }
            drop(obj)
        }
        Err(e) => {
            warn!(
                language = lang,
                "reset failed, destroying the container: {e}"
            );
            inner
                .metrics
                .reset_failures
                .with_label_values(&[lang])
                .inc();
            let c = deadpool::unmanaged::Object::take(obj);
            inner.discard(pool, c, "reset_failed").await;
        }
    }
}

/// How many uses before its retirement a container's successor starts: a fifth of
/// `max_uses` (20 of 100: at 80 runs/s over four containers, a second to start one; 200 of
/// the default 1000). The
/// old one leaves as soon as the successor is warm, so containers serve a little fewer
/// runs than `max_uses`, never more.
pub(crate) fn successor_lead(max_uses: u32) -> u32 {
    (max_uses / 5).max(1)
}

/// Uses after which a container is replaced: `max_uses`, less up to a quarter picked by its
/// uid, so that containers leased evenly do not all retire (and restart) at the same moment.
pub(crate) fn retire_after(max_uses: u32, sandbox_uid: u32) -> u32 {
    if max_uses <= 1 {
        return max_uses;
    }
    max_uses - sandbox_uid % (max_uses / 4 + 1)
}

#[cfg(test)]
mod tests {
    use super::retire_after;

    #[test]
    fn retirement_is_spread_over_the_last_quarter() {
        for max in [2u32, 4, 10, 100] {
            let ages: std::collections::BTreeSet<u32> = (100_000..100_200)
                .map(|uid| retire_after(max, uid))
                .collect();
            let lowest = max - max / 4;
            assert!(
                ages.iter().all(|a| (lowest..=max).contains(a)),
                "{max}: {ages:?}"
            );
            // Every age of the window occurs, so equal containers retire at different times.
            assert_eq!(ages.len() as u32, max / 4 + 1, "{max}: {ages:?}");
        }
        assert_eq!(retire_after(1, 12345), 1);
        assert_eq!(retire_after(0, 12345), 0);
    }
}
