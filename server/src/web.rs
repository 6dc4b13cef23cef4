//! The playground's web pages: server-side rendered by the `app` crate through
//! `leptos_axum` (`/`, `/embed`, `/s/{id}`), hydrated in the browser by the wasm that
//! `scripts/build-frontend.sh` writes, with the rest of the static files, into
//! `<site_root>/pkg` (served here under `/pkg`). Everything is compressed (gzip or
//! brotli, as the client accepts).
//!
//! `/s/{id}` is rendered with the snippet already in it ([`SharedSnippet`], from the
//! store through a [`SnippetSource`]): code, language, title and meta tags are in the HTML
//! the server sends, and an unknown id is a 404 page.
//!
//! `/embed.js` is the one-tag widget (`<script type="module" src=".../embed.js">` and
//! `<warmrun-playground>` elements on any page): `pkg/embed.js` of the same build, served
//! at the root so that the tag is short. Like everything here it passes the CORS layer,
//! which module scripts from other origins need.
//!
//! The router has no fallback, so it merges into the API router (which has one).

use app::{shell, App, SharedSnippet};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::future::BoxFuture;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// The name wasm-bindgen gives the hydrate bundle: `pkg/frontend.js`, `pkg/frontend_bg.wasm`.
const OUTPUT_NAME: &str = "frontend";

/// Finds the snippet of a `/s/{id}` page: `Found`, `NotFound` (also for ids not shaped
/// like one) or `Unavailable` (the store failed).
pub type SnippetSource = Arc<dyn Fn(String) -> BoxFuture<'static, SharedSnippet> + Send + Sync>;

/// Where the widget's module is served, and the file it is in under `<site_root>/pkg`.
pub const EMBED_JS_PATH: &str = "/embed.js";
const EMBED_JS_FILE: &str = "embed.js";

/// The path of the shared snippet page, as the app's router lists it.
const SNIPPET_PAGE: &str = "/s/{id}";

/// Pages and `/pkg` static files. `site_root` is the directory the frontend build wrote
/// (`$WARMRUN_SITE`, by default `/var/cache/warmrun-build/site`); a missing directory
/// still renders the pages (unhydrated) and answers 404 under `/pkg`. With `snippets`,
/// `/s/{id}` renders the snippet itself; without, the browser loads it.
pub fn router(site_root: PathBuf, snippets: Option<SnippetSource>) -> Router {
    let options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .build();
    let mut routes = generate_route_list(App);
    if snippets.is_some() {
        routes.retain(|r| r.path() != SNIPPET_PAGE);
    }
    let mut pages = Router::new().leptos_routes(&options, routes, {
        let options = options.clone();
        move || shell(options.clone())
    });
    if let Some(source) = snippets {
        pages = pages.route(
            SNIPPET_PAGE,
            get(
                move |options: State<LeptosOptions>, id: Path<String>, req: Request<Body>| {
                    snippet_page(options, id, req, source.clone())
                },
            ),
        );
    }
    let pages = pages.with_state(options);
    Router::new()
        .merge(pages)
        .route_service(
            EMBED_JS_PATH,
            ServeFile::new(site_root.join("pkg").join(EMBED_JS_FILE)),
        )
        .nest_service("/pkg", ServeDir::new(site_root.join("pkg")))
        .layer(CompressionLayer::new().gzip(true).br(true))
}

/// `/s/{id}`: the page rendered around the snippet (200), or the not-found page (404), or
/// a page saying the store failed (503).
async fn snippet_page(
    State(options): State<LeptosOptions>,
    Path(id): Path<String>,
    req: Request<Body>,
    source: SnippetSource,
) -> Response {
    let data = source(id).await;
    let status = match &data {
        SharedSnippet::Found { .. } => StatusCode::OK,
        SharedSnippet::NotFound => StatusCode::NOT_FOUND,
        SharedSnippet::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
    };
    let render = leptos_axum::render_app_to_stream_with_context(
        {
            let options = options.clone();
            move || {
                provide_context(options.clone());
                provide_context(data.clone());
            }
        },
        move || shell(options.clone()),
    );
    let mut response = render(req).await;
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt;

    async fn get(app: Router, uri: &str, encoding: Option<&str>) -> (StatusCode, String, Vec<u8>) {
        let mut req = Request::builder().uri(uri);
        if let Some(e) = encoding {
            req = req.header(header::ACCEPT_ENCODING, e);
        }
        let resp = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let status = resp.status();
        let enc = resp
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, enc, body)
    }

    fn site() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("warmrun-web-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg/js")).unwrap();
        std::fs::write(
            dir.join("pkg/style.css"),
            "body { color: red; }\n".repeat(200),
        )
        .unwrap();
        std::fs::write(
            dir.join("pkg/embed.js"),
            "customElements.define(\"warmrun-playground\", class {});\n",
        )
        .unwrap();
        dir
    }

    #[tokio::test]
    async fn pages_render_and_static_files_are_compressed() {
        let site = site();
        let app = router(site.clone(), None);

        let (status, _, body) = get(app.clone(), "/", None).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("wr-playground"), "{html}");
        assert!(
            html.contains("/pkg/frontend.js"),
            "hydration script: {html}"
        );
        assert!(html.contains("/pkg/style.css"), "{html}");

        let (status, _, body) = get(app.clone(), "/embed?lang=go&code=x%3C1", None).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("wr-embed-page"));
        assert!(
            html.contains("x&lt;1"),
            "code is escaped into the editor: {html}"
        );
        assert!(!html.contains("wr-page-header"));

        let (status, _, body) = get(app.clone(), "/s/abc123", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8(body).unwrap().contains("abc123"));

        let (status, enc, _) = get(app.clone(), "/pkg/style.css", Some("gzip")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(enc, "gzip");
        let (status, enc, _) = get(app.clone(), "/pkg/style.css", Some("br")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(enc, "br");
        let (status, _, _) = get(app.clone(), "/pkg/nope.js", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, _, body) = get(app.clone(), EMBED_JS_PATH, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8(body)
            .unwrap()
            .contains("warmrun-playground"));

        let _ = std::fs::remove_dir_all(site);
    }
}
