//! The warmrun service: REST and WebSocket API over the execution core, with queueing,
//! rate limits, Prometheus metrics and the playground page.

pub mod api;
pub mod body_limit;
pub mod cluster;
pub mod config;
pub mod cors;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod rate_limit;
pub mod result_cache;
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
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use pool::{Catalog, Engine};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The response header naming the node that answered.
pub const NODE_HEADER: &str = "x-warmrun-node";

/// Starts the engine and builds the shared state, then the node's background work
/// (heartbeats, submission claimer, housekeeping).
pub async fn build_state(mut config: ServerConfig) -> anyhow::Result<SharedState> {
    // Only a node id given on purpose names the containers: the default (the host name) is
    // shared by every engine of one machine, which would then take each other's containers
    // for a predecessor's. Unset, the pool labels them with its instance name.
    let node_id_given = !config.node_id.trim().is_empty();
    config.resolve_node_id()?;
    let catalog = Catalog::load(&config.catalog)?;
    // The store first: a wrong database setting fails before any container starts.
    let snippets = snippets::Snippets::open(&config).await?;
    let db = snippets.db().clone();
    let node = cluster::NodeIdentity::new(&config.node_id);
    let started_at_ms = db.now_ms();
    // Alive in the nodes table before any container exists, so that nodes sharing the
    // Docker daemon never take this one's containers for a dead node's.
    cluster::nodes::register(
        &db,
        &cluster::nodes::Heartbeat {
            node: &node,
            url: config.node_url.as_deref(),
            started_at: started_at_ms,
            dead_after_ms: config.node_dead_after_ms,
            ready: false,
            draining: false,
        },
    )
    .await?;
    tracing::info!(node = %node.id, boot = %node.boot_id, "node registered");
    let registry = prometheus::Registry::new();
    let mut engine_config = config.engine.clone();
    if node_id_given {
        engine_config.node_id = node.id.clone();
    }
    engine_config.boot_id = node.boot_id.clone();
    if engine_config.compile_cache_dir.as_os_str().is_empty() {
        engine_config.compile_cache_dir = config.data_dir.join("compile-cache");
    }
    let liveness = Arc::new(cluster::liveness::DbLiveness::new(db.clone()));
    let engine = Engine::start_with(engine_config, catalog, &registry, liveness).await?;
    let metrics = metrics::ServerMetrics::new(&registry)?;
    let result_cache = config.result_cache.enabled().then(|| {
        result_cache::ResultCache::new(db.clone(), config.result_cache.clone(), metrics.clone())
    });
    let state = Arc::new(AppState {
        result_cache,
        limiters: rate_limit::Limiters::new(&config.rate_limit),
        engine,
        registry,
        metrics,
        node,
        started_at_ms,
        submissions: submissions::Submissions::new(
            db,
            Duration::from_secs(config.submission_ttl_s),
        ),
        queue: Default::default(),
        snippets,
        sessions: Default::default(),
        live_sessions: Default::default(),
        draining: CancellationToken::new(),
        shutdown: CancellationToken::new(),
        config,
    });
    cluster::start(&state);
    tokio::spawn(housekeeping(state.clone()));
    if let Some(cache) = state.result_cache.clone() {
        let stop = state.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = cache.prune_forever() => {}
            }
        });
    }
    Ok(state)
}

/// Periodic chores: delete expired submissions, forget idle rate-limit keys.
async fn housekeeping(state: SharedState) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = state.submissions.expire().await {
            tracing::warn!("deleting expired submissions failed: {e}");
        }
        state.limiters.prune();
    }
}

/// The whole service: the API and, with the `web` feature, the playground pages.
pub fn app_router(state: SharedState) -> Router {
    let node = node_header(&state);
    let cors = cors::layer(&state.config.cors_allowed_origins);
    #[cfg(feature = "web")]
    let router = {
        let site = state.config.site_root.clone();
        let snippets = web_snippets(state.clone());
        api_routes(state).merge(web::router(site, Some(snippets)))
    };
    #[cfg(not(feature = "web"))]
    let router = api_routes(state);
    with_node_header(router.layer(cors), node)
}

/// Where `/s/{id}` pages find their snippet: the store.
#[cfg(feature = "web")]
fn web_snippets(state: SharedState) -> web::SnippetSource {
    std::sync::Arc::new(move |id: String| {
        let state = state.clone();
        Box::pin(async move {
            use app::SharedSnippet;
            use snippets::SnippetError;
            match state.snippets.load(&id).await {
                Ok(snippet) => SharedSnippet::Found {
                    snippet: Box::new(snippet),
                },
                Err(SnippetError::NotFound(_) | SnippetError::BadId(_)) => SharedSnippet::NotFound,
                Err(e) => {
                    tracing::warn!("loading snippet {id} for its page failed: {e}");
                    SharedSnippet::Unavailable {
                        message: "The snippet store is not available right now; try again shortly."
                            .into(),
                    }
                }
            }
        })
    })
}

/// The API routes (everything but the web pages).
pub fn api_router(state: SharedState) -> Router {
    let node = node_header(&state);
    let cors = cors::layer(&state.config.cors_allowed_origins);
    with_node_header(api_routes(state).layer(cors), node)
}

fn node_header(state: &SharedState) -> HeaderValue {
    HeaderValue::from_str(&state.config.node_id).expect("node ids are checked header text")
}

