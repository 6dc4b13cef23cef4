//! Another Leptos 0.8 app (client-side rendered) embedding warmrun's components, served
//! from its own origin and talking to a warmrun server on another. Cargo.toml beside
//! this file has what such an app adds: `app = { path = …, features = ["csr"] }`.
//!
//! Build and serve it (wasm32 build, `wasm-bindgen --target web`, beside `index.html`):
//!   bash scripts/build-embed-example.sh        # → /var/cache/warmrun-build/embed-example
//!   python3 -m http.server -b 127.0.0.1 -d /var/cache/warmrun-build/embed-example 8000
//!   open http://127.0.0.1:8000/?server=http://127.0.0.1:8080
//!
//! The page (`index.html`) loads the editor/terminal bundles and the styles from the
//! warmrun server's `/pkg/` (`window.WARMRUN_ASSETS`, a `<link>` to `style.css`); the
//! server must allow this page's origin (`cors_allowed_origins`, any by default).
//! See "Embed in your Leptos app" in the README; scripts/e2e/embed-app.test.mjs tests it.
//!
//! In a server-rendered (leptos_axum) app, use the same components with the app
//! crate's `ssr` feature on the server and `hydrate` in the browser build.

use app::{CodeEditor, Playground};
use leptos::prelude::*;

/// Where warmrun runs. A real app writes its server here; `?server=URL` on the page's
/// address overrides it, so that the same build can be tried against any server.
const SERVER_URL: &str = "https://play.example.com";

fn server_url() -> String {
    let from_query = window()
        .location()
        .search()
        .ok()
        .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
        .and_then(|q| q.get("server"));
    from_query.unwrap_or_else(|| SERVER_URL.to_string())
}

#[component]
fn Docs() -> impl IntoView {
    // A read-only snippet, kept in a signal the page can read or replace.
    let snippet = RwSignal::new(String::from(
        "fn main() {\n    println!(\"Hello from an embedded editor\");\n}\n",
    ));
    let server = server_url();
    view! {
        <h1>"My language course"</h1>
        <p>"Try it: edit the program and press Run (or Ctrl+Enter)."</p>
        <Playground
            language="python"
            initial_code="name = input(\"Your name? \")\nprint(f\"Hello, {name}!\")\n"
            height="360px"
            server_url=server
        />
        <h2>"Just the editor"</h2>
        <CodeEditor code=snippet language="rust" read_only=true height="160px" />
        <p class="line-count">{move || format!("{} lines", snippet.with(|s| s.lines().count()))}</p>
    }
}

fn main() {
    leptos::mount::mount_to_body(Docs);
}
