//! `POST /api/v1/snippets` and `GET /api/v1/snippets/{id}`: save a snippet, load it by id.
//! The work is in `crate::snippets`.

use crate::error::ApiError;
use crate::extract::{ApiJson, Metered};
use crate::snippets::{Created, NewSnippet, Snippet};
use crate::state::SharedState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::Json;

/// Saves a snippet: `201 {id, url}` with `Location: /api/v1/snippets/{id}`.
pub async fn create(
    State(state): State<SharedState>,
    _client: Metered,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Created>), ApiError> {
    let created = state
        .snippets
        .save(
            new_snippet(body)?,
            state.engine.catalog(),
            state.config.max_snippet_bytes,
        )
        .await?;
    let location = format!("/api/v1/snippets/{}", created.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    ))
}

/// The body as a `NewSnippet`. A saved output's verdict that is not one is a 400 like the
/// snippet's other rules (not a 422 as a body of the wrong shape is).
fn new_snippet(body: serde_json::Value) -> Result<NewSnippet, ApiError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        if path == "output.verdict" {
            ApiError::bad_request(format!("{path}: {}", e.inner()))
        } else {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("{path}: {}", e.inner()),
            )
        }
    })
}

/// A snippet by id.
pub async fn get(
    State(state): State<SharedState>,
    _client: Metered,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Snippet>, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(Json(state.snippets.load(&id).await?))
}
