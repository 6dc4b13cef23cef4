//! Asynchronous submissions, kept in the `submissions` table so that every node of a
//! cluster answers for every id: a POST inserts a `queued` row, a node with free capacity
//! claims it (`running`, with its node id), runs it and stores `finished` (the result) or
//! `failed` (an error). Finished and failed rows expire `submission_ttl_s` later.
//!
//! A row claimed by a node that then dies ends `failed` with code `node_lost` (see
//! [`Submissions::fail_lost`]); it is not retried, because the program may have had effects
//! already, or may be what brought the node down.

use crate::cluster::NodeIdentity;
use crate::snippets::db::with_pool;
use crate::snippets::{Db, StoreError};
use serde_json::{json, Value};
use sqlx::Row;
use std::time::Duration;
use uuid::Uuid;

/// Where a submission is (the `status` column and JSON field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Finished,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Finished => "finished",
            Status::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Status, StoreError> {
        Ok(match s {
            "queued" => Status::Queued,
            "running" => Status::Running,
            "finished" => Status::Finished,
            "failed" => Status::Failed,
            other => return Err(StoreError::Corrupt(format!("submission status {other:?}"))),
        })
    }
}

/// A stored submission as `GET /api/v1/submissions/{id}` shows it.
#[derive(Debug, Clone)]
pub struct SubmissionRow {
    pub id: Uuid,
    pub status: Status,
    /// JSON of the finished run.
    pub result: Option<String>,
    /// JSON `{code, message}` of a failed one.
    pub error: Option<String>,
    /// The node that claimed it.
    pub node: Option<String>,
    /// When it was posted, and last changed (for an ended one: when it ended), in ms since
    /// the Unix epoch.
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl SubmissionRow {
    /// `{"id", "status", "node"?, "result"? | "error"?}`.
    pub fn to_json(&self) -> Result<Value, StoreError> {
        let parse = |text: &str| {
            serde_json::from_str::<Value>(text)
                .map_err(|e| StoreError::Corrupt(format!("submission {}: {e}", self.id)))
        };
        let mut body = json!({ "id": self.id, "status": self.status.as_str() });
        if let Some(node) = &self.node {
            body["node"] = json!(node);
        }
        match self.status {
            Status::Finished => body["result"] = parse(self.result.as_deref().unwrap_or("null"))?,
            Status::Failed => body["error"] = parse(self.error.as_deref().unwrap_or("null"))?,
            Status::Queued | Status::Running => {}
        }
        Ok(body)
    }
}

/// A row this node has claimed: it must run it and store how it ended.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    /// The request JSON as the client sent it.
    pub request: String,
}

