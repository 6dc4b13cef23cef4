//! The result cache: finished runs' results kept in the shared database (SQLite, or the
//! cluster's PostgreSQL so that every node answers from it), keyed by the run's
//! fingerprint, and answered again to an identical request without running anything.
//! Only results that an identical run would give again are stored: `ok`, `runtime_error`
//! and `compile_error` (judged runs: every case also `accepted` or `wrong_answer`); never
//! a limit, a kill or an internal error, whose outcome depends on the machine's load.
//! The cache is an optimisation: a database error is logged and counted, and the run
//! simply goes ahead.

use crate::config::ResultCacheConfig;
use crate::metrics::ServerMetrics;
use crate::snippets::db::with_pool;
use crate::snippets::{Db, StoreError};
use pool::RunFingerprint;
use sqlx::Row;
use std::time::Duration;
use warmrun_api::{RunResultJson, Verdict};

/// How often old and surplus entries are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The store.
#[derive(Clone)]
pub struct ResultCache {
    db: Db,
    config: ResultCacheConfig,
    metrics: ServerMetrics,
}

impl ResultCache {
    pub fn new(db: Db, config: ResultCacheConfig, metrics: ServerMetrics) -> ResultCache {
        ResultCache {
            db,
            config,
            metrics,
        }
    }

    /// The stored result of the run `key`, if one younger than `ttl_s` is there.
    pub async fn get(&self, key: &RunFingerprint) -> Option<RunResultJson> {
        match self.lookup(key).await {
            Ok(Some(r)) => {
                self.metrics.result_cache.with_label_values(&["hit"]).inc();
                Some(r)
            }
            Ok(None) => {
                self.metrics.result_cache.with_label_values(&["miss"]).inc();
                None
            }
            Err(e) => {
                self.metrics
                    .result_cache
                    .with_label_values(&["error"])
                    .inc();
                tracing::warn!("result cache lookup failed, running instead: {e}");
                None
            }
        }
    }

    /// Stores `result` under `key` when it is worth keeping, off the caller's path.
    pub fn put(&self, key: RunFingerprint, language: String, result: &RunResultJson) {
        if !storable(result) {
            return;
        }
        let json = match serde_json::to_string(result) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!("result not stored: {e}");
                return;
            }
        };
        let cache = self.clone();
        tokio::spawn(async move {
            match cache.insert(&key, &language, &json).await {
                Ok(()) => cache
                    .metrics
                    .result_cache
                    .with_label_values(&["stored"])
                    .inc(),
                Err(e) => tracing::warn!("result cache insert failed: {e}"),
            }
        });
    }

    /// Deletes expired entries, then the least recently used past `max_entries`, every
    /// [`PRUNE_EVERY`] for as long as the server runs.
    pub async fn prune_forever(self) {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        loop {
            tick.tick().await;
            match self.prune().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!("result cache: {n} entries deleted"),
                Err(e) => tracing::warn!("result cache prune failed: {e}"),
            }
        }
    }

    async fn lookup(&self, key: &RunFingerprint) -> Result<Option<RunResultJson>, StoreError> {
        const SQL: &str =
            "SELECT result FROM result_cache WHERE fingerprint = $1 AND created_ms > $2";
        const TOUCH: &str =
            "UPDATE result_cache SET used_ms = $2, hits = hits + 1 WHERE fingerprint = $1";
        let now = self.db.now_ms();
        let oldest = now - (self.config.ttl_s as i64).saturating_mul(1000);
        let db = &self.db;
        let json: Option<String> = with_pool!(db, pool => {
            match sqlx::query(SQL).bind(key.as_str()).bind(oldest).fetch_optional(pool).await? {
                Some(row) => {
                    sqlx::query(TOUCH).bind(key.as_str()).bind(now).execute(pool).await?;
                    Some(row.try_get("result")?)
                }
                None => None,
            }
        });
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|e| StoreError::Corrupt(format!("cached result {key}: {e}")))
        })
        .transpose()
    }

    async fn insert(
        &self,
        key: &RunFingerprint,
        language: &str,
        json: &str,
    ) -> Result<(), StoreError> {
        // Two identical runs finishing together store the same result: the first wins.
        const SQL: &str =
            "INSERT INTO result_cache (fingerprint, language, result, created_ms, used_ms) \
                           VALUES ($1, $2, $3, $4, $4) ON CONFLICT (fingerprint) DO NOTHING";
        let now = self.db.now_ms();
        let db = &self.db;
        with_pool!(db, pool => {
            sqlx::query(SQL)
                .bind(key.as_str())
                .bind(language)
                .bind(json)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn prune(&self) -> Result<u64, StoreError> {
        const EXPIRED: &str = "DELETE FROM result_cache WHERE created_ms <= $1";
        const COUNT: &str = "SELECT COUNT(*) AS n FROM result_cache";
        const SURPLUS: &str = "DELETE FROM result_cache WHERE fingerprint IN \
                               (SELECT fingerprint FROM result_cache ORDER BY used_ms ASC LIMIT $1)";
        let oldest = self.db.now_ms() - (self.config.ttl_s as i64).saturating_mul(1000);
        let max = i64::try_from(self.config.max_entries).unwrap_or(i64::MAX);
        let db = &self.db;
        let deleted = with_pool!(db, pool => {
            let mut deleted = sqlx::query(EXPIRED).bind(oldest).execute(pool).await?.rows_affected();
            let n: i64 = sqlx::query(COUNT).fetch_one(pool).await?.try_get("n")?;
            if n > max {
                deleted += sqlx::query(SURPLUS).bind(n - max).execute(pool).await?.rows_affected();
            }
            deleted
        });
        Ok(deleted)
    }
}

/// Whether an identical run would give this result again.
pub fn storable(result: &RunResultJson) -> bool {
    let repeatable = |v: Verdict| {
        matches!(
            v,
            Verdict::Ok
                | Verdict::RuntimeError
                | Verdict::CompileError
                | Verdict::Accepted
                | Verdict::WrongAnswer
        )
    };
    let judged_ok = result
        .tests
        .as_ref()
        .is_none_or(|t| t.cases.iter().all(|c| repeatable(c.verdict)));
    let verdict = result.exit.verdict;
    !result.cached
        && judged_ok
        && match &result.tests {
            None => matches!(
                verdict,
                Verdict::Ok | Verdict::RuntimeError | Verdict::CompileError
            ),
            Some(_) => repeatable(verdict),
        }
}
