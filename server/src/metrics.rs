//! The server's own metrics (HTTP, sessions, rate limits) beside the core's.

use prometheus::{
    exponential_buckets, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
};

/// Metrics of the HTTP/WebSocket layer.
#[derive(Clone)]
pub struct ServerMetrics {
    /// Requests by route, method and status.
    pub http_requests: IntCounterVec,
    /// Request latency by route and method (for WebSockets: until the upgrade).
    pub http_seconds: HistogramVec,
    /// WebSocket sessions open now.
    pub ws_active: IntGauge,
    /// WebSocket sessions opened.
    pub ws_opened: IntCounterVec,
    /// Requests refused by a rate limit, by scope (ip, key).
    pub rate_limited: IntCounterVec,
    /// Requests or frames refused, by reason (queue_full, bad_request, too_large, …).
    pub rejected: IntCounterVec,
    /// 1 when /readyz would answer ready (Docker answers, pools warm), else 0.
    pub ready: IntGauge,
    /// Result cache lookups by outcome (hit, miss, error) and results stored (stored).
    pub result_cache: IntCounterVec,
}

impl ServerMetrics {
    /// Creates and registers the metrics.
    pub fn new(registry: &Registry) -> prometheus::Result<ServerMetrics> {
        let m = ServerMetrics {
            http_requests: IntCounterVec::new(
                Opts::new("warmrun_http_requests_total", "HTTP requests"),
                &["route", "method", "status"],
            )?,
            http_seconds: HistogramVec::new(
                HistogramOpts::new("warmrun_http_request_seconds", "HTTP request latency")
                    .buckets(exponential_buckets(0.001, 2.0, 17)?),
                &["route", "method"],
            )?,
            ws_active: IntGauge::new("warmrun_ws_sessions", "WebSocket sessions open")?,
            ws_opened: IntCounterVec::new(
                Opts::new("warmrun_ws_sessions_total", "WebSocket sessions opened"),
                &["outcome"],
            )?,
            rate_limited: IntCounterVec::new(
                Opts::new(
                    "warmrun_rate_limited_total",
                    "Requests refused by a rate limit",
                ),
                &["scope"],
            )?,
            rejected: IntCounterVec::new(
                Opts::new("warmrun_rejected_total", "Requests or frames refused"),
                &["reason"],
            )?,
            ready: IntGauge::new("warmrun_ready", "1 when the service is ready")?,
            result_cache: IntCounterVec::new(
                Opts::new(
                    "warmrun_result_cache_total",
                    "Result cache lookups by outcome (hit, miss, error), and stored results",
                ),
                &["outcome"],
            )?,
        };
        registry.register(Box::new(m.http_requests.clone()))?;
        registry.register(Box::new(m.http_seconds.clone()))?;
        registry.register(Box::new(m.ws_active.clone()))?;
        registry.register(Box::new(m.ws_opened.clone()))?;
        registry.register(Box::new(m.rate_limited.clone()))?;
        registry.register(Box::new(m.rejected.clone()))?;
        registry.register(Box::new(m.ready.clone()))?;
        registry.register(Box::new(m.result_cache.clone()))?;
        // Present from the start so dashboards and alerts have series to evaluate.
        for scope in ["ip", "key"] {
            m.rate_limited.with_label_values(&[scope]);
        }
        for reason in ["queue_full", "bad_request", "too_large", "sessions_per_ip"] {
            m.rejected.with_label_values(&[reason]);
        }
        for outcome in ["hit", "miss", "error", "stored"] {
            m.result_cache.with_label_values(&[outcome]);
        }
        Ok(m)
    }

    /// Counts a refused request or frame (`reason`: queue_full, bad_request, too_large, …).
    pub fn reject(&self, reason: &str) {
        self.rejected.with_label_values(&[reason]).inc();
    }
}
