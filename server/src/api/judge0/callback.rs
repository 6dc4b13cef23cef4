//! Judge0's `callback_url`: once a submission has ended, its JSON (as `GET
//! /judge0/submissions/{token}` answers it, default fields) is PUT there. Best effort and
//! off the run path: a callback that fails is logged, never reported to the client. The URL
//! was checked against `judge0_callback_hosts` when the submission was posted.

use super::model::{Accepted, DEFAULT_FIELDS};
use crate::state::SharedState;
use std::sync::OnceLock;
use std::time::Duration;
use uuid::Uuid;

/// Attempts at most (the first and three retries).
pub const TRIES: u32 = 4;
/// Each attempt's limit.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The wait before the first retry; doubled after each.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// One client for every callback. It follows no redirect: a redirect could lead to a host
/// the allow-list does not name.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client without TLS options builds")
    })
}

/// Called once a stored submission has ended: if it is a Judge0 one with a `callback_url`,
/// sends it in a task of its own (tracked, so that a draining node still delivers it).
pub fn after_end(state: &SharedState, id: Uuid, request: &str) {
    let Some(url) = Accepted::from_stored(request).and_then(|s| s.extras.callback_url) else {
        return;
    };
    let state = state.clone();
    let tracker = state.queue.tracker.clone();
    tracker.spawn(async move { deliver(&state, id, &url).await });
}

async fn deliver(state: &SharedState, id: Uuid, url: &str) {
    let view = match super::load(state, id).await {
        Ok(Some(view)) => view,
        Ok(None) => {
            tracing::warn!(%id, "judge0 callback: the submission is gone; nothing sent");
            return;
        }
        Err(e) => {
            tracing::warn!(%id, "judge0 callback: reading the submission failed: {e:?}");
            return;
        }
    };
    let body = view.render(DEFAULT_FIELDS, view.submission.extras.base64_encoded);
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=TRIES {
        let outcome = client().put(url).json(&body).send().await;
        let retry = match outcome {
            Ok(r) if r.status().is_success() => {
                tracing::debug!(%id, url, attempt, "judge0 callback delivered");
                return;
            }
            Ok(r) if r.status().is_server_error() => format!("answered {}", r.status()),
            Ok(r) => {
                tracing::warn!(%id, url, "judge0 callback refused: {}; not retried", r.status());
                return;
            }
            Err(e) => format!("failed: {e}"),
        };
        if attempt == TRIES {
            tracing::warn!(%id, url, "judge0 callback {retry}; gave up after {TRIES} attempts");
            return;
        }
        tracing::debug!(%id, url, attempt, "judge0 callback {retry}; retrying");
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}
