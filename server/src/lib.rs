//! The warmrun service: REST and WebSocket API over the execution core, with queueing,
//! rate limits, Prometheus metrics and the playground page.

pub mod api;
pub mod body_limit;
pub mod config;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod rate_limit;
pub mod runner;
pub mod snippets;
pub mod state;
pub mod submissions;
#[cfg(feature = "web")]
pub mod web;
pub mod wire;

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::state::{AppState, SharedState};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use pool::{Catalog, Engine};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Starts the engine and builds the shared state.
pub async fn build_state(config: ServerConfig) -> anyhow::Result<SharedState> {
    let catalog = Catalog::load(&config.catalog)?;
    // The store first: a wrong database setting fails before any container starts.
    let snippets = snippets::Snippets::open(&config).await?;
    let registry = prometheus::Registry::new();
    let engine = Engine::start(config.engine.clone(), catalog, &registry).await?;
    let metrics = metrics::ServerMetrics::new(&registry)?;
    let state = Arc::new(AppState {
        limiters: rate_limit::Limiters::new(&config.rate_limit),
        engine,
        config,
        registry,
        metrics,
        submissions: Default::default(),
        snippets,
        sessions: Default::default(),
        shutdown: CancellationToken::new(),
    });
    tokio::spawn(housekeeping(state.clone()));
    Ok(state)
}

/// Periodic chores: expire submissions, forget idle rate-limit keys, refresh readiness.
async fn housekeeping(state: SharedState) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        state
            .submissions
            .expire(Duration::from_secs(state.config.submission_ttl_s));
        state.limiters.prune();
        let ready = state.engine.readiness().await.is_ok();
        state.metrics.ready.set(ready as i64);
    }
}

/// The whole service: the API and, with the `web` feature, the playground pages.
pub fn app_router(state: SharedState) -> Router {
    #[cfg(feature = "web")]
    {
        let site = state.config.site_root.clone();
        api_router(state).merge(web::router(site))
    }
    #[cfg(not(feature = "web"))]
    api_router(state)
}

/// The API routes (everything but the web pages).
pub fn api_router(state: SharedState) -> Router {
    let body_limit = state.config.limits.body_bytes;
    Router::new()
        .route("/healthz", get(api::health::healthz))
        .route("/readyz", get(api::health::readyz))
        .route("/metrics", get(api::health::metrics))
        .route("/api/v1/openapi.json", get(api::openapi::spec))
        .route("/api/v1/languages", get(api::languages::list))
        .route("/api/v1/runs", post(api::runs::create))
        .route("/api/v1/submissions", post(api::submissions::create))
        .route("/api/v1/submissions/{id}", get(api::submissions::get))
        .route("/api/v1/ws", get(api::ws::upgrade))
        .route("/api/v1/snippets", post(api::snippets::create))
        .route("/api/v1/snippets/{id}", get(api::snippets::get))
        .route("/api/v1/stats", get(api::stats::get))
        .route("/api/v2/runtimes", get(api::piston::runtimes))
        .route("/api/v2/execute", post(api::piston::execute))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            body_limit,
            body_limit::drain_oversize,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

/// Counts and times every request by its route pattern.
async fn track(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let m = &state.metrics;
    m.http_requests
        .with_label_values(&[&route, &method, resp.status().as_str()])
        .inc();
    m.http_seconds
        .with_label_values(&[&route, &method])
        .observe(started.elapsed().as_secs_f64());
    resp
}

/// Serves until `shutdown` fires, then ends sessions, waits up to the grace period and
/// removes every container.
pub async fn serve(
    state: SharedState,
    app: Router,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<()> {
    let token = state.shutdown.clone();
    // Small frames (a WebSocket exit, a stdin echo) must not wait ~40 ms for Nagle.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { token.cancelled().await });
    let grace = Duration::from_millis(state.config.shutdown_grace_ms);
    let token = state.shutdown.clone();
    tokio::select! {
        r = server => r?,
        _ = async { token.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("connections still open after the grace period; closing anyway");
        }
    }
    state.engine.shutdown().await;
    // Runs that finished during the grace period are counted before the store closes.
    state.snippets.close().await;
    Ok(())
}
