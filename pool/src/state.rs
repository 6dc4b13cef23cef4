//! What the engine's parts share: the runtime, the settings, the pools, the container budget
//! and the metrics. The engine's API, the leases, the refill and the janitor all work on it.

use crate::backend::Backend;
use crate::catalog::{Catalog, LanguageId};
use crate::compile_cache::CompileCache;
use crate::config::EngineConfig;
use crate::container::Container;
use crate::metrics::PoolMetrics;
use crate::ownership::{Identity, OwnerLiveness};
use crate::pool::LanguagePool;
use dashmap::DashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(crate) struct Shared {
    pub(crate) backend: Arc<dyn Backend>,
    /// The Docker client when the backend is Docker.
    pub(crate) docker: Option<bollard::Docker>,
    pub(crate) config: EngineConfig,
    pub(crate) catalog: Catalog,
    pub(crate) pools: DashMap<LanguageId, Arc<LanguagePool>>,
    /// One permit per container that may exist, across languages.
    pub(crate) budget: Arc<Semaphore>,
    /// Limits concurrent container creations, which are slow and CPU-hungry.
    pub(crate) create_slots: Arc<Semaphore>,
    pub(crate) metrics: PoolMetrics,
    pub(crate) closing: AtomicBool,
    /// What this engine writes on its containers.
    pub(crate) identity: Arc<Identity>,
    pub(crate) liveness: Arc<dyn OwnerLiveness>,
    /// `None` when the engine's `compile_cache_mib` is 0 (or its directory is unusable).
    pub(crate) compile_cache: Option<Arc<CompileCache>>,
}

impl Shared {
    /// A language of the catalog by its id.
    pub(crate) fn language(&self, id: &LanguageId) -> Option<&crate::catalog::Language> {
        self.catalog.languages.iter().find(|l| l.id == *id)
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Destroys a container and lets its pool refill.
    pub(crate) async fn discard(&self, pool: &LanguagePool, c: Container, reason: &str) {
        self.metrics
            .destroyed
            .with_label_values(&[pool.language.id.as_str(), reason])
            .inc();
        c.destroy().await;
        pool.refill.notify_one();
    }

    /// Frees budget for `lang` by destroying an idle container of another language,
    /// preferring pools above their warm target, then those above their minimum; returns
    /// the freed place, so that no other pool takes it first.
    pub(crate) async fn evict_idle_elsewhere(
        &self,
        lang: &LanguageId,
    ) -> Option<OwnedSemaphorePermit> {
        let pools: Vec<Arc<LanguagePool>> = self
            .pools
            .iter()
            .filter(|p| p.key() != lang)
            .map(|p| p.clone())
            .collect();
        let above_target = pools.iter().find(|p| {
            let st = p.containers.status();
            st.available > p.language.pool.min_idle && st.size > p.warm_target()
        });
        let above_min = pools
            .iter()
            .find(|p| p.containers.status().available > p.language.pool.min_idle);
        let any = pools.iter().find(|p| p.containers.status().available > 0);
        let p = above_target.or(above_min).or(any)?;
        let mut c = p.containers.try_remove().ok()?;
        let permit = c.take_budget();
        self.metrics
            .destroyed
            .with_label_values(&[p.language.id.as_str(), "evicted"])
            .inc();
        c.destroy().await;
        permit
    }
}
