//! Several engine nodes sharing one database: each node has an id and a boot id, writes a
//! heartbeat row ([`nodes`]), and claims queued submissions from the shared table when it
//! has capacity ([`queue`]). No membership protocol of our own: liveness is "a heartbeat
//! younger than `node_dead_after_ms`" on the database's clock.

pub mod liveness;
pub mod nodes;
pub mod queue;

pub use queue::run_submission;

use crate::state::SharedState;

/// Who this process is in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// `node_id` from the configuration (the host name by default).
    pub id: String,
    /// Random per process start: tells a restarted node's claims and containers from its
    /// predecessor's.
    pub boot_id: String,
}

impl NodeIdentity {
    /// `id` with a fresh boot id.
    pub fn new(id: &str) -> NodeIdentity {
        NodeIdentity {
            id: id.to_string(),
            boot_id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

/// Starts the node's background work: heartbeats (with the lost-node sweep and the
/// readiness refresh) and the submission claimer.
pub fn start(state: &SharedState) {
    tokio::spawn(nodes::heartbeat_loop(state.clone()));
    tokio::spawn(queue::claimer(state.clone()));
}
