//! The one shared state of the server, behind an `Arc`.

use crate::cluster::queue::SubmissionQueue;
use crate::cluster::NodeIdentity;
use crate::config::ServerConfig;
use crate::metrics::ServerMetrics;
use crate::rate_limit::Limiters;
use crate::snippets::Snippets;
use crate::submissions::Submissions;
use dashmap::DashMap;
use pool::Engine;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Everything handlers share.
pub struct AppState {
    pub engine: Engine,
    pub config: ServerConfig,
    pub registry: prometheus::Registry,
    pub metrics: ServerMetrics,
    pub limiters: Limiters,
    /// This node's id and boot id.
    pub node: NodeIdentity,
    /// When this boot started (database clock, ms).
    pub started_at_ms: i64,
    /// Submissions, in the shared database.
    pub submissions: Submissions,
    /// This node's claimer of queued submissions.
    pub queue: SubmissionQueue,
    /// Saved snippets and run statistics (SQLite or PostgreSQL); its pool is shared with
    /// the cluster tables.
    pub snippets: Snippets,
    /// Stored results of finished runs (`[result_cache]`); `None` when nothing may use it.
    pub result_cache: Option<crate::result_cache::ResultCache>,
    /// Open WebSocket sessions per client address.
    pub sessions: DashMap<IpAddr, usize>,
    /// Open WebSocket sessions in all (draining waits for them).
    pub live_sessions: AtomicUsize,
    /// Fires at SIGTERM/SIGINT: `/readyz` says 503, the claimer stops, idle sessions close
    /// and busy ones close after their run; the server still accepts connections for
    /// `drain_delay_ms`.
    pub draining: CancellationToken,
    /// Fires when the drain is over (all done or `shutdown_grace_ms` spent): runs still
    /// going are cut, sessions close.
    pub shutdown: CancellationToken,
}

/// Whether the node should get new work, and why not.
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    pub ready: bool,
    pub draining: bool,
    pub problems: Vec<String>,
}

/// The handle handlers receive.
pub type SharedState = Arc<AppState>;

/// Counts one WebSocket session of an address for as long as it lives.
pub struct SessionSlot {
    state: SharedState,
    ip: IpAddr,
}

impl AppState {
    /// Starts draining (SIGTERM/SIGINT); `serve` does the rest.
    pub fn begin_drain(&self) {
        self.draining.cancel();
    }

    /// Whether the node is draining (or shut down).
    pub fn is_draining(&self) -> bool {
        self.draining.is_cancelled() || self.shutdown.is_cancelled()
    }

    /// Runs waiting for a container, over all languages.
    pub fn queued_runs(&self) -> usize {
        self.engine.status().iter().map(|s| s.queued).sum()
    }

    /// Ready for new work: not draining, Docker answers, pools are warm, and no more than
    /// `ready_max_queue` runs wait for a container. Also sets the `ready` gauge.
    pub async fn readiness(&self) -> Readiness {
        let draining = self.is_draining();
        let mut problems = Vec::new();
        if draining {
            problems.push("draining: the node is shutting down".to_string());
        } else {
            if let Err(p) = self.engine.readiness().await {
                problems.extend(p);
            }
            let queued = self.queued_runs();
            if queued > self.config.ready_max_queue {
                problems.push(format!(
                    "saturated: {queued} runs wait for a container (more than ready_max_queue = {})",
                    self.config.ready_max_queue
                ));
            }
        }
        let ready = problems.is_empty();
        self.metrics.ready.set(ready as i64);
        Readiness {
            ready,
            draining,
            problems,
        }
    }

    /// Takes a session slot for `ip`, unless it has its maximum open already.
    pub fn open_session(self: &Arc<Self>, ip: IpAddr) -> Option<SessionSlot> {
        let mut n = self.sessions.entry(ip).or_insert(0);
        if *n >= self.config.limits.sessions_per_ip {
            return None;
        }
        *n += 1;
        drop(n);
        self.live_sessions.fetch_add(1, Ordering::SeqCst);
        self.metrics.ws_active.inc();
        Some(SessionSlot {
            state: self.clone(),
            ip,
        })
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.state.metrics.ws_active.dec();
        self.state.live_sessions.fetch_sub(1, Ordering::SeqCst);
        self.state.sessions.remove_if_mut(&self.ip, |_, n| {
            *n -= 1;
            *n == 0
        });
    }
}
