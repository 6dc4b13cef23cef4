// Loads warmrun's editor and terminal bundles at run time. The app crate binds
// to this file with #[wasm_bindgen(module = "/js/loader.js")] (app/src/js.rs);
// wasm-bindgen copies it to <pkg>/snippets/app-<hash>/js/loader.js, so the
// bundles that scripts/build-frontend.sh writes to <pkg>/js/ are at
// "../../../js/" from here. A page that serves them elsewhere sets
// `window.WARMRUN_ASSETS = "https://cdn.example/warmrun/js/"` before hydrating.

function assetBase() {
  const set = globalThis.WARMRUN_ASSETS;
  if (set) return String(set).replace(/\/?$/, "/");
  return new URL("../../../js/", import.meta.url).href;
}

let editorModule = null;
let terminalModule = null;

/** Starts fetching both bundles (idempotent). */
export function preload() {
  editorModule ??= import(assetBase() + "editor.js");
  terminalModule ??= import(assetBase() + "terminal.js");
}

/** Resolves to an editor handle (see src/editor.js). */
export async function createEditor(parent, doc, language, readOnly, onChange, onRun) {
  preload();
  const m = await editorModule;
  return m.createEditor(parent, doc, language, readOnly, onChange, onRun);
}

/** Resolves to a terminal handle (see src/terminal.js). */
export async function createTerminal(parent, onInput, onEof, onInterrupt, onResize) {
  preload();
  const m = await terminalModule;
  return m.createTerminal(parent, onInput, onEof, onInterrupt, onResize);
}
