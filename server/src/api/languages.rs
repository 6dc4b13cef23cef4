//! `GET /api/v1/languages`: the catalog as clients need it.

use crate::state::SharedState;
use crate::wire::ToApi;
use axum::extract::State;
use axum::Json;
use warmrun_api::Language;

/// Lists the catalog in its order.
pub async fn list(State(state): State<SharedState>) -> Json<Vec<Language>> {
    Json(
        state
            .engine
            .catalog()
            .languages
            .iter()
            .map(ToApi::to_api)
            .collect(),
    )
}
