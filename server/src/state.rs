//! The one shared state of the server, behind an `Arc`.

use crate::config::ServerConfig;
use crate::metrics::ServerMetrics;
use crate::rate_limit::Limiters;
use crate::snippets::Snippets;
use crate::submissions::Submissions;
use dashmap::DashMap;
use pool::Engine;
use std::net::IpAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Everything handlers share.
pub struct AppState {
    pub engine: Engine,
    pub config: ServerConfig,
    pub registry: prometheus::Registry,
    pub metrics: ServerMetrics,
    pub limiters: Limiters,
    pub submissions: Submissions,
    /// Saved snippets and run statistics (SQLite or PostgreSQL).
    pub snippets: Snippets,
    /// Open WebSocket sessions per client address.
    pub sessions: DashMap<IpAddr, usize>,
    /// Fires when the server shuts down; sessions end their runs and close.
    pub shutdown: CancellationToken,
}

/// The handle handlers receive.
pub type SharedState = Arc<AppState>;

/// Counts one WebSocket session of an address for as long as it lives.
pub struct SessionSlot {
    state: SharedState,
    ip: IpAddr,
}

impl AppState {
    /// Takes a session slot for `ip`, unless it has its maximum open already.
    pub fn open_session(self: &Arc<Self>, ip: IpAddr) -> Option<SessionSlot> {
        let mut n = self.sessions.entry(ip).or_insert(0);
        if *n >= self.config.limits.sessions_per_ip {
            return None;
        }
        *n += 1;
        drop(n);
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
        self.state.sessions.remove_if_mut(&self.ip, |_, n| {
            *n -= 1;
            *n == 0
        });
    }
}
