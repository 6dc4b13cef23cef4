//! Shared snippet pages, `/s/{id}`, as the server sends them (no JavaScript runs): the
//! code, language and title are in the HTML, escaped; `<title>` and the OpenGraph/Twitter
//! meta tags name the snippet; an unknown id is a 404 page. A real server with its pages
//! (SQLite store, real containers).

mod common;

use common::*;
use serde_json::{json, Value};

/// Code that would run script if it reached the page unescaped.
const HOSTILE_CODE: &str =
    "print('</script><script>alert(1)</script>')\n# <!-- & \"quotes\" 'apostrophes'\nprint(2)\n";
const HOSTILE_TITLE: &str = "Say \"hi\" <b>loudly</b> & </title><script>alert(2)</script>";

async fn save(s: &TestServer, body: Value) -> String {
    let (status, _, created) = post(&s.url("/api/v1/snippets"), body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_string()
}

async fn page(s: &TestServer, path: &str) -> (u16, String, String) {
    let r = http().get(s.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

/// The `content` of the `<meta>` whose `attr` (name or property) is `key`, unescaped
/// only as far as this test needs.
fn meta(html: &str, attr: &str, key: &str) -> Option<String> {
    let needle = format!("{attr}=\"{key}\"");
    let at = html.find(&needle)?;
    let start = html[..at].rfind("<meta")?;
    let end = start + html[start..].find('>')?;
    let tag = &html[start..end];
    let c = tag.find("content=\"")? + "content=\"".len();
    let len = tag[c..].find('"')?;
    Some(tag[c..c + len].to_string())
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

#[test]
fn shared_pages_render_the_snippet_escaped_with_meta_tags() {
    let s = start_with_pages(config("share-pages", &["python"]));
    rt().block_on(async {
        let id = save(
            &s,
            json!({"language": "python", "code": HOSTILE_CODE, "title": HOSTILE_TITLE,
                   "stdin": "typed </script> input\n"}),
        )
        .await;
        let (status, kind, html) = page(&s, &format!("/s/{id}")).await;
        assert_eq!(status, 200, "{html}");
        assert!(kind.starts_with("text/html"), "{kind}");

        // Nothing of the snippet gets out of its text: one script element of ours per
        // kind, and no alert anywhere outside escaped text.
        assert!(!html.contains("<script>alert"), "unescaped code: {html}");
        assert!(!html.contains("<b>loudly"), "unescaped title: {html}");
        assert!(!html.contains("</title><script>"), "{html}");

        // The code is the editor's first content (the textarea the page shows before the
        // editor loads), HTML-escaped.
        let textarea = html
            .split("class=\"wr-editor-fallback\"")
            .nth(1)
            .expect("the editor's textarea");
        let body = &textarea[textarea.find('>').unwrap() + 1..];
        let body = &body[..body.find("</textarea>").unwrap()];
        assert_eq!(unescape(body), HOSTILE_CODE, "{html}");
        assert!(body.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));

        // Title and language in the page, escaped.
        let title = html.split("<title>").nth(1).unwrap();
        let title = &title[..title.find("</title>").unwrap()];
        assert_eq!(unescape(title), format!("{HOSTILE_TITLE} · warmrun"));
        assert!(html.contains("wr-snippet-info"), "{html}");
        assert!(html.contains("data-loaded=\"true\""), "{html}");
        assert!(
            html.contains("Say &quot;hi&quot; &lt;b&gt;loudly&lt;/b&gt;")
                || html.contains("Say \"hi\" &lt;b&gt;loudly&lt;/b&gt;"),
            "the title in the banner: {html}"
        );
        assert!(html.contains(">python<"), "the language: {html}");
        assert!(html.contains("with stdin"), "{html}");

        // Meta tags: title, and the first lines of the code as description.
        let og_title = meta(&html, "property", "og:title").expect("og:title");
        assert!(og_title.contains("&quot;"), "quotes escaped: {og_title}");
        assert_eq!(unescape(&og_title), format!("{HOSTILE_TITLE} · warmrun"));
        let description = meta(&html, "property", "og:description").expect("og:description");
        assert_eq!(
            unescape(&description),
            HOSTILE_CODE.trim_end(),
            "the first lines of the code"
        );
        assert_eq!(
            meta(&html, "name", "description").map(|d| unescape(&d)),
            Some(HOSTILE_CODE.trim_end().to_string())
        );
        assert_eq!(
            meta(&html, "name", "twitter:card").as_deref(),
            Some("summary")
        );
        assert!(meta(&html, "name", "twitter:title").is_some(), "{html}");
        assert_eq!(
            html.matches("name=\"description\"").count(),
            1,
            "one description: {html}"
        );

        // The snippet is embedded for hydration as JSON that no `<` can end early.
        let data = html
            .split("id=\"wr-snippet-data\"")
            .nth(1)
            .expect("embedded snippet");
        let json_text = &data[data.find('>').unwrap() + 1..data.find("</script>").unwrap()];
        assert!(!json_text.contains('<'), "{json_text}");
        let embedded: Value = serde_json::from_str(json_text).unwrap();
        let embedded = &embedded["found"]["snippet"];
        assert_eq!(embedded["code"], HOSTILE_CODE);
        assert_eq!(embedded["title"], HOSTILE_TITLE);
        assert_eq!(embedded["stdin"], "typed </script> input\n");

        // Untitled: named after its language.
        let id = save(&s, json!({"language": "python", "code": "print(42)\n"})).await;
        let (status, _, html) = page(&s, &format!("/s/{id}")).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("<title>python snippet · warmrun</title>"),
            "{html}"
        );
        assert_eq!(
            meta(&html, "property", "og:description").as_deref(),
            Some("print(42)")
        );

        // Unknown ids, and paths that are no id at all: a 404 page.
        for path in ["/s/AAAAAAAAAAAA", "/s/nope", "/s/%3Cscript%3E"] {
            let (status, kind, html) = page(&s, path).await;
            assert_eq!(status, 404, "{path}: {html}");
            assert!(kind.starts_with("text/html"), "{path}: {kind}");
            assert!(html.contains("Snippet not found"), "{path}: {html}");
            assert!(!html.contains("<script>alert"), "{path}");
        }

        // Other pages keep the default title and description.
        let (status, _, html) = page(&s, "/").await;
        assert_eq!(status, 200);
        assert!(html.contains("<title>warmrun playground</title>"), "{html}");
        assert_eq!(html.matches("name=\"description\"").count(), 1);
    });
}
