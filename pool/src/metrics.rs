//! Prometheus metrics of the execution core (names documented in the README).

use prometheus::{
    exponential_buckets, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry,
};

/// The execution core's metrics, registered once in the server's registry.
#[derive(Clone)]
pub struct PoolMetrics {
    /// Containers by language and state (idle, leased, starting, resetting).
    pub containers: IntGaugeVec,
    /// Leases waiting in the queue, by language.
    pub queue_depth: IntGaugeVec,
    /// Containers created, by language.
    pub created: IntCounterVec,
    /// Containers destroyed, by language and reason.
    pub destroyed: IntCounterVec,
    /// Container creations that failed, by language.
    pub create_failures: IntCounterVec,
    /// Resets that failed (the container was destroyed), by language.
    pub reset_failures: IntCounterVec,
    /// Leases refused because the queue was full, by language.
    pub queue_rejections: IntCounterVec,
    /// Leases granted, by language and kind (warm: an idle container was there; cold: had to
    /// wait for a new one; queued: waited for one to be returned).
    pub leases: IntCounterVec,
    /// Time from asking for a container to holding one, by language and kind.
    pub lease_seconds: HistogramVec,
    /// Time to create a container until its agent is ready, by language.
    pub start_seconds: HistogramVec,
    /// Time to reset a container, by language.
    pub reset_seconds: HistogramVec,
    /// End-to-end run time (lease + compile + run), by language and verdict.
    pub run_seconds: HistogramVec,
    /// Compile step time, by language and the compile verdict.
    pub compile_seconds: HistogramVec,
    /// Program run time (wall, as measured by the agent), by language and verdict.
    pub exec_seconds: HistogramVec,
    /// Finished runs, by language and verdict.
    pub runs: IntCounterVec,
    /// Containers each pool keeps now (its warm target, sizing.rs), by language.
    pub warm_target: IntGaugeVec,
    /// The container budget across languages in effect (`max_containers`).
    pub max_containers: IntGauge,
    /// Compiles reused from the compile cache, by language.
    pub compile_cache_hits: IntCounterVec,
    /// Compiles of cached languages not found in the compile cache, by language.
    pub compile_cache_misses: IntCounterVec,
    /// Entries evicted from the compile cache at its size bound.
    pub compile_cache_evictions: IntCounter,
    /// Bytes the compile cache holds.
    pub compile_cache_bytes: IntGauge,
    /// Entries the compile cache holds.
    pub compile_cache_entries: IntGauge,
}

fn latency_buckets() -> Vec<f64> {
    // 1 ms … ~65 s.
    exponential_buckets(0.001, 2.0, 17).expect("static buckets")
}

