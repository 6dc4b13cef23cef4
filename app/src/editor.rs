//! The code editor: CodeMirror 6 in the browser, a plain `<textarea>` in server-rendered
//! HTML (and as the fallback should the editor bundle fail to load).

use leptos::prelude::*;

/// Escapes text for use inside an HTML element.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A code editor (CodeMirror 6) with syntax highlighting for python, javascript, c,
/// cpp, go, rust, java and bash (other ids show plain text), line numbers, Tab
/// indentation (Esc then Tab leaves the editor), bracket matching and closing, undo
/// and redo. Ctrl+Enter / Cmd+Enter calls `on_run`.
///
/// ```ignore
/// let code = RwSignal::new(String::from("print('hi')"));
/// view! { <CodeEditor code language="python" height="300px" on_run=move |_| run()/> }
/// ```
#[component]
pub fn CodeEditor(
    /// Initial text, used when `code` is not given.
    #[prop(optional, into)]
    initial_code: String,
    /// Two-way binding of the text: edits are written into it, and setting it replaces
    /// the editor's text. Created from `initial_code` when not given.
    #[prop(optional)]
    code: Option<RwSignal<String>>,
    /// Language id for highlighting, e.g. `"python"` (may change while mounted).
    #[prop(optional, into)]
    language: Signal<String>,
    /// Forbids editing (may change while mounted).
    #[prop(optional, into)]
    read_only: Signal<bool>,
    /// CSS height, e.g. `"400px"` or `"60vh"`; by default the editor fills its container.
    #[prop(optional, into)]
    height: Option<String>,
    /// Called on Ctrl+Enter / Cmd+Enter.
    #[prop(optional, into)]
    on_run: Option<Callback<()>>,
) -> impl IntoView {
    let code = code.unwrap_or_else(|| RwSignal::new(initial_code));
    let mounted = RwSignal::new(false);
    let host = NodeRef::<leptos::html::Div>::new();

    #[cfg(target_arch = "wasm32")]
    host.on_load(move |el| mount(el, code, language, read_only, on_run, mounted));
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (language, on_run);

    let initial = escape_html(&code.get_untracked());
    let style = height.map(|h| format!("height:{h}"));
    view! {
        <div class="wr-editor" class:wr-mounted=move || mounted.get() style=style>
            <textarea
                class="wr-editor-fallback"
                aria-label="Code"
                spellcheck="false"
                autocomplete="off"
                readonly=move || read_only.get()
                inner_html=initial
                prop:value=move || code.get()
                on:input=move |ev| code.set(event_target_value(&ev))
            ></textarea>
            <div class="wr-editor-mount" node_ref=host></div>
        </div>
    }
    .into_any()
}

#[cfg(target_arch = "wasm32")]
fn mount(
    el: web_sys::HtmlDivElement,
    code: RwSignal<String>,
    language: Signal<String>,
    read_only: Signal<bool>,
    on_run: Option<Callback<()>>,
    mounted: RwSignal<bool>,
) {
    use crate::js;
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    type Slot = Rc<RefCell<Option<js::EditorHandle>>>;
    let handle: Slot = Rc::new(RefCell::new(None));

    let on_change = Closure::<dyn FnMut(String)>::new(move |text: String| {
        if code.try_get_untracked().as_deref() != Some(text.as_str()) {
            code.try_set(text);
        }
    });
    let on_run_js = Closure::<dyn FnMut()>::new(move || {
        if let Some(cb) = on_run {
            cb.run(());
        }
    });
    let promise = js::create_editor(
        &el,
        &code.get_untracked(),
        &language.get_untracked(),
        read_only.get_untracked(),
        on_change.as_ref().unchecked_ref(),
        on_run_js.as_ref().unchecked_ref(),
    );
    let disposed = Rc::new(std::cell::Cell::new(false));
    let closures = Rc::new(RefCell::new(Some((on_change, on_run_js))));
    {
        let handle = handle.clone();
        let disposed = disposed.clone();
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(promise).await {
                Ok(h) => {
                    let h: js::EditorHandle = h.unchecked_into();
                    if disposed.get() {
                        h.destroy();
                        return;
                    }
                    // Catch up with changes made while the editor loaded.
                    if let Some(text) = code.try_get_untracked() {
                        h.set_doc(&text);
                    }
                    if let Some(lang) = language.try_get_untracked() {
                        let _ = h.set_language(&lang);
                    }
                    if let Some(ro) = read_only.try_get_untracked() {
                        h.set_read_only(ro);
                    }
                    *handle.borrow_mut() = Some(h);
                    mounted.try_set(true);
                }
                Err(e) => {
                    leptos::logging::error!("warmrun: the editor failed to load: {e:?}");
                }
            }
        });
    }

    {
        let handle = handle.clone();
        Effect::new(move |_| {
            let text = code.get();
            if let Some(h) = handle.borrow().as_ref() {
                h.set_doc(&text);
            }
        });
    }
    {
        let handle = handle.clone();
        Effect::new(move |_| {
            let lang = language.get();
            if let Some(h) = handle.borrow().as_ref() {
                let _ = h.set_language(&lang);
            }
        });
    }
    {
        let handle = handle.clone();
        Effect::new(move |_| {
            let ro = read_only.get();
            if let Some(h) = handle.borrow().as_ref() {
                h.set_read_only(ro);
            }
        });
    }

    let cleanup = send_wrapper::SendWrapper::new((handle, disposed, closures));
    on_cleanup(move || {
        let (handle, disposed, closures) = cleanup.take();
        disposed.set(true);
        let taken = handle.borrow_mut().take();
        if let Some(h) = taken {
            h.destroy();
        }
        let _dropped = closures.borrow_mut().take();
    });
}
