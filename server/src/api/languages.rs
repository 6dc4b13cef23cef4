//! `GET /api/v1/languages`: the catalog as clients need it.

use crate::state::SharedState;
use axum::extract::State;
use axum::Json;
use pool::Limits;
use serde::Serialize;

/// One language as the API lists it.
#[derive(Serialize)]
pub struct LanguageJson {
    pub id: String,
    pub name: String,
    pub version: String,
    pub file: String,
    pub aliases: Vec<String>,
    pub compiled: bool,
    pub example: String,
    pub limits: Limits,
}

/// Lists the catalog in its order.
pub async fn list(State(state): State<SharedState>) -> Json<Vec<LanguageJson>> {
    Json(
        state
            .engine
            .catalog()
            .languages
            .iter()
            .map(|l| LanguageJson {
                id: l.id.to_string(),
                name: l.name.clone(),
                version: l.version.clone(),
                file: l.file.clone(),
                aliases: l.aliases.clone(),
                compiled: !l.compile.is_empty(),
                example: l.example.clone(),
                limits: l.limits,
            })
            .collect(),
    )
}
