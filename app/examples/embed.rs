//! Embedding warmrun's components in another Leptos 0.8 app (client-side rendered).
//!
//! Check it compiles:
//!   cargo check -p app --example embed --features csr --target wasm32-unknown-unknown
//!
//! To run it, build it for wasm32 with your usual tool (e.g. trunk, or cargo build +
//! `wasm-bindgen --target web`) and serve, beside the wasm-bindgen output, the files
//! that `scripts/build-frontend.sh` puts in `<site>/pkg/`: `js/` (the CodeMirror and
//! xterm.js bundles) and `style.css`. The components find `js/` three directories above
//! wasm-bindgen's `snippets/app-<hash>/js/loader.js`; set `window.WARMRUN_ASSETS` to
//! its URL when it lives elsewhere. `server_url` points the playground at a warmrun
//! server (which must allow your origin, or sit behind the same origin).
//!
//! In a server-rendered (leptos_axum) app, use the same components with the app
//! crate's `ssr` feature on the server and `hydrate` in the browser build.

use app::{CodeEditor, Playground};
use leptos::prelude::*;

#[component]
fn Docs() -> impl IntoView {
    // A read-only snippet, kept in a signal the page can read or replace.
    let snippet = RwSignal::new(String::from(
        "fn main() {\n    println!(\"Hello from an embedded editor\");\n}\n",
    ));
    view! {
        <h1>"My language course"</h1>
        <p>"Try it: edit the program and press Run (or Ctrl+Enter)."</p>
        <Playground
            language="python"
            initial_code="print(sum(range(10)))\n"
            height="360px"
            server_url="https://play.example.com"
        />
        <h2>"Just the editor"</h2>
        <CodeEditor code=snippet language="rust" read_only=true height="160px" />
        <p>{move || format!("{} lines", snippet.with(|s| s.lines().count()))}</p>
    }
}

fn main() {
    leptos::mount::mount_to_body(Docs);
}
