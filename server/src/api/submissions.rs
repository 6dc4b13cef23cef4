//! `POST /api/v1/submissions` and `GET /api/v1/submissions/{id}`: runs that answer at once
//! with an id and are polled for their result.

use crate::error::ApiError;
use crate::extract::{ApiJson, Metered};
use crate::state::SharedState;
use crate::submissions::SubmissionState;
use crate::wire::{RunBody, RunResultJson};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use uuid::Uuid;

/// Accepts a run and starts it in the background.
pub async fn create(
    State(state): State<SharedState>,
    _client: Metered,
    ApiJson(body): ApiJson<RunBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let req = body.into_request()?;
    // Resolve the language now so an unknown one is refused here, not in the background.
    state
        .engine
        .language(&req.language)
        .map_err(ApiError::from)?;
    if state.submissions.len() >= state.config.max_submissions {
        return Err(ApiError {
            retry_after_s: Some(5),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_submissions",
                "too many submissions are stored; retry later",
            )
        });
    }
    let id = state.submissions.insert();
    let language = req.language.clone();
    let bg = state.clone();
    tokio::spawn(async move {
        match bg.engine.lease_and_start(req, &mut |_| {}).await {
            Ok(handle) => {
                bg.submissions.set(id, SubmissionState::Running);
                let result = handle.collect().await;
                bg.record_run(&language, &result.outcome);
                bg.submissions.set(
                    id,
                    SubmissionState::Finished {
                        result: Box::new(RunResultJson::from(&result)),
                    },
                );
            }
            Err(e) => bg.submissions.set(
                id,
                SubmissionState::Failed {
                    error: ApiError::from(e).body()["error"].clone(),
                },
            ),
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "status": "queued" })),
    ))
}

/// A submission's status, with its result once finished.
pub async fn get(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{id:?} is not a submission id")))?;
    let sub = state
        .submissions
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no submission {id} (it may have expired)")))?;
    let mut body = serde_json::to_value(&sub).expect("serializable");
    body["id"] = json!(id);
    Ok(Json(body))
}
