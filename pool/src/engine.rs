//! The engine's API: starting (on Docker or another [`Backend`]), leasing, runs, status,
//! readiness and shutdown. The parts it starts live in their own modules: `refill.rs` keeps
//! the pools warm, `janitor.rs` removes leftover and orphaned containers, `lease.rs` returns
//! containers after a run.

use crate::backend::Backend;
use crate::catalog::{Catalog, Language, LanguageId};
use crate::config::EngineConfig;
use crate::container::Container;
use crate::docker::{connect_docker, DockerBackend};
use crate::error::PoolError;
use crate::janitor;
use crate::judge::JudgeResult;
use crate::lease::{Lease, LeaseKind};
use crate::metrics::PoolMetrics;
use crate::ownership::{Identity, LocalProcessLiveness, OwnerLiveness, Phase};
use crate::pool::{LanguagePool, PoolStatus};
use crate::refill;
use crate::run::{self, RunHandle, RunRequest, RunResult};
use crate::state::Shared;
use bollard::Docker;
use dashmap::DashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tracing::{info, warn, Instrument};

/// The execution engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Shared>,
}

impl Engine {
    /// Starts the engine on the local Docker daemon: removes what earlier or dead engines
    /// left, checks images, and starts filling every pool in the background. Owners of other
    /// containers are judged by [`LocalProcessLiveness`] (their pid on this machine).
    pub async fn start(
        config: EngineConfig,
        catalog: Catalog,
        registry: &prometheus::Registry,
    ) -> Result<Engine, PoolError> {
        Self::start_with(config, catalog, registry, Arc::new(LocalProcessLiveness)).await
    }

    /// [`Engine::start`] with an oracle that tells whether the engines owning other
    /// containers on the daemon are alive (e.g. from heartbeats in a shared database).
    pub async fn start_with(
        config: EngineConfig,
        catalog: Catalog,
        registry: &prometheus::Registry,
        liveness: Arc<dyn OwnerLiveness>,
    ) -> Result<Engine, PoolError> {
        if !config.agent_path.is_file() {
            return Err(PoolError::Config(format!(
                "agent binary {} not found (build it with `{}`)",
                config.agent_path.display(),
                crate::container::REBUILD_AGENT
            )));
        }
        let docker = connect_docker().await?;
        let backend = Arc::new(DockerBackend::new(docker.clone()));
        Self::start_on(backend, Some(docker), config, catalog, registry, liveness).await
    }

