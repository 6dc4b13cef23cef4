//! Execution statistics: `GET /api/v1/stats[?days=N]`.

use crate::verdict::Verdict;
use serde::{Deserialize, Deserializer, Serialize};

/// Finished runs per language and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Finished runs counted.
    pub total_runs: u64,
    /// The window asked for (`?days=N`: today and the N−1 days before, UTC); null = all time.
    #[serde(default)]
    pub days: Option<u32>,
    /// First UTC day (`YYYY-MM-DD`) with a counted run in the window; null when none.
    #[serde(default)]
    pub since: Option<String>,
    /// Runs per verdict over all languages, most frequent first.
    #[serde(default)]
    pub verdicts: Vec<VerdictShare>,
    /// Runs per language, most frequent first.
    #[serde(default)]
    pub languages: Vec<LanguageStats>,
}

/// Runs of one verdict and their share (0..1) of the runs around them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictShare {
    pub verdict: Verdict,
    pub runs: u64,
    pub share: f64,
}

/// One language's runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageStats {
    pub language: String,
    pub runs: u64,
    /// Share (0..1) of all runs.
    pub share: f64,
    /// Mean wall time of the program inside the sandbox, milliseconds (a number that JSON
    /// cannot hold is sent as null and read as 0).
    #[serde(deserialize_with = "null_as_zero")]
    pub avg_wall_ms: f64,
    /// This language's runs per verdict; shares are of this language's runs.
    #[serde(default)]
    pub verdicts: Vec<VerdictShare>,
}

fn null_as_zero<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(0.0))
}
