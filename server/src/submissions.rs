//! Asynchronous submissions: accepted at once, run in the background, kept for a while.

use dashmap::DashMap;
use serde::Serialize;
use std::time::{Duration, Instant};
use uuid::Uuid;
use warmrun_api::RunResultJson;

/// Where a submission is.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SubmissionState {
    Queued,
    Running,
    Finished {
        result: Box<RunResultJson>,
    },
    /// It could not run (e.g. its language's queue was full).
    Failed {
        error: serde_json::Value,
    },
}

struct Entry {
    state: SubmissionState,
    /// When it finished, for expiry.
    finished: Option<Instant>,
}

/// All submissions not yet expired.
#[derive(Default)]
pub struct Submissions {
    entries: DashMap<Uuid, Entry>,
}

impl Submissions {
    /// How many are stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none are stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records a new queued submission.
    pub fn insert(&self) -> Uuid {
        let id = Uuid::new_v4();
        self.entries.insert(
            id,
            Entry {
                state: SubmissionState::Queued,
                finished: None,
            },
        );
        id
    }

    /// Moves a submission on.
    pub fn set(&self, id: Uuid, state: SubmissionState) {
        if let Some(mut e) = self.entries.get_mut(&id) {
            if matches!(
                state,
                SubmissionState::Finished { .. } | SubmissionState::Failed { .. }
            ) {
                e.finished = Some(Instant::now());
            }
            e.state = state;
        }
    }

    /// A submission's state.
    pub fn get(&self, id: &Uuid) -> Option<SubmissionState> {
        self.entries.get(id).map(|e| e.state.clone())
    }

    /// Drops the ones finished longer than `ttl` ago.
    pub fn expire(&self, ttl: Duration) {
        self.entries
            .retain(|_, e| e.finished.is_none_or(|t| t.elapsed() < ttl));
    }
}
