//! The shared submission queue, consumer side: while this node has a free worker
//! (`submission_workers`) and is not saturated (`ready_max_queue`), it claims the oldest
//! queued row, runs it and stores the ending. Idle, it looks every 100 ms, or at once when a POST on this node wakes it. It stops
//! claiming when the node starts draining; what it claimed runs to the end (`serve` waits
//! for [`SubmissionQueue::tracker`]).

use crate::error::ApiError;
use crate::runner;
use crate::state::SharedState;
use crate::submissions::{Claimed, Ending};
use crate::wire::ToPool;
use axum::http::StatusCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use warmrun_api::{RunBody, RunResultJson};

/// How often an idle claimer looks for work posted on other nodes.
const POLL: Duration = Duration::from_millis(100);

/// The claimer's shared parts.
#[derive(Default)]
pub struct SubmissionQueue {
    /// Pulled by a POST on this node so that its submission starts without a poll delay.
    pub wake: Notify,
    /// The claimed submissions being run.
    pub tracker: TaskTracker,
}

/// Runs one submission to completion: the single run path for submissions.
pub async fn run_submission(state: &SharedState, body: RunBody) -> Result<RunResultJson, ApiError> {
    let cache = body.cache;
    runner::collect(state, body.to_pool()?, cache).await
}

/// Claims and runs queued submissions until the node drains.
pub async fn claimer(state: SharedState) {
    let workers = Arc::new(Semaphore::new(state.config.submission_workers()));
    loop {
        let permit = tokio::select! {
            biased;
            _ = state.draining.cancelled() => break,
            p = workers.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        // A saturated node leaves the queue to the others: what it claimed would only wait
        // for a container here.
        let saturated = state.queued_runs() > state.config.ready_max_queue;
        let claimed = if saturated {
            Ok(None)
        } else {
            match state.submissions.any_queued().await {
                Ok(false) => Ok(None),
                Ok(true) => state.submissions.claim(&state.node).await,
                Err(e) => Err(e),
            }
        };
        match claimed {
            Ok(Some(c)) => {
                let bg = state.clone();
                let span = tracing::info_span!("submission", id = %c.id);
                state.queue.tracker.spawn(
                    async move {
                        run_claimed(&bg, c).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("claiming a submission failed: {e}");
                tokio::select! {
                    _ = state.draining.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            }
        }
        drop(permit);
        tokio::select! {
            _ = state.draining.cancelled() => break,
            _ = state.queue.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    state.queue.tracker.close();
    tracing::info!("draining: no longer claiming submissions");
}

/// The key of a stored request under which the Judge0 API keeps what only its answers use
/// (expected output, the limits in its units...): not part of the run.
pub const JUDGE0_KEY: &str = "judge0";

/// The run of a stored request (without its `judge0` part, if any).
pub fn stored_run(request: &str) -> Result<RunBody, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(request)?;
    if let Some(fields) = value.as_object_mut() {
        fields.remove(JUDGE0_KEY);
    }
    serde_json::from_value(value)
}

/// Runs a claimed submission and stores how it ended.
pub async fn run_claimed(state: &SharedState, claimed: Claimed) {
    let ended = match stored_run(&claimed.request) {
        Ok(body) => run_submission(state, body).await,
        // Checked when it was posted; only a row written by something else gets here.
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("the stored request is not a run: {e}"),
        )),
    };
    let value = match &ended {
        Ok(result) => serde_json::to_value(result).expect("plain data serializes"),
        Err(e) => e.body()["error"].clone(),
    };
    let ending = match &ended {
        Ok(_) => Ending::Finished(&value),
        Err(_) => Ending::Failed(&value),
    };
    // The database may be briefly away; the result is worth a few tries.
    let mut wait = Duration::from_millis(200);
    for attempt in 1..=6 {
        match state
            .submissions
            .finish(claimed.id, &state.node, ending)
            .await
        {
            Ok(true) => {
                // The one place every submission ends (queued or `wait=true`).
                crate::api::judge0::callback::after_end(state, claimed.id, &claimed.request);
                return;
            }
            Ok(false) => {
                tracing::warn!(id = %claimed.id, "submission ended after another node declared it lost; keeping that");
                return;
            }
            Err(e) if attempt < 6 => {
                tracing::warn!(id = %claimed.id, "storing a submission's result failed (retrying): {e}");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => {
                tracing::error!(id = %claimed.id, "storing a submission's result failed: {e}")
            }
        }
    }
}
