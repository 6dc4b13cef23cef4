//! Request bodies over the size limit are read (and thrown away) up to a bound before the
//! 413 is answered. Answering while the client is still sending makes the server close a
//! socket with unread data, and clients that write the whole body before reading (Python's
//! urllib and requests, many simple HTTP clients) then see "broken pipe" or "connection
//! reset" instead of the JSON error.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use std::time::Duration;

/// An oversize body is read up to this many bytes (or four times the limit, if more)…
const DRAIN_MIN_BYTES: usize = 16 << 20;
/// …and for this long at most; beyond either the connection is simply closed.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Middleware: bodies that may be over `limit` (a larger `Content-Length`, or none) are read
/// here. One over the limit is drained, then handed on cut to `limit + 1` bytes, so the
/// route's own extractor refuses it with the 413 in that route's shape.
pub async fn drain_oversize(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let hint = req.body().size_hint();
    if hint.upper().is_some_and(|n| n <= limit as u64) {
        return next.run(req).await;
    }
    let drain_max = limit.saturating_mul(4).max(DRAIN_MIN_BYTES);
    if hint.lower() > drain_max as u64 {
        // Too much to read for a polite answer.
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    // Up to the limit the body is what the route would have read.
    let mut kept: Vec<u8> = Vec::new();
    while kept.len() <= limit {
        let body = match stream.next().await {
            Some(Ok(chunk)) => {
                kept.extend_from_slice(&chunk);
                continue;
            }
            None => Body::from(kept),
            // The route reports a broken body as it would have.
            Some(Err(e)) => {
                Body::from_stream(futures_util::stream::iter([Ok(Bytes::from(kept)), Err(e)]))
            }
        };
        return next.run(Request::from_parts(parts, body)).await;
    }
    let mut seen = kept.len();
    let drained = tokio::time::timeout(DRAIN_TIME, async {
        while seen <= drain_max {
            match stream.next().await {
                Some(Ok(chunk)) => seen += chunk.len(),
                _ => return,
            }
        }
    })
    .await;
    tracing::debug!(
        bytes = seen,
        limit,
        timed_out = drained.is_err(),
        "request body over the limit"
    );
    // The first `limit + 1` bytes are enough for the extractor to see it is too large.
    kept.truncate(limit + 1);
    next.run(Request::from_parts(parts, Body::from(kept))).await
}
