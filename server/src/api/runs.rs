//! `POST /api/v1/runs`: run to completion and answer once.

use crate::error::ApiError;
use crate::extract::{ApiJson, Metered};
use crate::runner;
use crate::state::SharedState;
use crate::wire::ToPool;
use axum::extract::State;
use axum::Json;
use warmrun_api::{RunBody, RunResultJson};

/// Runs the program and answers with its result.
pub async fn create(
    State(state): State<SharedState>,
    _client: Metered,
    ApiJson(body): ApiJson<RunBody>,
) -> Result<Json<RunResultJson>, ApiError> {
    let cache = body.cache;
    let req = body.to_pool()?;
    Ok(Json(runner::collect(&state, req, cache).await?))
}
