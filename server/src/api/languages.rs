//! `GET /api/v1/languages`: the catalog as clients need it.

use crate::state::SharedState;
use crate::wire::ToApi;
use axum::extract::State;
use axum::Json;
use warmrun_api::Language;

/// Lists the catalog in its order.
pub async fn list(State(state): State<SharedState>) -> Json<Vec<Language>> {
    let catalog = state.engine.catalog();
    Json(
        catalog
            .languages
            .iter()
            .map(|l| Language {
                // Which formatter (if any) is a catalog-wide question: `format_in` and
                // older versions borrow another entry's.
                formatter: catalog
                    .formatter(l)
                    .and_then(|f| f.format.first())
                    .map(|program| program.rsplit('/').next().unwrap_or(program).to_string()),
                ..l.to_api()
            })
            .collect(),
    )
}
