//! The hydrate entry of warmrun's UI, built for wasm32-unknown-unknown by
//! `scripts/build-frontend.sh` (wasm-bindgen `--target web` → `pkg/frontend.js`,
//! `pkg/frontend_bg.wasm`). The server's HTML calls `hydrate()` once they load.
//! Empty on other targets.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::prelude::*;

/// Hydrates the server-rendered page (called by leptos' hydration script).
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
