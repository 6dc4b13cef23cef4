//! Saved snippets: `POST /api/v1/snippets` and `GET /api/v1/snippets/{id}`.

use crate::run::File;
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};

/// The body of `POST /api/v1/snippets`: exactly one of `code` and `files`, as for runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSnippet {
    /// Language id or alias (stored as the catalog id).
    pub language: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The program as files; the first is the main file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<File>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The last run's output, if the client wants it kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<SnippetOutput>,
}

/// A run's output kept with a snippet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnippetOutput {
    pub verdict: Verdict,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
}

/// `201` answer of `POST /api/v1/snippets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub id: String,
    /// The share link's path, `/s/{id}`.
    pub url: String,
}

/// `GET /api/v1/snippets/{id}`: a snippet as saved. `code` and `files` come back as they
/// were sent (one of them is null); absent optional parts are null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    pub id: String,
    /// The share link's path, `/s/{id}`.
    pub url: String,
    pub language: String,
    pub code: Option<String>,
    pub files: Option<Vec<File>>,
    pub stdin: Option<String>,
    pub title: Option<String>,
    pub output: Option<SnippetOutput>,
    /// RFC 3339, UTC, e.g. `2025-11-22T09:15:02.123Z`.
    pub created_at: String,
}

impl Snippet {
    /// The main program text: `code`, or the first file of `files`.
    pub fn main_code(&self) -> String {
        match (&self.code, &self.files) {
            (Some(code), _) => code.clone(),
            (None, Some(files)) => files.first().map(|f| f.content.clone()).unwrap_or_default(),
            (None, None) => String::new(),
        }
    }

    /// Files beyond the main one.
    pub fn extra_files(&self) -> usize {
        match (&self.code, &self.files) {
            (None, Some(files)) => files.len().saturating_sub(1),
            _ => 0,
        }
    }
}
