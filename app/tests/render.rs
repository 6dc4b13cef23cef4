//! Component tests: server-side rendering to HTML strings (what the browser receives
//! before hydration). Run with `cargo test -p app`.

use app::{App, CodeEditor, Playground, RunStats};
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
        "wr-editor-fallback",
        "wr-terminal",
        r#"role="status""#,
        "Ready.",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in {html}");
    }
    // Nothing runs yet: Stop is disabled; no language yet, so Run and Share are too.
    for class in ["wr-run", "wr-stop", "wr-share"] {
        assert!(
            button(&html, class).contains("disabled"),
            "{class} disabled: {html}"
        );
    }
    assert!(!html.contains("coming soon"), "{html}");
    // No snippet: no banner, no share result.
    assert!(!html.contains("wr-snippet-info"), "{html}");
    assert!(!html.contains("wr-share-panel"), "{html}");
}

/// The Examples menu is there by default (disabled until the catalog lists examples) and
/// left out with `hide_examples`.
#[test]
fn examples_menu_is_optional() {
    let html = render(|| view! { <Playground /> }.into_any());
    assert!(html.contains(r#"aria-label="Examples""#), "{html}");
    assert!(html.contains("Examples…"), "{html}");
    assert!(button(&html, "wr-examples").contains("disabled"), "{html}");
    let html = render(|| view! { <Playground hide_examples=true /> }.into_any());
    assert!(!html.contains("wr-examples"), "{html}");
}

/// The opening tag of the element (a button, mostly) with this class.
fn button(html: &str, class: &str) -> String {
    let at = html
        .find(&format!(r#"class="{class}""#))
        .unwrap_or_else(|| panic!("no {class} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    html[start..=end].to_string()
}

#[test]
fn playground_with_a_snippet_renders_loading() {
    let html = render(|| view! { <Playground snippet="olYjEeaGrV58" /> }.into_any());
    assert!(html.contains("Loading snippet"), "{html}");
    assert!(html.contains(r#"data-snippet="olYjEeaGrV58""#), "{html}");
    // Nothing to run or share before the snippet is there.
    assert!(button(&html, "wr-run").contains("disabled"), "{html}");
    assert!(button(&html, "wr-share").contains("disabled"), "{html}");
    // No saved output yet.
    assert!(!html.contains("wr-saved-badge"), "{html}");
}

#[test]
fn share_button_is_enabled_once_a_language_is_known() {
    let html =
        render(|| view! { <Playground language="python" initial_code="print(1)" /> }.into_any());
    assert!(!button(&html, "wr-share").contains("disabled"), "{html}");
    assert!(!button(&html, "wr-run").contains("disabled"), "{html}");
    assert!(
        button(&html, "wr-share").contains("Save this code"),
        "{html}"
    );
}

#[test]
fn run_stats_renders_empty_until_loaded() {
    let html = render(|| view! { <RunStats /> }.into_any());
    assert!(html.contains(r#"class="wr-stats""#), "{html}");
    assert!(html.contains("hidden"), "hidden until loaded: {html}");
    assert!(!html.contains("runs"), "{html}");
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

    assert!(home.contains("wr-stats"), "footer statistics: {home}");

    let snippet = page("/s/k3y");
    assert!(
        snippet.contains("Loading snippet") && snippet.contains(r#"data-snippet="k3y""#),
        "{snippet}"
    );
    assert!(
        snippet.contains("wr-stats"),
        "footer on snippet pages: {snippet}"
    );
    assert!(!snippet.contains("coming soon"), "{snippet}");

    let embedded = page("/embed?snippet=k3y");
    assert!(embedded.contains(r#"data-snippet="k3y""#), "{embedded}");

    let missing = page("/nope");
    assert!(missing.contains("Not found"), "{missing}");
}