    /// Starts the engine on any container runtime (`docker`: its client when it is Docker).
    pub async fn start_on(
        backend: Arc<dyn Backend>,
        docker: Option<Docker>,
        config: EngineConfig,
        catalog: Catalog,
        registry: &prometheus::Registry,
        liveness: Arc<dyn OwnerLiveness>,
    ) -> Result<Engine, PoolError> {
        let metrics =
            PoolMetrics::new(registry).map_err(|e| PoolError::Config(format!("metrics: {e}")))?;
        let mut identity = Identity::new(config.effective_node_id(), &config.instance);
        if !config.boot_id.is_empty() {
            identity.boot = config.boot_id.clone();
        }
        let identity = Arc::new(identity);
        let compile_cache = open_compile_cache(&config, &metrics);
        info!(node = %identity.node, boot = %identity.boot, "engine starting");
        let inner = Arc::new(Shared {
            budget: Arc::new(Semaphore::new(config.max_containers)),
            create_slots: Arc::new(Semaphore::new(config.max_concurrent_creates.max(1))),
            backend,
            docker,
            pools: DashMap::new(),
            catalog: catalog.clone(),
            config,
            metrics,
            closing: AtomicBool::new(false),
            identity,
            liveness,
            compile_cache,
        });
        let engine = Engine { inner };
        engine
            .inner
            .metrics
            .max_containers
            .set(engine.inner.config.max_containers as i64);
        let removed = janitor::remove_orphans(&engine.inner, Phase::Start).await?;
        if removed > 0 {
            info!(
                removed,
                "removed containers left by earlier or dead engines"
            );
        }
        for lang in &catalog.languages {
            let pool = Arc::new(LanguagePool::new(Arc::new(lang.clone())));
            if !engine.inner.backend.image_present(&lang.image).await {
                let reason = format!("image {} is missing (run images/build.sh)", lang.image);
                warn!(language = %lang.id, "{reason}");
                pool.set_unavailable(Some(reason));
            }
            if let Some(cache) = &engine.inner.compile_cache {
                let image = engine.inner.backend.image_id(&lang.image).await;
                cache.set_image(&lang.id, image.unwrap_or_else(|| lang.image.clone()));
            }
            engine.inner.metrics.zero_series(lang.id.as_str());
            engine
                .inner
                .metrics
                .warm_target
                .with_label_values(&[lang.id.as_str()])
                .set(pool.warm_target() as i64);
            engine.inner.pools.insert(lang.id.clone(), pool.clone());
            tokio::spawn(refill::refill_loop(engine.inner.clone(), pool));
        }
        tokio::spawn(janitor::janitor(engine.inner.clone()));
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

    /// The Docker client, when the engine runs on Docker.
    pub fn docker(&self) -> Option<&Docker> {
        self.inner.docker.as_ref()
    }

    /// The node id its containers carry (`io.warmrun.node`).
    pub fn node_id(&self) -> &str {
        &self.inner.identity.node
    }

    /// The id of this start of the engine (`io.warmrun.boot`), new at every start.
    pub fn boot_id(&self) -> &str {
        &self.inner.identity.boot
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

    fn pool(&self, lang: &LanguageId) -> Result<Arc<LanguagePool>, PoolError> {
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
        if self.inner.is_closing() {
            return Err(PoolError::ShuttingDown);
        }
        let pool = self.pool(lang)?;
        if let Some(reason) = pool.unavailable_and_empty() {
            // Fail fast rather than queue for containers that cannot be made.
            return Err(PoolError::LanguageUnavailable(lang.to_string(), reason));
        }
        let asked = Instant::now();
        let metrics = &self.inner.metrics;
        if pool.queue_len() == 0 {
            while let Ok(obj) = pool.containers.try_get() {
                if obj.is_alive() {
                    pool.record_arrival(false);
                    pool.refill.notify_one();
                    return Ok(self.granted(pool, obj, LeaseKind::Warm, asked));
                }
                let c = deadpool::unmanaged::Object::take(obj);
                self.inner.discard(&pool, c, "dead").await;
            }
        }
        pool.record_arrival(true);
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
                        let c = deadpool::unmanaged::Object::take(obj);
                        self.inner.discard(&pool, c, "dead").await;
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

    /// Resolves a language id or alias at a version (`None`: the newest), see
    /// [`Catalog::resolve`].
    pub fn language_at(&self, name: &str, version: Option<&str>) -> Result<&Language, PoolError> {
        self.inner.catalog.resolve(name, version)
    }

    /// The identity of what `req` would run (see [`crate::fingerprint`]); the same checks
    /// as a run, so an invalid request is refused here with the same error.
    pub fn fingerprint(&self, req: &RunRequest) -> Result<crate::RunFingerprint, PoolError> {
        let lang = self.language_at(&req.language, req.version.as_deref())?;
        let mut req = req.clone();
        if req.tests.is_some() {
            req.close_stdin = true; // as `judge` does
        }
        Ok(crate::fingerprint::of(
            lang,
            &run::prepare(lang, &self.inner.config, req)?,
        ))
    }

    fn prepare(&self, req: RunRequest) -> Result<run::Prepared, PoolError> {
        let lang = self.language_at(&req.language, req.version.as_deref())?;
        run::prepare(lang, &self.inner.config, req)
    }

    /// Leases first and only then returns the handle, so that queue and availability
    /// errors reach the caller as errors rather than as events.
    pub async fn lease_and_start(
        &self,
        req: RunRequest,
        on_position: &mut (dyn FnMut(usize) + Send),
    ) -> Result<RunHandle, PoolError> {
        if req.tests.is_some() {
            return Err(PoolError::InvalidRequest(
                "a run with tests goes to completion (Engine::judge), not live".into(),
            ));
        }
        let prepared = self.prepare(req)?;
        self.start_prepared(prepared, on_position).await
    }

    async fn start_prepared(
        &self,
        prepared: run::Prepared,
        on_position: &mut (dyn FnMut(usize) + Send),
    ) -> Result<RunHandle, PoolError> {
        let asked = Instant::now();
        let lease = self.lease(&prepared.language, on_position).await?;
        let (events_tx, events) = mpsc::channel(256);
        let (controls, controls_rx) = mpsc::unbounded_channel();
        let span = run::run_span(&prepared.language);
        tokio::spawn(
            run::drive(
                self.inner.clone(),
                lease,
                prepared,
                asked,
                events_tx,
                controls_rx,
            )
            .instrument(span),
        );
        Ok(RunHandle { events, controls })
    }

    /// Formats `code` of the language `name` (at `version`, `None`: the newest) with its
    /// formatter (see [`Catalog::formatter`]), run in a leased container of the formatter's
    /// language like any run and reset afterwards. `FormatError` carries the formatter's
    /// own message when it refuses the code.
    pub async fn format(
        &self,
        name: &str,
        version: Option<&str>,
        code: &str,
    ) -> Result<String, PoolError> {
        let lang = self.language_at(name, version)?;
        let formatter = self
            .inner
            .catalog
            .formatter(lang)
            .ok_or_else(|| PoolError::NoFormatter(lang.id.to_string()))?;
        let req = crate::format::request(formatter, code, &self.inner.config);
        let mut prepared = run::prepare(formatter, &self.inner.config, req)?;
        // No compile step: the formatter reads the source, it does not build it.
        prepared.spec.compile = Vec::new();
        prepared.spec.run = formatter.format.clone();
        let handle = self.start_prepared(prepared, &mut |_| {}).await?;
        crate::format::formatted(handle.collect().await)
    }

    /// Runs to completion and collects the output (stdin closed after `req.stdin`).
    pub async fn execute(&self, mut req: RunRequest) -> Result<RunResult, PoolError> {
        req.close_stdin = true;
        let handle = self.lease_and_start(req, &mut |_| {}).await?;
        Ok(handle.collect().await)
    }

    /// Judge mode: leases one container, compiles once and runs every case of `req.tests`
    /// on it (see [`crate::judge`]); `on_position` hears the queue position while it waits.
    pub async fn judge(
        &self,
        mut req: RunRequest,
        on_position: &mut (dyn FnMut(usize) + Send),
    ) -> Result<JudgeResult, PoolError> {
        if req.tests.is_none() {
            return Err(PoolError::InvalidRequest("a judged run needs tests".into()));
        }
        req.close_stdin = true;
        let mut prepared = self.prepare(req)?;
        let suite = prepared.suite.take().expect("prepared with its tests");
        let asked = Instant::now();
        let lease = self.lease(&prepared.language, on_position).await?;
        let span = run::run_span(&prepared.language);
        // Its own task: a caller that goes away must not leave the lease half driven.
        let task = tokio::spawn(
            crate::judge::drive_cases(self.inner.clone(), lease, prepared, suite, asked)
                .instrument(span),
        );
        task.await
            .map_err(|e| PoolError::Sandbox(format!("the judged run failed: {e}")))
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
            m.warm_target
                .with_label_values(&[s.language.as_str()])
                .set(s.warm_target as i64);
        }
    }

    /// Whether the container runtime answers and every available language has its minimum
    /// of idle containers; the reasons when not.
    pub async fn readiness(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        // Bounded: a daemon that hangs (rather than refusing connections) must not hang
        // health checks too.
        match tokio::time::timeout(Duration::from_secs(3), self.inner.backend.ping()).await {
            Ok(Ok(())) => {}
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

    /// Removes the containers that an earlier engine of this node left, those of engines the
    /// owner-liveness oracle declares dead, and (for containers without node labels) those
    /// of this instance made by another process or of a process that is gone. Returns how
    /// many were removed.
    pub async fn remove_orphans(&self) -> Result<usize, PoolError> {
        janitor::remove_orphans(&self.inner, Phase::Start).await
    }

    /// Stops leasing and removes every container of this engine. Returns once none is left,
    /// including those whose creation or removal was under way when it was called (bounded
    /// by the create timeout).
    pub async fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        for pool in self.inner.pools.iter() {
            pool.containers.close();
            pool.refill.notify_one();
        }
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(self.inner.config.create_timeout_ms)
            + Duration::from_secs(5);
        loop {
            let mine: Vec<String> = match self.inner.backend.list_managed().await {
                Ok(list) => list
                    .into_iter()
                    .filter(|c| self.inner.identity.owns(&c.labels))
                    .map(|c| c.id)
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
            futures_util::future::join_all(mine.iter().map(|id| self.inner.backend.remove(id)))
                .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        info!("engine stopped; containers removed");
    }
}

/// The engine's compile cache, unless it is off (`compile_cache_mib` = 0) or its directory
/// cannot be used (then runs simply compile, as without one).
fn open_compile_cache(
    config: &EngineConfig,
    metrics: &PoolMetrics,
) -> Option<Arc<crate::compile_cache::CompileCache>> {
    if config.compile_cache_mib == 0 {
        return None;
    }
    let dir = config.effective_compile_cache_dir();
    match crate::compile_cache::CompileCache::open(
        &dir,
        config.compile_cache_mib * 1024 * 1024,
        metrics.clone(),
    ) {
        Ok(cache) => Some(Arc::new(cache)),
        Err(e) => {
            warn!(dir = %dir.display(), "compile cache off: {e}");
            None
        }
    }
}
