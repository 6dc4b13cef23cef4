//! The engine: owns the Docker connection, one warm pool per language, the global container
//! budget, the refill tasks, orphan cleanup and shutdown.

use crate::catalog::{Catalog, Language, LanguageId};
use crate::config::EngineConfig;
use crate::container::{self, Container};
use crate::error::PoolError;
use crate::lease::{Lease, LeaseKind};
use crate::metrics::PoolMetrics;
use crate::pool::{LanguagePool, PoolStatus};
use crate::spec::{LABEL_INSTANCE, LABEL_MANAGED, LABEL_PID};
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::{ClientVersion, Docker};
use dashmap::DashMap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

/// How often each pool checks its idle containers and its size.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The execution engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) docker: Docker,
    pub(crate) config: EngineConfig,
    pub(crate) catalog: Catalog,
    pub(crate) pools: DashMap<LanguageId, Arc<LanguagePool>>,
    /// One permit per container that may exist, across languages.
    pub(crate) budget: Arc<Semaphore>,
    /// Limits concurrent `docker create/start`, which is slow and CPU-hungry.
    create_slots: Arc<Semaphore>,
    pub(crate) metrics: PoolMetrics,
    pub(crate) closing: AtomicBool,
}

/// Connects to the local Docker engine (`DOCKER_HOST` or the default socket), speaking an API
/// version the engine supports (Debian's Docker 20.10 stops at 1.41).
pub async fn connect_docker() -> Result<Docker, PoolError> {
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".into());
    let docker = Docker::connect_with_unix(
        &socket,
        120,
        &ClientVersion {
            major_version: 1,
            minor_version: 41,
        },
    )?;
    let docker = docker.negotiate_version().await?;
    docker.ping().await?;
    Ok(docker)
}

impl Engine {
    /// Starts the engine: removes orphans of earlier processes, checks images, and starts
    /// filling every pool in the background.
    pub async fn start(
        config: EngineConfig,
        catalog: Catalog,
        registry: &prometheus::Registry,
    ) -> Result<Engine, PoolError> {
        if !config.agent_path.is_file() {
            return Err(PoolError::Config(format!(
                "agent binary {} not found (build it with scripts/build-agent.sh)",
                config.agent_path.display()
            )));
        }
        let docker = connect_docker().await?;
        let metrics =
            PoolMetrics::new(registry).map_err(|e| PoolError::Config(format!("metrics: {e}")))?;
        let inner = Arc::new(Inner {
            budget: Arc::new(Semaphore::new(config.max_containers)),
            create_slots: Arc::new(Semaphore::new(config.max_concurrent_creates.max(1))),
            docker,
            pools: DashMap::new(),
            catalog: catalog.clone(),
            config,
            metrics,
            closing: AtomicBool::new(false),
        });
        let engine = Engine { inner };
        let removed = engine.remove_orphans().await?;
        if removed > 0 {
            info!(removed, "removed containers left by an earlier process");
        }
        for lang in &catalog.languages {
            let pool = Arc::new(LanguagePool::new(Arc::new(lang.clone())));
            if engine
                .inner
                .docker
                .inspect_image(&lang.image)
                .await
                .is_err()
            {
                let reason = format!("image {} is missing (run images/build.sh)", lang.image);
                warn!(language = %lang.id, "{reason}");
                pool.set_unavailable(Some(reason));
            }
            engine.inner.metrics.zero_series(lang.id.as_str());
            engine.inner.pools.insert(lang.id.clone(), pool.clone());
            tokio::spawn(refill_loop(engine.inner.clone(), pool));
        }
        tokio::spawn(janitor(engine.inner.clone()));
        Ok(engine)
    }

    /// The catalog the engine serves.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The Docker client, for health checks.
    pub fn docker(&self) -> &Docker {
        &self.inner.docker
    }

    /// The engine's metrics.
    pub fn metrics(&self) -> &PoolMetrics {
        &self.inner.metrics
    }

    /// Resolves a language id or alias.
    pub fn language(&self, name: &str) -> Result<&Language, PoolError> {
        self.inner
            .catalog
            .find(name)
            .ok_or_else(|| PoolError::UnknownLanguage(name.to_string()))
    }

    pub(crate) fn pool(&self, lang: &LanguageId) -> Result<Arc<LanguagePool>, PoolError> {
        self.inner
            .pools
            .get(lang)
            .map(|p| p.clone())
            .ok_or_else(|| PoolError::UnknownLanguage(lang.to_string()))
    }

