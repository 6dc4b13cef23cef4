//! Extractors that turn every client mistake into a JSON error: bodies that are not the
//! expected JSON, and the client identity that rate limits count against.

use crate::error::ApiError;
use crate::rate_limit::Client;
use crate::state::SharedState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
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

/// The client's address, honouring `X-Forwarded-For` only when configured to.
pub fn client_ip(parts: &Parts, state: &SharedState) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if state.config.trust_forwarded_for {
        if let Some(ip) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
        {
            return ip;
        }
    }
    peer
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
