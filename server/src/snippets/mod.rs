//! Saved snippets (`/api/v1/snippets`) and execution statistics (`/api/v1/stats`), kept in
//! a SQL store: the SQLite file `{data_dir}/warmrun.db` by default, PostgreSQL when
//! `database_url` says so. Snippets are immutable: saving an edited one makes a new id.

pub(crate) mod db;
pub(crate) mod model;
mod stats;

pub use db::{Db, StoreError, SQLITE_FILE};
pub(crate) use model::format_rfc3339;
pub use model::{
    is_valid_id, new_id, share_url, validate, SnippetError, ValidSnippet, ID_LEN, MAX_TITLE_CHARS,
};
pub use warmrun_api::{
    Created, LanguageStats, NewSnippet, Snippet, SnippetOutput, Stats, VerdictShare,
};

use crate::config::ServerConfig;
use model::{now_ms, StoredBody};
use pool::{Catalog, RunOutcome, Verdict};
use stats::{Recorder, RunRecord};

/// The store: snippets and run statistics.
pub struct Snippets {
    db: Db,
    recorder: Recorder,
    /// Where the data lives, for logs (no password).
    pub describe: String,
}

impl Snippets {
    /// Connects to the configured database (creating the SQLite file and its directory on
    /// first start), runs the migrations and starts the statistics writer.
    pub async fn open(config: &ServerConfig) -> Result<Snippets, StoreError> {
        let (db, describe) = Db::connect(config.database_url.as_deref(), &config.data_dir).await?;
        tracing::info!("snippet store: {describe}");
        Ok(Snippets {
            recorder: Recorder::start(db.clone()),
            db,
            describe,
        })
    }

    /// The database connection pool, shared with the cluster state (submissions, nodes).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Checks and saves a new snippet under a fresh id.
    pub async fn save(
        &self,
        new: NewSnippet,
        catalog: &Catalog,
        max_bytes: usize,
    ) -> Result<Created, SnippetError> {
        let valid = validate(new, catalog, max_bytes)?;
        Ok(self.insert(valid).await?)
    }

    /// Saves a checked snippet under a fresh id.
    pub async fn insert(&self, valid: ValidSnippet) -> Result<Created, StoreError> {
        let body = serde_json::to_string(&valid.body).expect("plain data serializes");
        let created_at = now_ms();
        // 71 random bits make a collision all but impossible; a taken id is simply redrawn.
        for _ in 0..4 {
            let id = new_id();
            if self
                .db
                .insert_snippet(&id, &valid.language, &body, created_at)
                .await?
            {
                return Ok(Created {
                    url: share_url(&id),
                    id,
                });
            }
        }
        Err(StoreError::Config(
            "could not find a free snippet id".to_string(),
        ))
    }

    /// A snippet by id: `BadId` for a malformed id, `NotFound` for an unknown one.
    pub async fn load(&self, id: &str) -> Result<Snippet, SnippetError> {
        if !is_valid_id(id) {
            return Err(SnippetError::BadId(id.chars().take(40).collect()));
        }
        self.get(id)
            .await?
            .ok_or_else(|| SnippetError::NotFound(id.to_string()))
    }

    /// A snippet by id, if stored.
    pub async fn get(&self, id: &str) -> Result<Option<Snippet>, StoreError> {
        let Some(row) = self.db.snippet(id).await? else {
            return Ok(None);
        };
        let body: StoredBody = serde_json::from_str(&row.body)
            .map_err(|e| StoreError::Corrupt(format!("snippet {id}: {e}")))?;
        Ok(Some(Snippet {
            id: id.to_string(),
            url: share_url(id),
            language: row.language,
            code: body.code,
            files: body.files,
            stdin: body.stdin,
            title: body.title,
            output: body.output,
            created_at: format_rfc3339(row.created_at),
        }))
    }

    /// Counts a finished run (`language` is the catalog id). Never waits: the record goes
    /// to a channel and a background task writes batches.
    pub fn record_run(&self, language: &str, outcome: &RunOutcome) {
        self.record(language, outcome.exit.verdict, outcome.exit.wall_ms);
    }

    /// Counts a finished run from its parts (see [`Snippets::record_run`]).
    pub fn record(&self, language: &str, verdict: Verdict, wall_ms: u64) {
        self.recorder.record(RunRecord {
            language: language.to_string(),
            verdict: verdict.as_str(),
            wall_ms,
            at_ms: now_ms(),
        });
    }

    /// Returns once the runs recorded before the call are written (tests, shutdown).
    pub async fn flush(&self) {
        self.recorder.flush().await;
    }

    /// Run statistics of the last `days` UTC days (today included), or of all time.
    pub async fn stats(&self, days: Option<u32>) -> Result<Stats, StoreError> {
        stats::load(&self.db, days).await
    }

    /// Writes the runs still queued, stops the writer and closes the connections.
    pub async fn close(&self) {
        self.recorder.close().await;
        self.db.close().await;
    }
}
