//! Removing containers nobody will use: at start, those a predecessor or a dead engine left
//! (see `ownership.rs`); then periodically, this engine's own that the runtime holds as exited
//! or dead, and those of other engines that have died since.

use crate::backend::{ContainerState, Managed};
use crate::error::PoolError;
use crate::ownership::{self, Phase};
use crate::state::Shared;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info};

/// Removes the containers that `phase` allows of other owners; returns how many.
pub(crate) async fn remove_orphans(shared: &Shared, phase: Phase) -> Result<usize, PoolError> {
    let listed = shared.backend.list_managed().await?;
    let listed: Vec<(String, HashMap<String, String>)> =
        listed.into_iter().map(|m| (m.id, m.labels)).collect();
    let doomed =
        ownership::foreign_to_remove(&listed, &shared.identity, phase, shared.liveness.as_ref())
            .await;
    futures_util::future::join_all(doomed.iter().map(|id| shared.backend.remove(id))).await;
    Ok(doomed.len())
}

/// Whether one of this engine's own containers is left over: exited or dead (its removal
/// failed while the runtime was away: a daemon restart kills every container; the pool
/// discards them at once, but nothing can be removed until the daemon is back), or left
/// `created` by a creation that failed half-way, once older than any creation in flight.
pub(crate) fn own_leftover(c: &Managed, now: i64, creation_bound: Duration) -> bool {
    match c.state {
        ContainerState::Exited | ContainerState::Dead => true,
        ContainerState::Created => now - c.created > creation_bound.as_secs() as i64,
        ContainerState::Running | ContainerState::Other => false,
    }
}

/// One round of the janitor.
pub(crate) async fn sweep(shared: &Shared) -> Result<(), PoolError> {
    let interval = Duration::from_millis(shared.config.janitor_interval_ms);
    let creation_bound = Duration::from_millis(shared.config.create_timeout_ms) + interval;
    let listed = shared.backend.list_managed().await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    for c in listed
        .iter()
        .filter(|c| shared.identity.owns(&c.labels) && own_leftover(c, now, creation_bound))
    {
        debug!(container = %c.id, "removing a dead container");
        shared.backend.remove(&c.id).await;
    }
    let listed: Vec<(String, HashMap<String, String>)> =
        listed.into_iter().map(|m| (m.id, m.labels)).collect();
    let doomed = ownership::foreign_to_remove(
        &listed,
        &shared.identity,
        Phase::Janitor,
        shared.liveness.as_ref(),
    )
    .await;
    if !doomed.is_empty() {
        info!(
            removed = doomed.len(),
            "removing containers of engines that are gone"
        );
    }
    futures_util::future::join_all(doomed.iter().map(|id| shared.backend.remove(id))).await;
    Ok(())
}

/// Runs [`sweep`] every `janitor_interval_ms` until the engine closes.
pub(crate) async fn janitor(shared: Arc<Shared>) {
    let interval = Duration::from_millis(shared.config.janitor_interval_ms.max(10));
    loop {
        tokio::time::sleep(interval).await;
        if shared.is_closing() {
            return;
        }
        // The runtime away, or an oracle that hangs: try again next round.
        if let Ok(Err(e)) =
            tokio::time::timeout(interval.max(Duration::from_secs(10)), sweep(&shared)).await
        {
            debug!("janitor round failed: {e}");
        }
    }
}
