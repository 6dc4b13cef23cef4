//! The one place where errors become HTTP responses and WebSocket error frames.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pool::PoolError;
use warmrun_api::ErrorBody;

/// An error as the API reports it: a status, a stable code and a message for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which retrying makes sense (429, 503).
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    /// An error with no retry hint.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// 400 with code `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 with code `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 429 with a retry hint.
    pub fn rate_limited(retry_after_s: u64) -> ApiError {
        ApiError {
            retry_after_s: Some(retry_after_s.max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; slow down",
            )
        }
    }

    /// 413 with code `too_large`.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// The WebSocket `error` frame.
    pub fn frame(&self) -> warmrun_api::ServerFrame {
        warmrun_api::ServerFrame::Error {
            code: self.code.into(),
            message: self.message.clone(),
        }
    }

    /// The JSON body `{error: {code, message}}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::to_value(ErrorBody::new(self.code, self.message.clone()))
            .expect("plain struct serializes")
    }
}

impl From<PoolError> for ApiError {
    fn from(e: PoolError) -> ApiError {
        let msg = e.to_string();
        match e {
            PoolError::InvalidRequest(_) => ApiError::bad_request(msg),
            PoolError::UnknownLanguage(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "unknown_language", msg)
            }
            PoolError::UnknownVersion { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "unknown_version", msg)
            }
            PoolError::NoFormatter(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "no_formatter", msg)
            }
            PoolError::FormatError(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "format_error", msg)
            }
            PoolError::QueueFull(_) => ApiError {
                retry_after_s: Some(1),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "queue_full", msg)
            },
            PoolError::LeaseTimeout(_) => ApiError {
                retry_after_s: Some(5),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_capacity", msg)
            },
            PoolError::LanguageUnavailable(..) => ApiError {
                retry_after_s: Some(30),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "language_unavailable", msg)
            },
            PoolError::ShuttingDown => ApiError {
                retry_after_s: Some(5),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", msg)
            },
            PoolError::Docker(_) | PoolError::Sandbox(_) | PoolError::Config(_) => {
                tracing::error!("internal error: {msg}");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", msg)
            }
        }
    }
}

impl From<warmrun_api::Invalid> for ApiError {
    fn from(e: warmrun_api::Invalid) -> ApiError {
        ApiError::bad_request(e.0)
    }
}

impl From<crate::snippets::SnippetError> for ApiError {
    fn from(e: crate::snippets::SnippetError) -> ApiError {
        use crate::snippets::SnippetError as E;
        let msg = e.to_string();
        match e {
            E::UnknownLanguage(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "unknown_language", msg)
            }
            E::Invalid(_) | E::BadId(_) => ApiError::bad_request(msg),
            E::TooLarge(_) => ApiError::too_large(msg),
            E::NotFound(_) => ApiError::not_found(msg),
            E::Store(e) => e.into(),
        }
    }
}

impl From<crate::snippets::StoreError> for ApiError {
    fn from(e: crate::snippets::StoreError) -> ApiError {
        // The details (hosts, SQL) go to the log, not to clients.
        tracing::error!("snippet store: {e}");
        if e.is_unavailable() {
            ApiError {
                retry_after_s: Some(5),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the snippet store is not answering; retry later",
                )
            }
        } else {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the snippet store failed",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after_s {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
