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
    ApiJson(body): ApiJson<NewSnippet>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Created>), ApiError> {
    let created = state
        .snippets
        .save(body, state.engine.catalog(), state.config.max_snippet_bytes)
        .await?;
    let location = format!("/api/v1/snippets/{}", created.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    ))
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
