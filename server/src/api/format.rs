//! `POST /api/v1/format`: the code as the language's formatter writes it.

use crate::error::ApiError;
use crate::extract::{ApiJson, Metered};
use crate::state::SharedState;
use axum::extract::State;
use axum::Json;
use warmrun_api::{FormatRequest, FormatResponse};

/// Formats the code in a sandbox (the formatter's input is untrusted); a formatter that
/// refuses it answers 422 `format_error` with its own message.
pub async fn format(
    State(state): State<SharedState>,
    _client: Metered,
    ApiJson(body): ApiJson<FormatRequest>,
) -> Result<Json<FormatResponse>, ApiError> {
    let code = state
        .engine
        .format(&body.language, body.version.as_deref(), &body.code)
        .await?;
    Ok(Json(FormatResponse { code }))
}