    /// Leases a ready container of `lang`, waiting in its FIFO queue if none is idle;
    /// `on_position` hears the queue position whenever it changes.
    pub async fn lease(
        &self,
        lang: &LanguageId,
        on_position: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Lease, PoolError> {
        if self.inner.closing.load(Ordering::SeqCst) {
            return Err(PoolError::ShuttingDown);
        }
        let pool = self.pool(lang)?;
        if let Some(reason) = pool.unavailable.lock().unwrap().clone() {
            // Fail fast rather than queue for containers that cannot be made.
            if pool.containers.status().size == 0 {
                return Err(PoolError::LanguageUnavailable(lang.to_string(), reason));
            }
        }
        let asked = Instant::now();
        let metrics = &self.inner.metrics;
        if pool.queue_len() == 0 {
            while let Ok(obj) = pool.containers.try_get() {
                if obj.is_alive() {
                    pool.refill.notify_one();
                    return Ok(self.granted(pool, obj, LeaseKind::Warm, asked));
                }
                self.discard(&pool, deadpool::unmanaged::Object::take(obj), "dead")
                    .await;
            }
        }
        let ticket = pool
            .enqueue(self.inner.config.queue_capacity)
            .inspect_err(|_| {
                metrics
                    .queue_rejections
                    .with_label_values(&[lang.as_str()])
                    .inc();
            })?;
        let mut moved = pool.watch_queue();
        on_position(ticket.position());
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(self.inner.config.lease_timeout_ms);
        let next = |p: Arc<LanguagePool>| Box::pin(async move { p.containers.get().await });
        let mut get = next(pool.clone());
        loop {
            tokio::select! {
                got = &mut get => {
                    let obj = got.map_err(|e| match e {
                        deadpool::unmanaged::PoolError::Closed => PoolError::ShuttingDown,
                        _ => PoolError::LeaseTimeout(lang.to_string()),
                    })?;
                    if !obj.is_alive() {
                        self.discard(&pool, deadpool::unmanaged::Object::take(obj), "dead").await;
                        get = next(pool.clone());
                        continue;
                    }
                    drop(ticket);
                    let kind = if obj.uses == 0 { LeaseKind::Cold } else { LeaseKind::Queued };
                    return Ok(self.granted(pool, obj, kind, asked));
                }
                changed = moved.changed() => {
                    if let Some(reason) = pool.unavailable_and_empty() {
                        return Err(PoolError::LanguageUnavailable(lang.to_string(), reason));
                    }
                    if changed.is_ok() {
                        on_position(ticket.position());
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(PoolError::LeaseTimeout(lang.to_string()));
                }
            }
        }
    }

    fn granted(
        &self,
        pool: Arc<LanguagePool>,
        obj: deadpool::unmanaged::Object<Container>,
        kind: LeaseKind,
        asked: Instant,
    ) -> Lease {
        let waited = asked.elapsed();
        let lang = pool.language.id.as_str();
        let m = &self.inner.metrics;
        m.leases.with_label_values(&[lang, kind.as_str()]).inc();
        m.lease_seconds
            .with_label_values(&[lang, kind.as_str()])
            .observe(waited.as_secs_f64());
        Lease::new(obj, pool, self.inner.clone(), kind, waited)
    }

    pub(crate) async fn discard(&self, pool: &LanguagePool, c: Container, reason: &str) {
        self.inner.discard(pool, c, reason).await
    }

    /// A snapshot of every pool.
    pub fn status(&self) -> Vec<PoolStatus> {
        self.inner
            .catalog
            .languages
            .iter()
            .filter_map(|l| self.inner.pools.get(&l.id).map(|p| p.status()))
            .collect()
    }

    /// Brings the state gauges up to date (call before exporting metrics).
    pub fn update_gauges(&self) {
        let m = &self.inner.metrics;
        for s in self.status() {
            for (state, n) in [
                ("idle", s.idle),
                ("leased", s.leased),
                ("starting", s.starting),
                ("resetting", s.resetting),
            ] {
                m.containers
                    .with_label_values(&[s.language.as_str(), state])
                    .set(n as i64);
            }
            m.queue_depth
                .with_label_values(&[s.language.as_str()])
                .set(s.queued as i64);
        }
    }

    /// Whether Docker answers and every available language has its minimum of idle
    /// containers; the reasons when not.
    pub async fn readiness(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        // Bounded: a daemon that hangs (rather than refusing connections) must not hang
        // health checks too.
        match tokio::time::timeout(Duration::from_secs(3), self.inner.docker.ping()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => problems.push(format!("docker does not answer: {e}")),
            Err(_) => problems.push("docker does not answer within 3 s".to_string()),
        }
        for s in self.status() {
            if let Some(reason) = &s.unavailable {
                problems.push(format!("{}: {reason}", s.language));
            } else if s.idle + s.leased + s.resetting < s.min_idle {
                problems.push(format!(
                    "{}: {} of {} warm containers",
                    s.language,
                    s.idle + s.leased + s.resetting,
                    s.min_idle
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Removes containers of this instance, and of any instance whose owning process on
    /// this machine is gone. Returns how many were removed.
    pub async fn remove_orphans(&self) -> Result<usize, PoolError> {
        let me = std::process::id().to_string();
        let ours = self.list_managed().await?;
        let mut removed = 0;
        for (id, labels) in ours {
            let instance = labels.get(LABEL_INSTANCE).map(String::as_str);
            let pid = labels.get(LABEL_PID).map(String::as_str).unwrap_or("");
            let owner_gone = pid != me
                && (pid.is_empty() || !std::path::Path::new(&format!("/proc/{pid}")).exists());
            if instance == Some(self.inner.config.instance.as_str()) && pid != me || owner_gone {
                container::remove(&self.inner.docker, &id).await;
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn list_managed(&self) -> Result<Vec<(String, HashMap<String, String>)>, PoolError> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL_MANAGED}=true")])]);
        let list = self
            .inner
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await?;
        Ok(list
            .into_iter()
            .filter_map(|c| Some((c.id?, c.labels.unwrap_or_default())))
            .collect())
    }

    /// Stops leasing and removes every container of this process. Returns once none is left,
    /// including those whose creation or removal was under way when it was called (bounded
    /// by the create timeout).
    pub async fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        for pool in self.inner.pools.iter() {
            pool.containers.close();
            pool.refill.notify_one();
        }
        let me = std::process::id().to_string();
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(self.inner.config.create_timeout_ms)
            + Duration::from_secs(5);
        loop {
            let mine: Vec<String> = match self.list_managed().await {
                Ok(list) => list
                    .into_iter()
                    .filter(|(_, labels)| {
                        labels.get(LABEL_PID) == Some(&me)
                            && labels.get(LABEL_INSTANCE) == Some(&self.inner.config.instance)
                    })
                    .map(|(id, _)| id)
                    .collect(),
                Err(e) => {
                    warn!("listing containers at shutdown failed: {e}");
                    break;
                }
            };
            // A creation under way may still add a container after this listing; its
            // container is removed on a later round (or by create_one, which the closed
            // pool refuses).
            let creating: usize = self
                .inner
                .pools
                .iter()
                .map(|p| p.creating.load(Ordering::SeqCst))
                .sum();
            if mine.is_empty() && creating == 0 {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                warn!(
                    left = mine.len(),
                    creating, "shutdown gave up waiting for containers to go"
                );
                break;
            }
            // A removal already under way elsewhere answers 409 at once; the next listing
            // shows whether it finished.
            futures_util::future::join_all(
                mine.iter()
                    .map(|id| container::remove(&self.inner.docker, id)),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        info!("engine stopped; containers removed");
    }
}

impl Inner {
    pub(crate) async fn discard(&self, pool: &LanguagePool, c: Container, reason: &str) {
        self.metrics
            .destroyed
            .with_label_values(&[pool.language.id.as_str(), reason])
            .inc();
        c.destroy().await;
        pool.refill.notify_one();
    }

    /// Frees budget for `lang` by destroying an idle container of another language,
    /// preferring pools above their minimum.
    async fn evict_idle_elsewhere(&self, lang: &LanguageId) -> bool {
        let pools: Vec<Arc<LanguagePool>> = self
            .pools
            .iter()
            .filter(|p| p.key() != lang)
            .map(|p| p.clone())
            .collect();
        let above_min = pools
            .iter()
            .find(|p| p.containers.status().available > p.language.pool.min_idle);
        let any = pools.iter().find(|p| p.containers.status().available > 0);
        if let Some(p) = above_min.or(any) {
            if let Ok(c) = p.containers.try_remove() {
                self.discard(p, c, "evicted").await;
                return true;
            }
        }
        false
    }
}

/// Keeps one pool at its minimum of idle containers plus one per waiting lease, within its
/// maximum and the global budget; destroys idle containers that died.
async fn refill_loop(inner: Arc<Inner>, pool: Arc<LanguagePool>) {
    let lang = pool.language.id.clone();
    let mut failures: u32 = 0;
    loop {
        if inner.closing.load(Ordering::SeqCst) {
            return;
        }
        sweep_dead(&inner, &pool).await;
        let st = pool.containers.status();
        let creating = pool.creating.load(Ordering::SeqCst);
        let want = pool.language.pool.min_idle + pool.queue_len();
        let have = st.available + creating;
        let room = pool.language.pool.max.saturating_sub(st.size + creating);
        let need = want.saturating_sub(have).min(room);
        for _ in 0..need {
            let permit = match inner.budget.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    if pool.queue_len() > 0 && inner.evict_idle_elsewhere(&lang).await {
                        pool.refill.notify_one();
                    }
                    break;
                }
            };
            pool.creating.fetch_add(1, Ordering::SeqCst);
            let (inner, pool) = (inner.clone(), pool.clone());
            tokio::spawn(async move {
                let ok = create_one(&inner, &pool, permit).await;
                pool.creating.fetch_sub(1, Ordering::SeqCst);
                if !ok {
                    // Back off so that a broken image or a stopped Docker is not hammered.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                pool.refill.notify_one();
            });
        }
        if need > 0 && pool.creating.load(Ordering::SeqCst) == 0 {
            failures += 1;
        } else {
            failures = 0;
        }
        let nap = SWEEP_EVERY * failures.clamp(1, 5);
        tokio::select! {
            _ = pool.refill.notified() => {}
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

/// Creates one container and adds it to the pool; false when creation failed.
async fn create_one(
    inner: &Inner,
    pool: &LanguagePool,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> bool {
    let lang = pool.language.id.as_str();
    let Ok(_slot) = inner.create_slots.acquire().await else {
        return false;
    };
    if inner.closing.load(Ordering::SeqCst) {
        return false;
    }
    let started = Instant::now();
    match Container::create(&inner.docker, &pool.language, &inner.config, permit).await {
        Ok(c) => {
            inner
                .metrics
                .start_seconds
                .with_label_values(&[lang])
                .observe(started.elapsed().as_secs_f64());
            inner.metrics.created.with_label_values(&[lang]).inc();
            pool.set_unavailable(None);
            if let Some(spec) = crate::run::prestart_spec(&pool.language, &inner.config) {
                // The agent keeps it from now on, restarting it after every reset.
                let _ = c.send(agent::Request::Prestart(spec));
            }
            if let Err((c, _)) = pool.containers.try_add(c) {
                c.destroy().await;
            }
            true
        }
        Err(e) if inner.closing.load(Ordering::SeqCst) => {
            // Shutdown removed the container while it was starting.
            debug!(language = lang, "creation interrupted by shutdown: {e}");
            false
        }
        Err(e) => {
            warn!(language = lang, "creating a container failed: {e}");
            inner
                .metrics
                .create_failures
                .with_label_values(&[lang])
                .inc();
            let reason = match &e {
                // Not an answer of Docker's but no answer at all: say so plainly.
                PoolError::Docker(d)
                    if !matches!(d, bollard::errors::Error::DockerResponseServerError { .. }) =>
                {
                    format!("the Docker daemon is not reachable ({d})")
                }
                _ => e.to_string(),
            };
            pool.set_unavailable(Some(reason));
            false
        }
    }
}

/// How often the janitor looks for dead containers of this process.
const JANITOR_EVERY: Duration = Duration::from_secs(10);

/// Removes this process's containers that Docker holds as exited or dead: ones whose removal
/// failed while Docker was away (a daemon restart kills every container; the pool discards
/// them at once, but Docker cannot remove anything until it is back). Also those left
/// `created` by a creation that failed half-way, once they are older than any creation in
/// flight can be.
async fn janitor(inner: Arc<Inner>) {
    let me = std::process::id().to_string();
    let filters = HashMap::from([
        (
            "label".to_string(),
            vec![
                format!("{LABEL_INSTANCE}={}", inner.config.instance),
                format!("{LABEL_PID}={me}"),
            ],
        ),
        (
            "status".to_string(),
            vec![
                "exited".to_string(),
                "dead".to_string(),
                "created".to_string(),
            ],
        ),
    ]);
    let creation_bound = Duration::from_millis(inner.config.create_timeout_ms) + JANITOR_EVERY;
    loop {
        tokio::time::sleep(JANITOR_EVERY).await;
        if inner.closing.load(Ordering::SeqCst) {
            return;
        }
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let listed = tokio::time::timeout(JANITOR_EVERY, inner.docker.list_containers(Some(opts)));
        let Ok(Ok(dead)) = listed.await else {
            continue; // Docker away: next round
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        let stale = |c: &bollard::models::ContainerSummary| {
            let created_state = c
                .state
                .as_ref()
                .is_some_and(|s| s.to_string().eq_ignore_ascii_case("created"));
            let age = now - c.created.unwrap_or(now);
            !created_state || age > creation_bound.as_secs() as i64
        };
        for id in dead.into_iter().filter(stale).filter_map(|c| c.id) {
            debug!(container = %id, "removing a dead container");
            container::remove(&inner.docker, &id).await;
        }
    }
}

/// Takes every idle container out for an instant and destroys those whose agent link died
/// (killed from outside, Docker restarted).
async fn sweep_dead(inner: &Inner, pool: &LanguagePool) {
    let mut idle = Vec::new();
    while let Ok(obj) = pool.containers.try_get() {
        idle.push(obj);
    }
    let mut dead = Vec::new();
    for obj in idle {
        if obj.is_alive() {
            drop(obj);
        } else {
            dead.push(deadpool::unmanaged::Object::take(obj));
        }
    }
    for c in dead {
        inner.discard(pool, c, "dead").await;
    }
}
