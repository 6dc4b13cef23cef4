//! Component tests: server-side rendering to HTML strings (what the browser receives
//! before hydration). Run with `cargo test -p app`.

use app::{App, CodeEditor, Playground};
use leptos::prelude::*;
use leptos_router::location::RequestUrl;

fn render(view: impl FnOnce() -> AnyView) -> String {
    let owner = Owner::new();
    owner.with(|| view().to_html())
}

fn page(path: &str) -> String {
    let owner = Owner::new();
    owner.with(|| {
        provide_context(RequestUrl::new(path));
        view! { <App /> }.to_html()
    })
}

#[test]
fn playground_renders_toolbar_panes_and_status() {
    let html = render(|| view! { <Playground /> }.into_any());
    for needle in [
        "wr-playground",
        r#"aria-label="Language""#,
        "Loading languages…",
        "▶ Run",
        "■ Stop",
        "Clear",
        "Share",
        "coming soon",
        "wr-editor-fallback",
        "wr-terminal",
        r#"role="status""#,
        "Ready.",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in {html}");
    }
    // Nothing runs yet: Stop and Share are disabled; no language yet, so Run is too.
    assert!(
        html.contains(r#"disabled class="wr-run""#) || html.contains("wr-run\" disabled"),
        "{html}"
    );
}

#[test]
fn playground_props_height_and_code() {
    let html = render(|| {
        view! { <Playground initial_code="print(1 < 2)" language="python" height="480px" /> }
            .into_any()
    });
    assert!(html.contains("--wr-height:480px"), "{html}");
    assert!(
        html.contains("print(1 &lt; 2)"),
        "code is escaped into the editor: {html}"
    );
}

#[test]
fn code_editor_escapes_and_honours_read_only() {
    let html = render(|| {
        view! { <CodeEditor initial_code="</textarea><script>alert(1)</script>" read_only=true height="10em" /> }
            .into_any()
    });
    assert!(
        !html.contains("<script>alert"),
        "no markup injection: {html}"
    );
    assert!(html.contains("&lt;/textarea&gt;&lt;script&gt;"), "{html}");
    assert!(html.contains("readonly"), "{html}");
    assert!(html.contains("height:10em"), "{html}");
}

#[test]
fn pages() {
    let home = page("/");
    assert!(
        home.contains("wr-page-header") && home.contains("wr-playground"),
        "{home}"
    );

    let embed = page("/embed?lang=go&code=fmt.Println(1)");
    assert!(embed.contains("wr-embed-page"), "{embed}");
    assert!(
        !embed.contains("wr-page-header"),
        "no page chrome in /embed: {embed}"
    );
    assert!(embed.contains("fmt.Println(1)"), "{embed}");

    let snippet = page("/s/k3y");
    assert!(
        snippet.contains("wr-notice") && snippet.contains("k3y"),
        "{snippet}"
    );

    let missing = page("/nope");
    assert!(missing.contains("Not found"), "{missing}");
}
