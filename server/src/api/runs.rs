//! `POST /api/v1/runs`: run to completion and answer once.

use crate::error::ApiError;
use crate::extract::{ApiJson, Metered};
use crate::state::SharedState;
use crate::wire::{RunBody, RunResultJson};
use axum::extract::State;
use axum::Json;
use pool::PoolError;

/// Runs the program and answers with its result.
pub async fn create(
    State(state): State<SharedState>,
    _client: Metered,
    ApiJson(body): ApiJson<RunBody>,
) -> Result<Json<RunResultJson>, ApiError> {
    let req = body.into_request()?;
    let language = req.language.clone();
    match state.engine.execute(req).await {
        Ok(result) => {
            state.record_run(&language, &result.outcome);
            Ok(Json((&result).into()))
        }
        Err(e) => {
            if matches!(e, PoolError::QueueFull(_)) {
                state
                    .metrics
                    .rejected
                    .with_label_values(&["queue_full"])
                    .inc();
            }
            Err(e.into())
        }
    }
}
