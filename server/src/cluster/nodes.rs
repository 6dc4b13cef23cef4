//! Node heartbeats in the `nodes` table: every node upserts its row every `heartbeat_ms`
//! (and at once when it starts draining); a node is dead when its row is older than the
//! `dead_after_ms` it wrote, when it stopped cleanly, or when its id came back with another
//! boot id. The same loop fails the submissions of dead nodes and refreshes readiness.

use super::NodeIdentity;
use crate::snippets::db::with_pool;
use crate::snippets::{format_rfc3339, Db, StoreError};
use crate::state::SharedState;
use serde::Serialize;
use sqlx::Row;
use std::time::Duration;

/// What a node says about itself at each heartbeat.
#[derive(Debug, Clone)]
pub struct Heartbeat<'a> {
    pub node: &'a NodeIdentity,
    pub url: Option<&'a str>,
    /// When this boot started (database clock, ms).
    pub started_at: i64,
    pub dead_after_ms: u64,
    pub ready: bool,
    pub draining: bool,
}

/// A live node as `GET /api/v1/nodes` lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeInfo {
    pub id: String,
    pub url: Option<String>,
    pub ready: bool,
    pub draining: bool,
    /// RFC 3339, UTC.
    pub last_seen: String,
    pub started_at: String,
}

/// Node rows not seen for this long are deleted: long after anything could still ask
/// about them (the pool's janitor asks within a minute).
const FORGET_AFTER_MS: i64 = 24 * 3600 * 1000;

/// Writes the node's row (insert or replace: a restart takes over its id).
pub async fn beat(db: &Db, hb: &Heartbeat<'_>) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO nodes (node_id, boot_id, url, started_at, last_seen, \
                       dead_after_ms, ready, draining, stopped_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) \
                       ON CONFLICT (node_id) DO UPDATE SET boot_id = excluded.boot_id, \
                       url = excluded.url, started_at = excluded.started_at, \
                       last_seen = excluded.last_seen, dead_after_ms = excluded.dead_after_ms, \
                       ready = excluded.ready, draining = excluded.draining, stopped_at = NULL";
    let now = db.now_ms();
    with_pool!(db, pool => sqlx::query(SQL)
        .bind(&hb.node.id)
        .bind(&hb.node.boot_id)
        .bind(hb.url)
        .bind(hb.started_at)
        .bind(now)
        .bind(hb.dead_after_ms.min(i64::MAX as u64) as i64)
        .bind(hb.ready)
        .bind(hb.draining)
        .execute(pool)
        .await
        .map(drop)?);
    Ok(())
}

/// The first heartbeat of this boot, written before the engine starts (so that other
/// nodes sharing the Docker daemon see the new owner as alive). Warns when another live
/// process holds the same node id: two nodes with one id take each other's claims for
/// lost.
pub async fn register(db: &Db, hb: &Heartbeat<'_>) -> Result<(), StoreError> {
    if let Some(other) = boot_of(db, &hb.node.id).await? {
        if other.0 != hb.node.boot_id && other.1 {
            tracing::warn!(
                node = %hb.node.id,
                "another live process has node id {:?} (boot {}); give every node its own \
                 node_id, or this is a restart within node_dead_after_ms",
                hb.node.id,
                other.0
            );
        }
    }
    beat(db, hb).await
}

/// A clean shutdown: the node is dead at once for everyone (its containers are gone and
/// its unfinished submissions may be failed without waiting).
pub async fn mark_stopped(db: &Db, node: &NodeIdentity) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE nodes SET stopped_at = $1, draining = $2, ready = $3 \
                       WHERE node_id = $4 AND boot_id = $5";
    let now = db.now_ms();
    with_pool!(db, pool => sqlx::query(SQL)
        .bind(now)
        .bind(true)
        .bind(false)
        .bind(&node.id)
        .bind(&node.boot_id)
        .execute(pool)
        .await
        .map(drop)?);
    Ok(())
}

