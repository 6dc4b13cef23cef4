//! `POST /api/v1/submissions` and `GET /api/v1/submissions/{id}`: runs that answer at once
//! with an id and are polled for their result.

use crate::error::ApiError;
use crate::extract::{ApiJson, Metered};
use crate::runner;
use crate::state::SharedState;
use crate::submissions::SubmissionState;
use crate::wire::ToPool;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use uuid::Uuid;
use warmrun_api::RunBody;

/// Accepts a run and starts it in the background.
pub async fn create(
    State(state): State<SharedState>,
    _client: Metered,
    ApiJson(body): ApiJson<RunBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let req = body.to_pool()?;
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
    let bg = state.clone();
    tokio::spawn(async move {
        match runner::start(bg.clone(), req, |_| {}).await {
            Ok(run) => {
                bg.submissions.set(id, SubmissionState::Running);
                let result = run.collect().await;
                bg.submissions.set(
                    id,
                    SubmissionState::Finished {
                        result: Box::new(result),
                    },
                );
            }
            Err(e) => bg.submissions.set(
                id,
                SubmissionState::Failed {
                    error: e.body()["error"].clone(),
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
