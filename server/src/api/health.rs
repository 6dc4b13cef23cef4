//! `/healthz`, `/readyz` and `/metrics`.

use crate::error::ApiError;
use crate::state::SharedState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use prometheus::{Encoder, TextEncoder};
use serde_json::json;

/// The process is alive.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready for new work: not draining, Docker answers, every pool has its minimum of warm
/// containers, and the node is not saturated (`ready_max_queue`). 503 otherwise, with the
/// reasons: the balancer then sends new requests and sessions to other nodes.
pub async fn readyz(State(state): State<SharedState>) -> (StatusCode, Json<serde_json::Value>) {
    let r = state.readiness().await;
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": r.ready,
            "node": state.node.id,
            "draining": r.draining,
            "problems": r.problems,
            "pools": state.engine.status(),
        })),
    )
}

/// `GET /api/v1/nodes`: the live nodes of the cluster (fresh heartbeats), by id.
pub async fn nodes(State(state): State<SharedState>) -> Result<Json<serde_json::Value>, ApiError> {
    let nodes = crate::cluster::nodes::list_live(state.snippets.db()).await?;
    Ok(Json(json!({ "nodes": nodes })))
}

/// Prometheus text exposition of every metric.
pub async fn metrics(State(state): State<SharedState>) -> impl IntoResponse {
    state.engine.update_gauges();
    let mut buf = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(e) = encoder.encode(&state.registry.gather(), &mut buf) {
        tracing::error!("encoding metrics failed: {e}");
    }
    (
        [(header::CONTENT_TYPE, encoder.format_type().to_string())],
        buf,
    )
}
