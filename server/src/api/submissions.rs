//! `POST /api/v1/submissions` and `GET /api/v1/submissions/{id}`: runs that answer at once
//! with an id and are polled for their result. The POST only stores a queued row; a node
//! with a free worker claims and runs it (`crate::cluster::queue`), so any node of a
//! cluster may run it and any node answers the GET.

use crate::error::ApiError;
use crate::extract::{ApiJson, Metered};
use crate::state::SharedState;
use crate::wire::ToPool;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use uuid::Uuid;
use warmrun_api::RunBody;

/// Checks a run and queues it.
pub async fn create(
    State(state): State<SharedState>,
    _client: Metered,
    ApiJson(raw): ApiJson<serde_json::Value>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    // Checked here, like a run, so that a bad one is refused now and not in the background.
    let body: RunBody = serde_json::from_value(raw.clone()).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("Failed to deserialize the JSON body into the target type: {e}"),
        )
    })?;
    let req = body.to_pool()?;
    crate::runner::check_tests(&state, &req)?;
    state
        .engine
        .language_at(&req.language, req.version.as_deref())
        .map_err(ApiError::from)?;
    let stored = state.submissions.count().await?;
    if stored >= state.config.max_submissions as i64 {
        return Err(ApiError {
            retry_after_s: Some(5),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_submissions",
                "too many submissions are stored; retry later",
            )
        });
    }
    let id = state.submissions.insert(&raw.to_string()).await?;
    state.queue.wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "status": "queued" })),
    ))
}

/// A submission's status, with its result once finished (`node`: who claimed it).
pub async fn get(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{id:?} is not a submission id")))?;
    let sub =
        state.submissions.get(id).await?.ok_or_else(|| {
            ApiError::not_found(format!("no submission {id} (it may have expired)"))
        })?;
    Ok(Json(sub.to_json()?))
}