/// Every response, whatever answered it (a route, an error, the fallback, a WebSocket
/// upgrade, a page), names the node: behind a balancer, that is how one knows who served.
fn with_node_header(router: Router, node: HeaderValue) -> Router {
    router.layer(axum::middleware::map_response(move |mut resp: Response| {
        let node = node.clone();
        async move {
            resp.headers_mut().insert(NODE_HEADER, node);
            resp
        }
    }))
}

fn api_routes(state: SharedState) -> Router {
    let body_limit = state.config.limits.body_bytes;
    Router::new()
        .route("/healthz", get(api::health::healthz))
        .route("/readyz", get(api::health::readyz))
        .route("/metrics", get(api::health::metrics))
        .route("/api/v1/openapi.json", get(api::openapi::spec))
        .route("/api/v1/languages", get(api::languages::list))
        .route("/api/v1/runs", post(api::runs::create))
        .route("/api/v1/format", post(api::format::format))
        .route("/api/v1/submissions", post(api::submissions::create))
        .route("/api/v1/submissions/{id}", get(api::submissions::get))
        .route("/api/v1/ws", get(api::ws::upgrade))
        .route("/api/v1/snippets", post(api::snippets::create))
        .route("/api/v1/snippets/{id}", get(api::snippets::get))
        .route("/api/v1/stats", get(api::stats::get))
        .route("/api/v1/nodes", get(api::health::nodes))
        .route("/api/v2/runtimes", get(api::piston::runtimes))
        .route("/api/v2/execute", post(api::piston::execute))
        .route("/judge0/languages", get(api::judge0::languages))
        .route("/judge0/languages/all", get(api::judge0::languages_all))
        .route("/judge0/languages/{id}", get(api::judge0::language))
        .route("/judge0/statuses", get(api::judge0::statuses))
        .route("/judge0/about", get(api::judge0::about))
        .route("/judge0/version", get(api::judge0::version))
        .route("/judge0/config_info", get(api::judge0::config_info))
        .route("/judge0/workers", get(api::judge0::workers))
        .route("/judge0/submissions", post(api::judge0::create))
        .route(
            "/judge0/submissions/batch",
            get(api::judge0::batch_get).post(api::judge0::batch_create),
        )
        .route(
            "/judge0/submissions/{token}",
            get(api::judge0::get).delete(api::judge0::delete),
        )
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

/// Serves until the node drains (`AppState::begin_drain`, on SIGTERM/SIGINT) or shuts
/// down, then:
/// 1. keeps accepting connections for `drain_delay_ms` while `/readyz` says 503, so that
///    the balancer takes the node out of rotation before connections are refused;
/// 2. stops accepting, and waits (until `shutdown_grace_ms` after the signal) for HTTP
///    requests in flight, WebSocket sessions (they close after their current run) and
///    claimed submissions;
/// 3. cuts whatever is left, removes every container, marks the node stopped.
pub async fn serve(
    state: SharedState,
    app: Router,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<()> {
    let stop_accepting = CancellationToken::new();
    // Small frames (a WebSocket exit, a stdin echo) must not wait ~40 ms for Nagle.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown({
        let stop = stop_accepting.clone();
        async move { stop.cancelled().await }
    });
    let mut server = tokio::spawn(std::future::IntoFuture::into_future(server));
    let served = tokio::select! {
        r = &mut server => Some(r),
        _ = state.draining.cancelled() => None,
        _ = state.shutdown.cancelled() => None,
    };
    let result = match served {
        // The listener failed on its own: no drain, just clean up.
        Some(r) => r
            .map_err(anyhow::Error::from)
            .and_then(|r| r.map_err(Into::into)),
        None => {
            drain(&state, &mut server, stop_accepting).await;
            Ok(())
        }
    };
    state.shutdown.cancel();
    server.abort();
    state.engine.shutdown().await;
    if let Err(e) = cluster::nodes::mark_stopped(state.snippets.db(), &state.node).await {
        tracing::warn!("marking the node stopped failed: {e}");
    }
    // Runs that finished during the grace period are counted before the store closes.
    state.snippets.close().await;
    result
}

/// Steps 1 and 2 of [`serve`].
async fn drain(
    state: &SharedState,
    server: &mut tokio::task::JoinHandle<std::io::Result<()>>,
    stop_accepting: CancellationToken,
) {
    let cfg = &state.config;
    let signalled = tokio::time::Instant::now();
    // A shutdown without a drain (tests, embedders) still stops the claimer.
    state.begin_drain();
    let deadline = signalled + Duration::from_millis(cfg.shutdown_grace_ms.max(cfg.drain_delay_ms));
    if !state.shutdown.is_cancelled() {
        tracing::info!(
            "draining: /readyz answers 503; accepting connections for {} ms more",
            cfg.drain_delay_ms
        );
        tokio::select! {
            _ = state.shutdown.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_millis(cfg.drain_delay_ms)) => {}
        }
    }
    stop_accepting.cancel();
    let all_done = async {
        let _ = (&mut *server).await;
        while state
            .live_sessions
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        state.queue.tracker.wait().await;
    };
    tokio::select! {
        _ = all_done => tracing::info!("drained: nothing left running"),
        _ = tokio::time::sleep_until(deadline) => {
            tracing::warn!("runs still going after shutdown_grace_ms; cutting them");
        }
        _ = state.shutdown.cancelled() => {}
    }
}
