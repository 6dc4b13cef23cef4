//! Sharing: what a server knows about a `/s/{id}` page before it renders it
//! ([`SharedSnippet`], embedded in the page so that the browser hydrates the same view
//! without asking again), the page's title and OpenGraph/Twitter meta tags, and the Share
//! dialog (title, stdin) with its result (the link).
//!
//! A snippet is untrusted text: everything here reaches the HTML through Leptos' escaping
//! (text and attributes) or, for the embedded JSON, through [`embed_json`].

use crate::playground::{Session, ShareState};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use serde::{Deserialize, Serialize};
use warmrun_api::Snippet;

/// The id of the `<script type="application/json">` element holding the page's
/// [`SharedSnippet`].
pub const DATA_ELEMENT_ID: &str = "wr-snippet-data";

/// Lines of code shown as a shared page's description.
const DESCRIPTION_LINES: usize = 4;
/// Characters of code shown as a shared page's description at most.
const DESCRIPTION_CHARS: usize = 240;

/// What the server found for a `/s/{id}` page. The server provides it as a Leptos
/// context when it renders the page; the page embeds it, and the browser reads it back
/// when hydrating (see [`shared_snippet`]).
///
/// As JSON (serde's external tagging: an internally tagged enum costs the wasm tens of KiB
/// of buffering code): `{"found":{"snippet":{…}}}`, `"not_found"`,
/// `{"unavailable":{"message":"…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedSnippet {
    Found {
        snippet: Box<Snippet>,
    },
    /// No snippet has this id (or it is not shaped like one): the page is a 404.
    NotFound,
    /// The store could not be asked: what to tell the person.
    Unavailable {
        message: String,
    },
}

/// JSON of `data` that is safe inside a `<script>` element: `<`, `>` and `&` (which only
/// occur inside JSON strings) become `\u003c`-style escapes, so that no `</script>` or
/// `<!--` in a snippet ends the element; so do U+2028 and U+2029.
pub fn embed_json(data: &SharedSnippet) -> String {
    let json = serde_json::to_string(data).expect("snippets always serialize");
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The page's [`SharedSnippet`]: the context the server provided, or in the browser the
/// one the server embedded. `None` when there is none (a server that renders the page
/// without its store; then the browser loads the snippet itself).
pub fn shared_snippet() -> Option<SharedSnippet> {
    if let Some(data) = use_context::<SharedSnippet>() {
        return Some(data);
    }
    #[cfg(target_arch = "wasm32")]
    {
        let text = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(DATA_ELEMENT_ID))
            .and_then(|el| el.text_content())?;
        serde_json::from_str(&text).ok()
    }
    #[cfg(not(target_arch = "wasm32"))]
    None
}

/// A snippet's name: its title, or "Python snippet".
pub fn snippet_name(snippet: &Snippet) -> String {
    match &snippet.title {
        Some(t) if !t.trim().is_empty() => t.clone(),
        _ => format!("{} snippet", snippet.language),
    }
}

/// The first lines of the snippet's code, for `description` meta tags.
pub fn code_excerpt(code: &str) -> String {
    let lines: Vec<&str> = code
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .take(DESCRIPTION_LINES + 1)
        .collect();
    let mut text = lines
        .iter()
        .take(DESCRIPTION_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    let mut cut = lines.len() > DESCRIPTION_LINES;
    if text.chars().count() > DESCRIPTION_CHARS {
        text = text.chars().take(DESCRIPTION_CHARS).collect();
        cut = true;
    }
    if cut {
        text.push('…');
    }
    text
}

/// Text for leptos_meta's `<Title>`: leptos_meta 0.8 writes the title into the server's
/// HTML without escaping it (a snippet's `</title><script>` would run), so the server
/// escapes it here; in the browser it sets `document.title`, which takes plain text.
pub fn title_text(text: &str) -> String {
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::editor::escape_html(text)
    }
    #[cfg(target_arch = "wasm32")]
    {
        text.to_string()
    }
}

/// `<title>` and the description, OpenGraph and Twitter meta tags of a page.
#[component]
pub fn PageMeta(title: String, description: String) -> impl IntoView {
    view! {
        <Title text=title_text(&title) />
        <Meta name="description" content=description.clone() />
        <Meta property="og:site_name" content="warmrun" />
        <Meta property="og:type" content="website" />
        <Meta property="og:title" content=title.clone() />
        <Meta property="og:description" content=description.clone() />
        <Meta name="twitter:card" content="summary" />
        <Meta name="twitter:title" content=title />
        <Meta name="twitter:description" content=description />
    }
}

/// The meta tags and embedded data of a `/s/{id}` page.
#[component]
pub fn SharedSnippetHead(data: SharedSnippet) -> impl IntoView {
    let meta = match &data {
        SharedSnippet::Found { snippet } => {
            let name = snippet_name(snippet);
            view! {
                <PageMeta
                    title=format!("{name} · warmrun")
                    description=code_excerpt(&snippet.main_code())
                />
            }
            .into_any()
        }
        SharedSnippet::NotFound => view! {
            <Title text="Snippet not found · warmrun" />
            <Meta name="robots" content="noindex" />
        }
        .into_any(),
        SharedSnippet::Unavailable { .. } => {
            view! { <Title text="Snippet · warmrun" /> }.into_any()
        }
    };
    view! {
        {meta}
        <script type="application/json" id=DATA_ELEMENT_ID inner_html=embed_json(&data)></script>
    }
}

