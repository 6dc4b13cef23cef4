//! Bindings to the editor and terminal bundles (browser only).
//!
//! `app/js/loader.js` (copied by wasm-bindgen into `pkg/snippets/`) imports
//! `pkg/js/editor.js` and `pkg/js/terminal.js`, which `scripts/build-frontend.sh`
//! bundles from `app/js/src/` (CodeMirror 6 and xterm.js from pinned npm packages).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/loader.js")]
extern "C" {
    /// Starts fetching the editor and terminal bundles.
    pub fn preload();

    /// Resolves to an [`EditorHandle`].
    #[wasm_bindgen(js_name = createEditor)]
    pub fn create_editor(
        parent: &web_sys::HtmlElement,
        doc: &str,
        language: &str,
        read_only: bool,
        on_change: &js_sys::Function,
        on_run: &js_sys::Function,
    ) -> js_sys::Promise;

    /// Resolves to a [`TerminalHandle`].
    #[wasm_bindgen(js_name = createTerminal)]
    pub fn create_terminal(
        parent: &web_sys::HtmlElement,
        on_input: &js_sys::Function,
        on_eof: &js_sys::Function,
        on_interrupt: &js_sys::Function,
        on_resize: &js_sys::Function,
    ) -> js_sys::Promise;
}

#[wasm_bindgen]
extern "C" {
    /// A mounted CodeMirror editor (app/js/src/editor.js).
    #[derive(Clone)]
    pub type EditorHandle;

    #[wasm_bindgen(method, js_name = getDoc)]
    pub fn get_doc(this: &EditorHandle) -> String;
    #[wasm_bindgen(method, js_name = setDoc)]
    pub fn set_doc(this: &EditorHandle, doc: &str);
    #[wasm_bindgen(method, js_name = setLanguage)]
    pub fn set_language(this: &EditorHandle, language: &str) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = setReadOnly)]
    pub fn set_read_only(this: &EditorHandle, read_only: bool);
    #[wasm_bindgen(method)]
    pub fn focus(this: &EditorHandle);
    #[wasm_bindgen(method)]
    pub fn destroy(this: &EditorHandle);

    /// A mounted xterm.js terminal with its line discipline (app/js/src/terminal.js).
    #[derive(Clone)]
    pub type TerminalHandle;

    #[wasm_bindgen(method)]
    pub fn write(this: &TerminalHandle, text: &str);
    #[wasm_bindgen(method, js_name = writeErr)]
    pub fn write_err(this: &TerminalHandle, text: &str);
    #[wasm_bindgen(method, js_name = writeInfo)]
    pub fn write_info(this: &TerminalHandle, text: &str);
    #[wasm_bindgen(method)]
    pub fn clear(this: &TerminalHandle);
    /// "off", "cooked" or "raw".
    #[wasm_bindgen(method, js_name = setMode)]
    pub fn set_mode(this: &TerminalHandle, mode: &str);
    #[wasm_bindgen(method)]
    pub fn fit(this: &TerminalHandle);
    #[wasm_bindgen(method)]
    pub fn focus(this: &TerminalHandle);
    #[wasm_bindgen(method)]
    pub fn cols(this: &TerminalHandle) -> u16;
    #[wasm_bindgen(method)]
    pub fn rows(this: &TerminalHandle) -> u16;
    #[wasm_bindgen(method)]
    pub fn destroy(this: &TerminalHandle);
}
