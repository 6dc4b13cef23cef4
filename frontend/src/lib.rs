//! The browser entry of warmrun's UI, built for wasm32-unknown-unknown by
//! `scripts/build-frontend.sh` (wasm-bindgen `--target web` → `pkg/frontend.js`,
//! `pkg/frontend_bg.wasm`). Two ways in, one wasm:
//! - `hydrate()`: the server's HTML calls it once they load (the pages `/`, `/embed`,
//!   `/s/{id}`);
//! - `mount_widget(element, options)`: `embed.js` (the one-tag widget, app/js/embed.js)
//!   renders a [`app::Playground`] into each `<warmrun-playground>` element of any page.
//!
//! Empty on other targets.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

/// Hydrates the server-rendered page (called by leptos' hydration script).
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}

/// What `embed.js` reads from a `<warmrun-playground>` element's attributes and text.
struct WidgetOptions {
    language: String,
    code: String,
    read_only: bool,
    height: String,
    server_url: String,
}

/// The widget's editor and terminal height when the element gives none (`embed.js` also
/// has it): smaller than the playground page's, for a widget among text.
const DEFAULT_HEIGHT: &str = "280px";

impl WidgetOptions {
    /// From a plain JS object `{ language, code, readOnly, height, server }` (absent or
    /// wrongly typed fields take their defaults).
    fn from_js(options: &JsValue) -> WidgetOptions {
        let get = |key: &str| js_sys::Reflect::get(options, &JsValue::from_str(key)).ok();
        let string = |key: &str| get(key).and_then(|v| v.as_string()).unwrap_or_default();
        let height = string("height");
        WidgetOptions {
            language: string("language"),
            code: string("code"),
            read_only: get("readOnly").and_then(|v| v.as_bool()).unwrap_or(false),
            height: if height.is_empty() {
                DEFAULT_HEIGHT.to_owned()
            } else {
                height
            },
            server_url: string("server"),
        }
    }
}

/// Renders a playground into `element` (client-side: a fresh Leptos root of its own, not
/// hydration, so any number of elements share this one wasm instance). The playground
/// stays until the page goes.
#[wasm_bindgen(js_name = mountWidget)]
pub fn mount_widget(element: web_sys::HtmlElement, options: JsValue) {
    console_error_panic_hook::set_once();
    let o = WidgetOptions::from_js(&options);
    let handle = leptos::mount::mount_to(element, move || {
        view! {
            <app::Playground
                language=o.language
                initial_code=o.code
                read_only=o.read_only
                height=o.height
                server_url=o.server_url
                hide_settings=true
                hide_examples=true
            />
        }
    });
    // Dropping the handle would unmount the playground.
    handle.forget();
}