/// Share's dialog and result, below the toolbar: the title and stdin to save, then "Link
/// copied" with the link, or the link to copy by hand, or an error.
#[component]
pub(crate) fn SharePanel(s: Session) -> impl IntoView {
    view! {
        {move || match s.share.get() {
            ShareState::Editing { title, stdin } => {
                view! { <ShareDialog s=s title=title stdin=stdin /> }.into_any()
            }
            _ => ().into_any(),
        }}
        <ShareResult s=s />
    }
}

/// The form Share opens: a title and the stdin to keep with the code.
#[component]
fn ShareDialog(s: Session, title: String, stdin: String) -> impl IntoView {
    let title_field = NodeRef::<leptos::html::Input>::new();
    let stdin_field = NodeRef::<leptos::html::Textarea>::new();
    #[cfg(target_arch = "wasm32")]
    title_field.on_load(|el| {
        let _ = el.focus();
        el.select();
    });
    let save = move || {
        let title = title_field
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        let stdin = stdin_field
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        s.save_share(title, stdin);
    };
    let cancel = move |_| s.share.set(ShareState::Idle);
    view! {
        <form
            class="wr-share-dialog"
            role="dialog"
            aria-label="Share"
            on:submit=move |ev| {
                ev.prevent_default();
                save();
            }
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    s.share.set(ShareState::Idle);
                }
            }
        >
            <label class="wr-share-field">
                <span>"Title"</span>
                <input
                    class="wr-share-title"
                    type="text"
                    maxlength="200"
                    placeholder="Untitled"
                    value=title
                    node_ref=title_field
                />
            </label>
            <label class="wr-share-field">
                <span>"Stdin"</span>
                <textarea
                    class="wr-share-stdin"
                    rows="3"
                    spellcheck="false"
                    placeholder="Input given to the program when the snippet runs (optional)"
                    inner_html=crate::editor::escape_html(&stdin)
                    node_ref=stdin_field
                ></textarea>
            </label>
            <div class="wr-share-actions">
                <button class="wr-share-save" type="submit">"Create link"</button>
                <button class="wr-share-cancel" type="button" on:click=cancel>
                    "Cancel"
                </button>
            </div>
        </form>
    }
}

/// Share's outcome.
#[component]
fn ShareResult(s: Session) -> impl IntoView {
    let field = NodeRef::<leptos::html::Input>::new();
    // A link that is not on the clipboard yet: focused and selected, ready to copy.
    #[cfg(target_arch = "wasm32")]
    Effect::new(move |_| {
        if let Some(el) = field.get() {
            if s.share
                .with_untracked(|st| matches!(st, ShareState::Done { copied: false, .. }))
            {
                let _ = el.focus();
                el.select();
            }
        }
    });
    let close = move |_| s.share.set(ShareState::Idle);
    move || match s.share.get() {
        ShareState::Idle | ShareState::Editing { .. } | ShareState::Saving => ().into_any(),
        ShareState::Done { link, copied } => {
            let (label, class) = if copied {
                ("✓ Link copied", "wr-share-panel wr-copied")
            } else {
                ("Copy this link:", "wr-share-panel wr-copy-manually")
            };
            view! {
                <div class=class role="dialog" aria-label="Share link">
                    <span class="wr-share-label" role="status">{label}</span>
                    <input
                        class="wr-share-link"
                        type="text"
                        readonly
                        aria-label="Share link"
                        value=link.clone()
                        node_ref=field
                        on:focus=move |ev| {
                            #[cfg(target_arch = "wasm32")]
                            {
                                use wasm_bindgen::JsCast;
                                if let Some(el) = ev
                                    .target()
                                    .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                                {
                                    el.select();
                                }
                            }
                            #[cfg(not(target_arch = "wasm32"))]
                            let _ = ev;
                        }
                    />
                    {(!copied).then(|| view! {
                        <button
                            class="wr-share-copy"
                            title="Copy the link"
                            on:click=move |_| {
                                #[cfg(target_arch = "wasm32")]
                                crate::client::copy_again(s);
                            }
                        >
                            "Copy"
                        </button>
                    })}
                    <a class="wr-share-open" href=link target="_blank" rel="noopener">"Open"</a>
                    <button class="wr-share-close" title="Close" aria-label="Close" on:click=close>
                        "×"
                    </button>
                </div>
            }
            .into_any()
        }
        ShareState::Failed(msg) => view! {
            <div class="wr-share-panel wr-share-failed" role="alert">
                <span class="wr-error">{msg}</span>
                <button class="wr-share-close" title="Close" aria-label="Close" on:click=close>
                    "×"
                </button>
            </div>
        }
        .into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_the_script() {
        let snippet = Snippet {
            id: "abcdefABCDEF".into(),
            url: "/s/abcdefABCDEF".into(),
            language: "python".into(),
            code: Some("print('</script><script>alert(1)</script>') # <!-- & \u{2028}".into()),
            files: None,
            stdin: None,
            title: Some("a \"quoted\" <b>title</b>".into()),
            output: None,
            created_at: String::new(),
        };
        let data = SharedSnippet::Found {
            snippet: Box::new(snippet),
        };
        let json = embed_json(&data);
        for bad in ["<", ">", "&", "\u{2028}"] {
            assert!(!json.contains(bad), "{bad:?} in {json}");
        }
        assert_eq!(serde_json::from_str::<SharedSnippet>(&json).unwrap(), data);
    }

    #[test]
    fn excerpts_take_the_first_lines() {
        assert_eq!(code_excerpt("a\n\nb\nc\n"), "a\nb\nc");
        assert_eq!(code_excerpt("1\n2\n3\n4\n5\n"), "1\n2\n3\n4…");
        let long = "x".repeat(500);
        assert_eq!(code_excerpt(&long).chars().count(), DESCRIPTION_CHARS + 1);
    }
}
