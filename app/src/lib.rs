//! warmrun's web UI: Leptos components and pages, shared by server-side rendering
//! (feature `ssr`, used by the server through `leptos_axum`) and the browser (feature
//! `hydrate`, built by the `frontend` crate; or `csr` in a client-rendered app).
//!
//! Public components, usable from other Leptos 0.8 apps:
//! - [`Playground`]: language picker, editor, terminal, Run/Stop/Clear/Share, status line.
//! - [`CodeEditor`]: the CodeMirror 6 editor alone.
//! - [`Terminal`] with [`TerminalControl`]: the xterm.js terminal alone.
//! - [`RunStats`]: one line of execution statistics (`GET /api/v1/stats`).
//!
//! The editor and terminal are JavaScript bundles (CodeMirror 6, xterm.js) that
//! `scripts/build-frontend.sh` builds from pinned npm packages into `<site>/pkg/js/`,
//! next to the wasm-bindgen output; `pkg/style.css` holds the styles. An app embedding
//! the components serves those files too, or loads them from a warmrun server's `/pkg/`
//! (see `examples/embed-app/` and "Embed in your Leptos app" in the README).
//!
//! Pages ([`App`]): `/` the playground, `/embed` the playground without page chrome for
//! iframes (query `lang`, `code` or `snippet`), `/s/:id` a shared snippet (the server
//! renders the page around it; the browser loads the snippet from
//! `GET /api/v1/snippets/{id}` into the playground).

pub mod api;
#[cfg(target_arch = "wasm32")]
mod client;
mod editor;
#[cfg(target_arch = "wasm32")]
mod js;
mod playground;
mod settings;
mod share;
mod stats;
mod terminal;

pub use editor::CodeEditor;
pub use playground::{Phase, Playground};
pub use settings::{
    Keymap, Settings, Theme, CHANGE_EVENT as SETTINGS_EVENT, STORAGE_KEY as SETTINGS_STORAGE_KEY,
};
pub use share::{embed_json, SharedSnippet};
pub use stats::RunStats;
pub use terminal::{InputMode, Terminal, TerminalControl};

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::{use_params_map, use_query_map},
    path,
};

/// Where the site's static files are served: wasm-bindgen output, `js/` bundles and
/// `style.css`.
pub const PKG_PATH: &str = "/pkg";

/// A green "run" triangle, inline so that it costs no request.
const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%231f883d'/%3E%3Cpath d='M5 3.5v9l7-4.5z' fill='white'/%3E%3C/svg%3E";

/// The HTML document around [`App`], rendered by the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href=FAVICON />
                <script inner_html=settings::THEME_BOOT_SCRIPT></script>
                <link rel="modulepreload" href=format!("{PKG_PATH}/js/editor.js") />
                <link rel="modulepreload" href=format!("{PKG_PATH}/js/terminal.js") />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
    .into_any()
}

/// The router with warmrun's pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="warmrun-css" href=format!("{PKG_PATH}/style.css") />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=HomePage />
                <Route path=path!("/embed") view=EmbedPage />
                <Route path=path!("/s/:id") view=SnippetPage />
            </Routes>
        </Router>
    }
    .into_any()
}

/// The title and description of pages other than shared snippets.
#[component]
fn DefaultMeta() -> impl IntoView {
    view! {
        <Title text="warmrun playground" />
        <Meta
            name="description"
            content="Run code in Python, JavaScript, C, C++, Go, Rust, Java and Bash in your browser."
        />
    }
}

/// `lang` and `code` from the query string.
fn query_lang_code() -> (String, String) {
    let query = use_query_map();
    query.with_untracked(|q| {
        (
            q.get("lang").unwrap_or_default(),
            q.get("code").unwrap_or_default(),
        )
    })
}

/// `/`: the playground with a header.
#[component]
fn HomePage() -> impl IntoView {
    let (lang, code) = query_lang_code();
    view! {
        <DefaultMeta />
        <div class="wr-page">
            <header class="wr-page-header">
                <h1 class="wr-logo">
                    <a href="/">"warmrun"</a>
                </h1>
                <p class="wr-tagline">"Write a program, press Run, talk to it in the terminal."</p>
            </header>
            <main>
                <Playground language=lang initial_code=code />
            </main>
            <Footer />
        </div>
    }
    .into_any()
}

/// The page footer: run statistics and how to embed the playground.
#[component]
fn Footer() -> impl IntoView {
    view! {
        <footer class="wr-footer">
            <RunStats />
            <span class="wr-embed-hint">
                "Embed it: "
                <code>"<iframe src=\"/embed?lang=python\" width=\"100%\" height=\"480\"></iframe>"</code>
            </span>
        </footer>
    }
    .into_any()
}

/// `/embed?lang=..&code=..` or `/embed?snippet=ID`: the playground alone, filling the
/// frame.
#[component]
fn EmbedPage() -> impl IntoView {
    let (lang, code) = query_lang_code();
    let snippet = use_query_map().with_untracked(|q| q.get("snippet").unwrap_or_default());
    view! {
        <DefaultMeta />
        <div class="wr-embed-page">
            <Playground language=lang initial_code=code snippet=snippet />
        </div>
    }
    .into_any()
}

/// `/s/:id`: a shared snippet, opened in the playground. A server that has the snippet
/// store renders it into the page ([`SharedSnippet`] context: code, language, title, meta
/// tags; a 404 page for an unknown id); otherwise the browser loads it.
#[component]
fn SnippetPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").unwrap_or_default());
    let shared = share::shared_snippet();
    let head = match &shared {
        Some(data) => view! { <share::SharedSnippetHead data=data.clone() /> }.into_any(),
        None => {
            view! { <Title text=share::title_text(&format!("warmrun snippet {id}")) /> }.into_any()
        }
    };
    view! {
        {head}
        <div class="wr-page">
            <header class="wr-page-header">
                <h1 class="wr-logo">
                    <a href="/">"warmrun"</a>
                </h1>
                <p class="wr-tagline">"Shared snippet"</p>
            </header>
            <main>
                <Playground snippet=id shared=shared />
            </main>
            <Footer />
        </div>
    }
    .into_any()
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <DefaultMeta />
        <div class="wr-page">
            <h1 class="wr-logo">"Not found"</h1>
            <p>
                "There is no page here. " <a href="/">"Open the playground"</a>
            </p>
        </div>
    }
    .into_any()
}
