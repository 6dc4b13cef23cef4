//! Server-side rendering of shared snippet pages and of the settings button: what the
//! browser receives before hydration. Run with `cargo test -p app`.

use app::{embed_json, App, Playground, SharedSnippet};
use leptos::prelude::*;
use leptos_router::location::RequestUrl;
use warmrun_api::{Snippet, SnippetOutput, Verdict};

fn snippet() -> Snippet {
    Snippet {
        id: "abcdefABCDEF".into(),
        url: "/s/abcdefABCDEF".into(),
        language: "python".into(),
        code: Some("print('</script><script>alert(1)</script>')\nprint(2)\n".into()),
        files: None,
        stdin: Some("x\n".into()),
        title: Some("Say \"hi\" <b>".into()),
        output: Some(SnippetOutput {
            verdict: Verdict::Ok,
            stdout: "1\n".into(),
            stderr: String::new(),
            exit_code: Some(0),
        }),
        created_at: "2026-11-29T10:00:00.000Z".into(),
    }
}

fn page(path: &str, data: Option<SharedSnippet>) -> String {
    let owner = Owner::new();
    owner.with(|| {
        provide_context(RequestUrl::new(path));
        if let Some(data) = data {
            provide_context(data);
        }
        view! { <App /> }.to_html()
    })
}

#[test]
fn a_found_snippet_renders_into_the_page_escaped() {
    let html = page(
        "/s/abcdefABCDEF",
        Some(SharedSnippet::Found {
            snippet: Box::new(snippet()),
        }),
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(
        html.contains("print(&#39;&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;)"),
        "the code in the editor's textarea: {html}"
    );
    assert!(html.contains("data-loaded=\"true\""), "{html}");
    assert!(html.contains("with stdin"), "{html}");
    // The saved output's verdict in the status line, as the browser will show it.
    assert!(html.contains("data-saved-verdict=\"ok\""), "{html}");
    // Run and Share are not waiting for a snippet to load.
    assert!(!html.contains("Loading snippet"), "{html}");
    let json = embed_json(&SharedSnippet::Found {
        snippet: Box::new(snippet()),
    });
    assert!(html.contains(&json), "the embedded snippet: {html}");
}

#[test]
fn an_unknown_snippet_renders_not_found() {
    let html = page("/s/AAAAAAAAAAAA", Some(SharedSnippet::NotFound));
    assert!(html.contains("wr-not-found"), "{html}");
    assert!(html.contains("Snippet not found."), "{html}");
    assert!(html.contains(">\"not_found\"</script>"), "{html}");
}

#[test]
fn without_a_snippet_the_browser_loads_it() {
    let html = page("/s/abcdefABCDEF", None);
    assert!(html.contains("Loading snippet"), "{html}");
    assert!(!html.contains("wr-snippet-data"), "{html}");
}

#[test]
fn the_toolbar_has_a_settings_button_and_no_open_panels() {
    let owner = Owner::new();
    let html = owner.with(|| view! { <Playground /> }.to_html());
    assert!(html.contains("wr-settings-toggle"), "{html}");
    assert!(html.contains("aria-expanded=\"false\""), "{html}");
    assert!(!html.contains("wr-settings-panel"), "{html}");
    assert!(!html.contains("wr-share-dialog"), "{html}");
}
