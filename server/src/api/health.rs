//! `/healthz`, `/readyz` and `/metrics`.

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

/// Docker answers and every pool has its minimum of warm containers.
pub async fn readyz(State(state): State<SharedState>) -> (StatusCode, Json<serde_json::Value>) {
    let pools = state.engine.status();
    match state.engine.readiness().await {
        Ok(()) => {
            state.metrics.ready.set(1);
            (
                StatusCode::OK,
                Json(json!({ "ready": true, "pools": pools })),
            )
        }
        Err(problems) => {
            state.metrics.ready.set(0);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "ready": false, "problems": problems, "pools": pools })),
            )
        }
    }
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
