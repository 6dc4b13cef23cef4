//! Cross-origin use: pages on other sites (an embedded playground, a documentation site's
//! widget) call the API and load the `/pkg` bundles from their own origin.
//!
//! The API sets no cookies (keys travel in `X-API-Key` / `X-Auth-Token` headers), so any
//! origin is allowed by default; `cors_allowed_origins` narrows it. Browsers do not apply
//! CORS to WebSockets, so the socket endpoint checks `Origin` against the same list itself.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The wildcard entry of `cors_allowed_origins`.
pub const ANY: &str = "*";

/// Checks and normalises one configured origin: `*`, or `http(s)://host[:port]` without a
/// path, lower-cased (browsers send origins lower-cased and without a trailing slash).
pub fn normalise_origin(origin: &str) -> Result<String, String> {
    let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    if o == ANY {
        return Ok(o);
    }
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
        .ok_or_else(|| format!("{origin:?}: an origin starts with http:// or https://"))?;
    let host_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !host_ok {
        return Err(format!(
            "{origin:?}: an origin is scheme://host[:port], with no path, query or user"
        ));
    }
    Ok(o)
}

/// The CORS layer for every route: preflights answered, the response headers a page may
/// read (the node that served, `Retry-After` of a 429/503) exposed.
pub fn layer(allowed: &[String]) -> CorsLayer {
    let origins = if allowed.iter().any(|o| o == ANY) {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(allowed.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("x-api-key"),
            HeaderName::from_static("x-auth-token"),
        ])
        .expose_headers([
            HeaderName::from_static(crate::NODE_HEADER),
            header::RETRY_AFTER,
            header::LOCATION,
        ])
        .max_age(Duration::from_secs(3600))
}

/// Whether a WebSocket upgrade may proceed: no `Origin` (not a browser), the page's own
/// origin (`Origin` names the `Host` it connects to), or an allowed origin.
pub fn websocket_allowed(allowed: &[String], headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let origin = origin.to_ascii_lowercase();
    let same_host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| {
            let host = host.to_ascii_lowercase();
            origin.strip_prefix("http://") == Some(host.as_str())
                || origin.strip_prefix("https://") == Some(host.as_str())
        });
    same_host || allowed.iter().any(|o| o == ANY || *o == origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_and_normalised() {
        assert_eq!(
            normalise_origin("https://Docs.Example.org/").unwrap(),
            "https://docs.example.org"
        );
        assert_eq!(
            normalise_origin("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(normalise_origin(" * ").unwrap(), "*");
        for bad in [
            "docs.example.org",
            "https://x.org/path",
            "ftp://x.org",
            "https://",
            "https://u@x",
        ] {
            assert!(normalise_origin(bad).is_err(), "{bad}");
        }
    }

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn websockets_from_other_origins_need_the_list() {
        let list = vec!["https://docs.example.org".to_string()];
        let host = "play.example.com";
        assert!(websocket_allowed(&list, &headers(None, host)));
        assert!(websocket_allowed(
            &list,
            &headers(Some("https://play.example.com"), host)
        ));
        assert!(websocket_allowed(
            &list,
            &headers(Some("https://docs.example.org"), host)
        ));
        assert!(!websocket_allowed(
            &list,
            &headers(Some("https://evil.example"), host)
        ));
        let any = vec![ANY.to_string()];
        assert!(websocket_allowed(
            &any,
            &headers(Some("https://evil.example"), host)
        ));
    }
}
