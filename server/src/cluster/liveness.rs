//! Whether the engine that made a container is alive, for the pool's container ownership:
//! asked of the shared `nodes` table, so that an engine on the same Docker daemon removes a
//! dead node's containers whatever PID namespace either runs in.

use crate::snippets::Db;
use pool::{async_trait, LocalProcessLiveness, Owner, OwnerLiveness};

/// The heartbeat table first; owners it has never seen (engines without this database,
/// older builds) by the pool's local rule.
pub struct DbLiveness {
    db: Db,
    local: LocalProcessLiveness,
}

impl DbLiveness {
    pub fn new(db: Db) -> DbLiveness {
        DbLiveness {
            db,
            local: LocalProcessLiveness,
        }
    }
}

#[async_trait]
impl OwnerLiveness for DbLiveness {
    async fn alive(&self, owner: &Owner) -> Option<bool> {
        match super::nodes::is_alive(&self.db, &owner.node, &owner.boot).await {
            Ok(Some(alive)) => Some(alive),
            Ok(None) => self.local.alive(owner).await,
            Err(e) => {
                // The database away says nothing about the owner: keep its containers.
                tracing::warn!(node = %owner.node, "asking the nodes table failed: {e}");
                None
            }
        }
    }
}
