//! Pages of other origins (issue 14): CORS on the API, on errors and on the `/pkg` bundles,
//! preflights answered, and WebSocket sessions checked against `cors_allowed_origins` —
//! against a real server, as a browser's requests look on the wire.

mod common;

use common::*;
use reqwest::header::HeaderMap;
use reqwest::Method;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const DOCS: &str = "https://docs.example.org";
const OTHER: &str = "https://elsewhere.example";

async fn send(method: Method, url: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap) {
    let mut req = http().request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.headers().clone())
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// A WebSocket handshake with `origin` (if any): the HTTP status it got.
async fn ws_status(s: &TestServer, origin: Option<&str>) -> u16 {
    let mut req = format!("ws://{}/api/v1/ws", s.addr)
        .into_client_request()
        .unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((_, resp)) => resp.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("handshake: {e}"),
    }
}

/// By default any origin may call the API; a preflight is answered with what a page may
/// send, and error answers carry the header too (or a page could not read them).
#[test]
fn any_origin_by_default() {
    let s = start(config("srv-cors-any", &["bash"]));
    rt().block_on(async {
        let (status, h) = send(
            Method::GET,
            &s.url("/api/v1/languages"),
            &[("origin", OTHER)],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(header(&h, "access-control-allow-origin"), "*");
        assert!(
            header(&h, "access-control-expose-headers").contains("x-warmrun-node"),
            "{h:?}"
        );

        let (status, h) = send(
            Method::OPTIONS,
            &s.url("/api/v1/snippets"),
            &[
                ("origin", OTHER),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type,x-api-key"),
            ],
        )
        .await;
        assert!(
            status == 200 || status == 204,
            "preflight answered {status}"
        );
        assert_eq!(header(&h, "access-control-allow-origin"), "*");
        assert!(
            header(&h, "access-control-allow-methods").contains("POST"),
            "{h:?}"
        );
        let allowed = header(&h, "access-control-allow-headers").to_ascii_lowercase();
        assert!(
            allowed.contains("content-type") && allowed.contains("x-api-key"),
            "{h:?}"
        );

        let (status, h) = send(Method::GET, &s.url("/api/v1/nope"), &[("origin", OTHER)]).await;
        assert_eq!(status, 404);
        assert_eq!(header(&h, "access-control-allow-origin"), "*");

        // A run from another origin, and a WebSocket session from one.
        let r = http()
            .post(s.url("/api/v1/runs"))
            .header("origin", OTHER)
            .json(&serde_json::json!({"language": "bash", "code": "echo hi"}))
            .send()
            .await
            .unwrap();
        assert_eq!(header(r.headers(), "access-control-allow-origin"), "*");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["stdout"], "hi\n", "{body}");
        assert_eq!(ws_status(&s, Some(OTHER)).await, 101);
    });
}

/// With a list, only its origins (and the server's own pages) get in: the API answers
/// others without the header (the browser then hides the answer), and their WebSocket
/// handshakes are refused with 403.
#[test]
fn a_list_of_origins_is_enforced() {
    let mut cfg = config("srv-cors-list", &["bash"]);
    cfg.cors_allowed_origins = vec![format!("{DOCS}/")];
    cfg.normalise_origins().unwrap();
    let s = start(cfg);
    rt().block_on(async {
        let (_, h) = send(
            Method::GET,
            &s.url("/api/v1/languages"),
            &[("origin", DOCS)],
        )
        .await;
        assert_eq!(header(&h, "access-control-allow-origin"), DOCS);
        assert!(
            header(&h, "vary").to_ascii_lowercase().contains("origin"),
            "{h:?}"
        );
        let (_, h) = send(
            Method::GET,
            &s.url("/api/v1/languages"),
            &[("origin", OTHER)],
        )
        .await;
        assert!(h.get("access-control-allow-origin").is_none(), "{h:?}");

        assert_eq!(ws_status(&s, Some(DOCS)).await, 101);
        assert_eq!(ws_status(&s, Some(OTHER)).await, 403);
        // The server's own pages, and clients that are not browsers (no Origin).
        assert_eq!(
            ws_status(&s, Some(&format!("http://{}", s.addr))).await,
            101
        );
        assert_eq!(ws_status(&s, None).await, 101);
    });
}

/// The bundles a page of another origin imports (`/pkg`, where the editor and terminal
/// scripts and the wasm live) carry the header too.
#[test]
fn static_bundles_are_shared_across_origins() {
    let site = std::env::temp_dir().join(format!("warmrun-cors-site-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/widget.js"), "export const ok = 1;\n").unwrap();
    let mut cfg = config("srv-cors-pkg", &["bash"]);
    cfg.site_root = site.clone();
    let s = start_with_pages(cfg);
    rt().block_on(async {
        let (status, h) = send(Method::GET, &s.url("/pkg/widget.js"), &[("origin", OTHER)]).await;
        assert_eq!(status, 200);
        assert_eq!(header(&h, "access-control-allow-origin"), "*");
    });
    let _ = std::fs::remove_dir_all(site);
}

/// A bad entry in the list is a start-up error that names it, not a server that silently
/// allows nothing.
#[test]
fn bad_origins_are_refused_at_start() {
    let mut cfg = config("srv-cors-bad", &["bash"]);
    cfg.cors_allowed_origins = vec!["docs.example.org/path".into()];
    let err = cfg.normalise_origins().unwrap_err().to_string();
    assert!(err.contains("docs.example.org/path"), "{err}");
}
