//! Execution statistics for the page footer, from `GET /api/v1/stats`.

use leptos::prelude::*;

/// One line of run statistics, e.g. `1,234 runs · 92% ok · top: python 60%`, fetched
/// from `GET /api/v1/stats` when the page loads (in the browser; the server renders an
/// empty line). When the statistics cannot be had, it stays empty.
#[component]
pub fn RunStats(
    /// Base URL of the warmrun server; empty (the default) means the page's own origin.
    #[prop(optional, into)]
    server_url: String,
) -> impl IntoView {
    // (summary, detail); None until loaded or when unavailable.
    let line = RwSignal::new(None::<(String, String)>);

    #[cfg(target_arch = "wasm32")]
    leptos::task::spawn_local(async move {
        let url = crate::api::http_url(&server_url, &crate::client::origin(), "/api/v1/stats");
        match crate::client::fetch_text(&url, None).await {
            Ok((200, text)) => match serde_json::from_str::<crate::api::Stats>(&text) {
                Ok(stats) => {
                    line.try_set(Some((
                        crate::api::stats_summary(&stats),
                        crate::api::stats_detail(&stats),
                    )));
                }
                Err(e) => leptos::logging::warn!("warmrun: statistics not understood: {e}"),
            },
            Ok((status, _)) => leptos::logging::warn!("warmrun: no statistics (HTTP {status})"),
            Err(e) => leptos::logging::warn!("warmrun: no statistics ({e})"),
        }
    });
    #[cfg(not(target_arch = "wasm32"))]
    let _ = server_url;

    view! {
        <span
            class="wr-stats"
            class:wr-loaded=move || line.with(Option::is_some)
            hidden=move || line.with(Option::is_none)
            title=move || line.with(|l| l.as_ref().map(|(_, d)| d.clone()))
        >
            {move || line.with(|l| l.as_ref().map(|(s, _)| s.clone()).unwrap_or_default())}
        </span>
    }
    .into_any()
}