/// How a claimed submission ended.
#[derive(Clone, Copy)]
pub enum Ending<'a> {
    /// It ran; the run's JSON.
    Finished(&'a Value),
    /// It could not run; `{code, message}`.
    Failed(&'a Value),
}

/// The submissions table.
pub struct Submissions {
    db: Db,
    ttl_ms: i64,
}

/// Oldest queued row first. PostgreSQL skips rows another node is claiming right now
/// instead of waiting for it; the outer `status` test makes a lost race a no-op.
const CLAIM_PG: &str = "UPDATE submissions SET status = 'running', node_id = $1, boot_id = $2, \
                        updated_at = $3 \
                        WHERE id = (SELECT id FROM submissions WHERE status = 'queued' \
                        ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                        AND status = 'queued' RETURNING id, request";
/// SQLite runs one writing statement at a time, so the select-and-update is atomic.
const CLAIM_SQLITE: &str =
    "UPDATE submissions SET status = 'running', node_id = $1, boot_id = $2, \
                            updated_at = $3 \
                            WHERE id = (SELECT id FROM submissions WHERE status = 'queued' \
                            ORDER BY created_at, id LIMIT 1) \
                            AND status = 'queued' RETURNING id, request";

impl Submissions {
    /// The store over the shared pool; finished rows live `ttl`.
    pub fn new(db: Db, ttl: Duration) -> Submissions {
        Submissions {
            db,
            ttl_ms: ttl.as_millis().min(i64::MAX as u128) as i64,
        }
    }

    /// Stores a new queued submission with its request JSON.
    pub async fn insert(&self, request: &str) -> Result<Uuid, StoreError> {
        const SQL: &str = "INSERT INTO submissions (id, status, request, created_at, updated_at) \
                           VALUES ($1, 'queued', $2, $3, $4)";
        let id = Uuid::new_v4();
        let now = self.db.now_ms();
        with_pool!(self.db, pool => sqlx::query(SQL)
            .bind(id.to_string())
            .bind(request)
            .bind(now)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)?);
        Ok(id)
    }

    /// How many are stored (queued, running, and finished not yet deleted).
    pub async fn count(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM submissions";
        Ok(with_pool!(self.db, pool => sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await?))
    }

    /// How many wait in the queue, and how many are running (on any node).
    pub async fn queued_and_running(&self) -> Result<(i64, i64), StoreError> {
        const SQL: &str = "SELECT \
                           COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0) AS q, \
                           COALESCE(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0) AS r \
                           FROM submissions WHERE status IN ('queued', 'running')";
        let counts = with_pool!(self.db, pool => {
            let r = sqlx::query(SQL).fetch_one(pool).await?;
            (r.try_get::<i64, _>("q")?, r.try_get::<i64, _>("r")?)
        });
        Ok(counts)
    }

    /// A submission, unless unknown or expired.
    pub async fn get(&self, id: Uuid) -> Result<Option<SubmissionRow>, StoreError> {
        Ok(self.fetch(id, false).await?.map(|(row, _)| row))
    }

    /// A submission with the request it was posted with, unless unknown or expired.
    pub async fn get_with_request(
        &self,
        id: Uuid,
    ) -> Result<Option<(SubmissionRow, String)>, StoreError> {
        Ok(self
            .fetch(id, true)
            .await?
            .map(|(row, request)| (row, request.unwrap_or_default())))
    }

    /// The row, and its request when asked for (it may be large, so only then).
    async fn fetch(
        &self,
        id: Uuid,
        with_request: bool,
    ) -> Result<Option<(SubmissionRow, Option<String>)>, StoreError> {
        const SQL: &str = "SELECT status, result, error, node_id, created_at, updated_at, \
                           CASE WHEN $3 THEN request END AS request FROM submissions \
                           WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)";
        let now = self.db.now_ms();
        let row = with_pool!(self.db, pool => {
            match sqlx::query(SQL)
                .bind(id.to_string())
                .bind(now)
                .bind(with_request)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some((
                    r.try_get::<String, _>("status")?,
                    r.try_get::<Option<String>, _>("result")?,
                    r.try_get::<Option<String>, _>("error")?,
                    r.try_get::<Option<String>, _>("node_id")?,
                    r.try_get::<i64, _>("created_at")?,
                    r.try_get::<i64, _>("updated_at")?,
                    r.try_get::<Option<String>, _>("request")?,
                )),
                None => None,
            }
        });
        let Some((status, result, error, node, created_ms, updated_ms, request)) = row else {
            return Ok(None);
        };
        Ok(Some((
            SubmissionRow {
                id,
                status: Status::parse(&status)?,
                result,
                error,
                node,
                created_ms,
                updated_ms,
            },
            request,
        )))
    }

    /// Stores a submission that `node` runs itself right away (a client waits for it):
    /// it never waits in the queue, and if the node dies meanwhile it ends `node_lost`
    /// like any claimed one.
    pub async fn insert_claimed(
        &self,
        request: &str,
        node: &NodeIdentity,
    ) -> Result<Claimed, StoreError> {
        const SQL: &str = "INSERT INTO submissions \
                           (id, status, request, node_id, boot_id, created_at, updated_at) \
                           VALUES ($1, 'running', $2, $3, $4, $5, $6)";
        let id = Uuid::new_v4();
        let now = self.db.now_ms();
        with_pool!(self.db, pool => sqlx::query(SQL)
            .bind(id.to_string())
            .bind(request)
            .bind(&node.id)
            .bind(&node.boot_id)
            .bind(now)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)?);
        Ok(Claimed {
            id,
            request: request.to_string(),
        })
    }

    /// Deletes a submission that has ended (finished or failed); false when there is no
    /// such ended row (unknown, expired, or still queued or running).
    pub async fn delete_ended(&self, id: Uuid) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM submissions WHERE id = $1 \
                           AND status IN ('finished', 'failed')";
        let done = with_pool!(self.db, pool => sqlx::query(SQL)
            .bind(id.to_string())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Whether any row waits to be claimed (a read, so that idle polling takes no lock).
    pub async fn any_queued(&self) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT id FROM submissions WHERE status = 'queued' LIMIT 1";
        let found =
            with_pool!(self.db, pool => sqlx::query(SQL).fetch_optional(pool).await?.is_some());
        Ok(found)
    }

    /// Claims the oldest queued submission for `node`, if any.
    pub async fn claim(&self, node: &NodeIdentity) -> Result<Option<Claimed>, StoreError> {
        let sql = if self.db.is_postgres() {
            CLAIM_PG
        } else {
            CLAIM_SQLITE
        };
        let now = self.db.now_ms();
        let row = with_pool!(self.db, pool => {
            match sqlx::query(sql)
                .bind(&node.id)
                .bind(&node.boot_id)
                .bind(now)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some((r.try_get::<String, _>("id")?, r.try_get::<String, _>("request")?)),
                None => None,
            }
        });
        let Some((id, request)) = row else {
            return Ok(None);
        };
        let id = id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("submission id {id:?}")))?;
        Ok(Some(Claimed { id, request }))
    }

    /// Stores how a submission `node` claimed ended. False when the row was no longer
    /// running under this node's claim (another node declared it lost meanwhile): the
    /// first ending stored stands.
    pub async fn finish(
        &self,
        id: Uuid,
        node: &NodeIdentity,
        ending: Ending<'_>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE submissions SET status = $1, result = $2, error = $3, \
                           updated_at = $4, expires_at = $5 \
                           WHERE id = $6 AND status = 'running' AND node_id = $7 AND boot_id = $8";
        let (status, result, error) = match ending {
            Ending::Finished(r) => (Status::Finished, Some(r.to_string()), None),
            Ending::Failed(e) => (Status::Failed, None, Some(e.to_string())),
        };
        let now = self.db.now_ms();
        let done = with_pool!(self.db, pool => sqlx::query(SQL)
            .bind(status.as_str())
            .bind(result)
            .bind(error)
            .bind(now)
            .bind(now.saturating_add(self.ttl_ms))
            .bind(id.to_string())
            .bind(&node.id)
            .bind(&node.boot_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Fails the running submissions whose node is dead (its heartbeat older than the
    /// node's `dead_after_ms`, stopped, or restarted as another boot) with code
    /// `node_lost`. Any live node may do it; `me` never declares itself lost. Returns the
    /// ids it failed.
    pub async fn fail_lost(&self, me: &NodeIdentity) -> Result<Vec<Uuid>, StoreError> {
        const LOST: &str = "SELECT s.id, s.node_id, s.boot_id FROM submissions s \
                            WHERE s.status = 'running' \
                            AND NOT (s.node_id = $1 AND s.boot_id = $2) \
                            AND NOT EXISTS (SELECT 1 FROM nodes n \
                              WHERE n.node_id = s.node_id AND n.boot_id = s.boot_id \
                              AND n.stopped_at IS NULL AND n.last_seen >= $3 - n.dead_after_ms)";
        const FAIL: &str = "UPDATE submissions SET status = 'failed', error = $1, \
                            updated_at = $2, expires_at = $3 \
                            WHERE id = $4 AND status = 'running' AND node_id = $5 AND boot_id = $6";
        let now = self.db.now_ms();
        let lost: Vec<(String, String, String)> = with_pool!(self.db, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(LOST)
                .bind(&me.id)
                .bind(&me.boot_id)
                .bind(now)
                .fetch_all(pool)
                .await?
            {
                out.push((r.try_get("id")?, r.try_get("node_id")?, r.try_get("boot_id")?));
            }
            out
        });
        let mut failed = Vec::new();
        for (id, node_id, boot_id) in lost {
            let error = json!({
                "code": "node_lost",
                "message": format!("node {node_id} stopped while running this submission"),
            })
            .to_string();
            let done = with_pool!(self.db, pool => sqlx::query(FAIL)
                .bind(error)
                .bind(now)
                .bind(now.saturating_add(self.ttl_ms))
                .bind(&id)
                .bind(&node_id)
                .bind(&boot_id)
                .execute(pool)
                .await?
                .rows_affected());
            if done == 1 {
                tracing::warn!(submission = %id, node = %node_id, "node lost while running a submission");
                if let Ok(id) = id.parse() {
                    failed.push(id);
                }
            }
        }
        Ok(failed)
    }

    /// Deletes the finished and failed rows whose time is up; returns how many.
    pub async fn expire(&self) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM submissions WHERE expires_at < $1";
        let now = self.db.now_ms();
        Ok(
            with_pool!(self.db, pool => sqlx::query(SQL).bind(now).execute(pool).await?.rows_affected()),
        )
    }
}