/// The boot id recorded for `node_id` and whether that boot is alive.
async fn boot_of(db: &Db, node_id: &str) -> Result<Option<(String, bool)>, StoreError> {
    const SQL: &str = "SELECT boot_id, last_seen, dead_after_ms, stopped_at FROM nodes \
                       WHERE node_id = $1";
    let now = db.now_ms();
    let row = with_pool!(db, pool => {
        match sqlx::query(SQL).bind(node_id).fetch_optional(pool).await? {
            Some(r) => Some((
                r.try_get::<String, _>("boot_id")?,
                r.try_get::<i64, _>("last_seen")?,
                r.try_get::<i64, _>("dead_after_ms")?,
                r.try_get::<Option<i64>, _>("stopped_at")?,
            )),
            None => None,
        }
    });
    Ok(row.map(|(boot, last_seen, dead_after, stopped)| {
        (
            boot,
            stopped.is_none() && last_seen >= now.saturating_sub(dead_after),
        )
    }))
}

/// Whether the process `node_id`/`boot_id` (as the container labels name their owner) is
/// alive: `Some(true)` while its heartbeat is fresh; `Some(false)` when it is stale, the
/// node stopped cleanly, or the node id now belongs to another boot (a restart); `None`
/// when the id was never seen (or forgotten after a day): the caller decides.
pub async fn is_alive(db: &Db, node_id: &str, boot_id: &str) -> Result<Option<bool>, StoreError> {
    Ok(boot_of(db, node_id)
        .await?
        .map(|(boot, alive)| boot == boot_id && alive))
}

/// The live nodes, by id.
pub async fn list_live(db: &Db) -> Result<Vec<NodeInfo>, StoreError> {
    const SQL: &str = "SELECT node_id, url, ready, draining, last_seen, started_at FROM nodes \
                       WHERE stopped_at IS NULL AND last_seen >= $1 - dead_after_ms \
                       ORDER BY node_id";
    let now = db.now_ms();
    let nodes = with_pool!(db, pool => {
        let mut out = Vec::new();
        for r in sqlx::query(SQL).bind(now).fetch_all(pool).await? {
            out.push(NodeInfo {
                id: r.try_get("node_id")?,
                url: r.try_get("url")?,
                ready: r.try_get("ready")?,
                draining: r.try_get("draining")?,
                last_seen: format_rfc3339(r.try_get("last_seen")?),
                started_at: format_rfc3339(r.try_get("started_at")?),
            });
        }
        out
    });
    Ok(nodes)
}

/// Deletes rows of nodes gone for a day.
async fn forget_old(db: &Db) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM nodes WHERE last_seen < $1";
    let cutoff = db.now_ms().saturating_sub(FORGET_AFTER_MS);
    Ok(with_pool!(db, pool => sqlx::query(SQL).bind(cutoff).execute(pool).await?.rows_affected()))
}

/// This node's heartbeat as of now.
fn heartbeat<'a>(state: &'a SharedState, ready: bool) -> Heartbeat<'a> {
    Heartbeat {
        node: &state.node,
        url: state.config.node_url.as_deref(),
        started_at: state.started_at_ms,
        dead_after_ms: state.config.node_dead_after_ms,
        ready,
        draining: state.is_draining(),
    }
}

/// Every `heartbeat_ms` (and at once when draining starts): refresh readiness, write the
/// row, re-measure the database clock, fail the submissions of dead nodes. Ends when the
/// node shuts down (the final `mark_stopped` is `serve`'s).
pub async fn heartbeat_loop(state: SharedState) {
    let every = Duration::from_millis(state.config.heartbeat_ms.max(50));
    let db = state.snippets.db().clone();
    let mut announced_draining = false;
    let mut beats: u64 = 0;
    loop {
        let ready = state.readiness().await.ready;
        if let Err(e) = beat(&db, &heartbeat(&state, ready)).await {
            tracing::warn!("heartbeat failed: {e}");
        }
        if let Err(e) = db.sync_clock().await {
            tracing::warn!("measuring the database clock failed: {e}");
        }
        if let Err(e) = state.submissions.fail_lost(&state.node).await {
            tracing::warn!("sweeping submissions of lost nodes failed: {e}");
        }
        beats += 1;
        if beats % 1000 == 1 {
            if let Err(e) = forget_old(&db).await {
                tracing::warn!("forgetting old node rows failed: {e}");
            }
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = state.draining.cancelled(), if !announced_draining => announced_draining = true,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
