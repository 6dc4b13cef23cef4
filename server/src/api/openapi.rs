//! `GET /api/v1/openapi.json`: the API described in OpenAPI 3.0 (kept beside the code in
//! `server/openapi.json`; a test checks that every route it lists answers).

use axum::http::header;
use axum::response::IntoResponse;

/// The OpenAPI document.
pub const SPEC: &str = include_str!("../../openapi.json");

/// Serves the OpenAPI document.
pub async fn spec() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], SPEC)
}
