//! Extractors that turn every client mistake into a JSON error: bodies that are not the
//! expected JSON, and the client identity that rate limits count against.

use crate::error::ApiError;
use crate::rate_limit::Client;
use crate::state::SharedState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// `axum::Json` with errors in the API's own shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(match rej {
                JsonRejection::JsonDataError(e) => ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    e.body_text(),
                ),
                JsonRejection::JsonSyntaxError(e) => {
                    ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())
                }
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as application/json",
                ),
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_large",
                        "the request body is too large",
                    )
                }
                other => ApiError::bad_request(other.body_text()),
            }),
        }
    }
}

/// The client's address (or the forwarded one when configured) and the identity rate
/// limits count against; taking it spends one token.
pub struct Metered {
    pub ip: IpAddr,
    pub client: Client,
}

/// The client's address: the TCP peer, or, behind `trusted_proxy_hops` proxies, the
/// address the outermost trusted proxy appended to `X-Forwarded-For`.
pub fn client_ip(parts: &Parts, state: &SharedState) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    forwarded_client(&parts.headers, peer, state.config.proxy_hops())
}

/// The client behind `hops` trusted proxies: the `hops`-th address from the right of
/// `X-Forwarded-For` (every header line, in order, read as one comma list). Addresses to
/// the left of it were written by the client or by proxies we do not trust, so they are
/// never used. A header shorter than `hops`, or an entry that is not an address, gives the
/// peer: the request did not come through the proxies as configured.
pub fn forwarded_client(headers: &HeaderMap, peer: IpAddr, hops: u32) -> IpAddr {
    if hops == 0 {
        return peer;
    }
    let mut entries: Vec<&str> = Vec::new();
    for line in headers.get_all("x-forwarded-for") {
        let Ok(text) = line.to_str() else {
            return peer;
        };
        entries.extend(text.split(',').map(str::trim));
    }
    let Some(index) = entries.len().checked_sub(hops as usize) else {
        return peer;
    };
    parse_forwarded_addr(entries[index]).unwrap_or(peer)
}

/// One `X-Forwarded-For` entry: an IPv4 or IPv6 address, possibly with a port
/// (`1.2.3.4:5678`, `[::1]:80`).
fn parse_forwarded_addr(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Ok(sock) = entry.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse().ok())
}

impl FromRequestParts<SharedState> for Metered {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts, state);
        let client = state.limiters.client(&parts.headers, ip)?;
        if let Err(e) = state.limiters.check(&client) {
            state
                .metrics
                .rate_limited
                .with_label_values(&[client.scope()])
                .inc();
            return Err(e);
        }
        Ok(Metered { ip, client })
    }
}

/// JSON whatever the `Content-Type` says: some Piston clients send JSON as `text/plain`.
pub struct LenientJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for LenientJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_large",
                        "the request body is too large",
                    )
                } else {
                    ApiError::bad_request(e.body_text())
                }
            })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let inner = e.inner();
            if inner.is_data() {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    format!("{}: {inner}", e.path()),
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", inner.to_string())
            }
        })?;
        Ok(LenientJson(value))
    }
}

#[cfg(test)]
mod tests {
    use super::forwarded_client;
    use axum::http::{HeaderMap, HeaderValue};
    use std::net::IpAddr;

    const PEER: [u8; 4] = [10, 0, 0, 9];

    fn client(lines: &[&str], hops: u32) -> IpAddr {
        let mut headers = HeaderMap::new();
        for l in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(l).unwrap());
        }
        forwarded_client(&headers, IpAddr::from(PEER), hops)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        assert_eq!(client(&["1.1.1.1"], 0), IpAddr::from(PEER));
        assert_eq!(client(&[], 0), IpAddr::from(PEER));
    }

    #[test]
    fn one_hop_takes_the_address_the_proxy_appended() {
        // The proxy appended 203.0.113.7 (the real address) to what the client sent.
        assert_eq!(client(&["203.0.113.7"], 1), ip("203.0.113.7"));
        assert_eq!(client(&["6.6.6.6, 203.0.113.7"], 1), ip("203.0.113.7"));
        assert_eq!(
            client(&["1.1.1.1, 2.2.2.2,203.0.113.7"], 1),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn forged_entries_left_of_the_trusted_ones_are_never_used() {
        // A client that sends its own header gets it prepended to, not replaced.
        for forged in ["127.0.0.1", "10.0.0.1, 8.8.8.8", "::1", "garbage"] {
            let header = format!("{forged}, 198.51.100.4");
            assert_eq!(client(&[&header], 1), ip("198.51.100.4"), "{header}");
        }
        // Two trusted hops: the outer proxy appended the client, the inner one appended
        // the outer proxy.
        assert_eq!(
            client(&["6.6.6.6, 198.51.100.4, 10.1.1.1"], 2),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn several_header_lines_are_one_list_in_order() {
        assert_eq!(client(&["6.6.6.6", "198.51.100.4"], 1), ip("198.51.100.4"));
        assert_eq!(
            client(&["6.6.6.6, 198.51.100.4", "10.1.1.1"], 2),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn short_missing_or_bad_headers_fall_back_to_the_peer() {
        assert_eq!(client(&[], 1), IpAddr::from(PEER));
        assert_eq!(client(&["198.51.100.4"], 2), IpAddr::from(PEER));
        assert_eq!(client(&["6.6.6.6, not-an-ip"], 1), IpAddr::from(PEER));
        assert_eq!(client(&["6.6.6.6, "], 1), IpAddr::from(PEER));
    }

    #[test]
    fn addresses_with_ports_and_ipv6_are_understood() {
        assert_eq!(client(&["198.51.100.4:5123"], 1), ip("198.51.100.4"));
        assert_eq!(client(&["2001:db8::7"], 1), ip("2001:db8::7"));
        assert_eq!(client(&["[2001:db8::7]:443"], 1), ip("2001:db8::7"));
        assert_eq!(client(&["[2001:db8::7]"], 1), ip("2001:db8::7"));
    }
}
