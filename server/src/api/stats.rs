//! `GET /api/v1/stats[?days=N]`: finished runs per language and verdict, from the store.

use crate::error::ApiError;
use crate::extract::Metered;
use crate::snippets::Stats;
use crate::state::SharedState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

/// The query string.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Only today and the days before it, up to this many (UTC days, 1–36500).
    #[serde(default)]
    pub days: Option<u32>,
}

/// The statistics of all time, or of the last `days` days.
pub async fn get(
    State(state): State<SharedState>,
    _client: Metered,
    query: Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<Stats>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if matches!(q.days, Some(d) if d == 0 || d > 36_500) {
        return Err(ApiError::bad_request("days must be between 1 and 36500"));
    }
    Ok(Json(state.snippets.stats(q.days).await?))
}