impl PoolMetrics {
    /// Creates every series of a language at zero, so dashboards and alerts see healthy
    /// languages as 0 (not "no data") and `rate()` catches the first event.
    pub fn zero_series(&self, lang: &str) {
        for state in ["idle", "leased", "starting", "resetting"] {
            self.containers.with_label_values(&[lang, state]).set(0);
        }
        self.queue_depth.with_label_values(&[lang]).set(0);
        self.warm_target.with_label_values(&[lang]).set(0);
        for c in [
            &self.created,
            &self.create_failures,
            &self.reset_failures,
            &self.queue_rejections,
            &self.compile_cache_hits,
            &self.compile_cache_misses,
        ] {
            c.with_label_values(&[lang]);
        }
        for reason in [
            "dead",
            "evicted",
            "max_uses",
            "memory_override",
            "reset_failed",
            "trimmed",
            "update_failed",
        ] {
            self.destroyed.with_label_values(&[lang, reason]);
        }
        for kind in ["warm", "cold", "queued"] {
            self.leases.with_label_values(&[lang, kind]);
        }
        for v in agent::Verdict::ALL {
            self.runs.with_label_values(&[lang, v.as_str()]);
        }
    }

    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &Registry) -> prometheus::Result<PoolMetrics> {
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels)
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            HistogramVec::new(
                HistogramOpts::new(name, help).buckets(latency_buckets()),
                labels,
            )
        };
        let m = PoolMetrics {
            containers: gauge(
                "warmrun_pool_containers",
                "Sandbox containers by language and state",
                &["language", "state"],
            )?,
            queue_depth: gauge(
                "warmrun_queue_depth",
                "Leases waiting for a container",
                &["language"],
            )?,
            created: counter(
                "warmrun_containers_created_total",
                "Containers created",
                &["language"],
            )?,
            destroyed: counter(
                "warmrun_containers_destroyed_total",
                "Containers destroyed",
                &["language", "reason"],
            )?,
            create_failures: counter(
                "warmrun_container_create_failures_total",
                "Container creations that failed",
                &["language"],
            )?,
            reset_failures: counter(
                "warmrun_reset_failures_total",
                "Resets that failed",
                &["language"],
            )?,
            queue_rejections: counter(
                "warmrun_queue_rejections_total",
                "Leases refused because the queue was full",
                &["language"],
            )?,
            leases: counter(
                "warmrun_leases_total",
                "Leases granted",
                &["language", "kind"],
            )?,
            lease_seconds: histogram(
                "warmrun_lease_seconds",
                "Time to obtain a container",
                &["language", "kind"],
            )?,
            start_seconds: histogram(
                "warmrun_container_start_seconds",
                "Time to create a container until its agent is ready",
                &["language"],
            )?,
            reset_seconds: histogram(
                "warmrun_reset_seconds",
                "Time to reset a container",
                &["language"],
            )?,
            run_seconds: histogram(
                "warmrun_run_seconds",
                "End-to-end run time, lease included",
                &["language", "verdict"],
            )?,
            compile_seconds: histogram(
                "warmrun_compile_seconds",
                "Compile step time",
                &["language", "verdict"],
            )?,
            exec_seconds: histogram(
                "warmrun_exec_seconds",
                "Program run time inside the sandbox",
                &["language", "verdict"],
            )?,
            runs: counter(
                "warmrun_runs_total",
                "Finished runs",
                &["language", "verdict"],
            )?,
            warm_target: gauge(
                "warmrun_pool_warm_target",
                "Containers the pool keeps now (follows the traffic when autosizing)",
                &["language"],
            )?,
            max_containers: IntGauge::new(
                "warmrun_max_containers",
                "Containers across languages at most",
            )?,
            compile_cache_hits: counter(
                "warmrun_compile_cache_hits_total",
                "Compiles reused from the compile cache",
                &["language"],
            )?,
            compile_cache_misses: counter(
                "warmrun_compile_cache_misses_total",
                "Compiles of cached languages not found in the compile cache",
                &["language"],
            )?,
            compile_cache_evictions: IntCounter::new(
                "warmrun_compile_cache_evictions_total",
                "Compile cache entries evicted at the size bound",
            )?,
            compile_cache_bytes: IntGauge::new(
                "warmrun_compile_cache_bytes",
                "Bytes the compile cache holds",
            )?,
            compile_cache_entries: IntGauge::new(
                "warmrun_compile_cache_entries",
                "Entries the compile cache holds",
            )?,
        };
        registry.register(Box::new(m.containers.clone()))?;
        registry.register(Box::new(m.queue_depth.clone()))?;
        registry.register(Box::new(m.created.clone()))?;
        registry.register(Box::new(m.destroyed.clone()))?;
        registry.register(Box::new(m.create_failures.clone()))?;
        registry.register(Box::new(m.reset_failures.clone()))?;
        registry.register(Box::new(m.queue_rejections.clone()))?;
        registry.register(Box::new(m.leases.clone()))?;
        registry.register(Box::new(m.lease_seconds.clone()))?;
        registry.register(Box::new(m.start_seconds.clone()))?;
        registry.register(Box::new(m.reset_seconds.clone()))?;
        registry.register(Box::new(m.run_seconds.clone()))?;
        registry.register(Box::new(m.compile_seconds.clone()))?;
        registry.register(Box::new(m.exec_seconds.clone()))?;
        registry.register(Box::new(m.runs.clone()))?;
        registry.register(Box::new(m.warm_target.clone()))?;
        registry.register(Box::new(m.max_containers.clone()))?;
        registry.register(Box::new(m.compile_cache_hits.clone()))?;
        registry.register(Box::new(m.compile_cache_misses.clone()))?;
        registry.register(Box::new(m.compile_cache_evictions.clone()))?;
        registry.register(Box::new(m.compile_cache_bytes.clone()))?;
        registry.register(Box::new(m.compile_cache_entries.clone()))?;
        Ok(m)
    }
}
