//! `GET /api/v1/ws`: one interactive session per socket. Runs follow each other on it; each
//! goes created → queued → running → finished (or terminated when the socket closes).

use crate::error::ApiError;
use crate::extract::Metered;
use crate::rate_limit::Client;
use crate::runner::{self, LiveEvent, LiveRun};
use crate::state::{SessionSlot, SharedState};
use crate::wire::{ToApi, ToPool};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::stream::{SplitSink, StreamExt};
use futures_util::SinkExt;
use pool::{RunControl, TtySize};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{info, Instrument};
use uuid::Uuid;
use warmrun_api::{ClientFrame, ExitJson, QueuePosition, RunFrame, ServerFrame};

/// Accepts the upgrade, counting the socket against its client's rate and session limits.
pub async fn upgrade(
    State(state): State<SharedState>,
    client: Metered,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    if !crate::cors::websocket_allowed(&state.config.cors_allowed_origins, &headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "pages of this origin may not open sessions here (see cors_allowed_origins)",
        ));
    }
    let ws = ws.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "websocket_required",
            format!("this endpoint speaks WebSocket only: {e}"),
        )
    })?;
    let Some(slot) = state.open_session(client.ip) else {
        state
            .metrics
            .rejected
            .with_label_values(&["sessions_per_ip"])
            .inc();
        state
            .metrics
            .ws_opened
            .with_label_values(&["refused"])
            .inc();
        return Err(ApiError {
            retry_after_s: Some(5),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_sessions",
                format!(
                    "at most {} sessions per client are allowed",
                    state.config.limits.sessions_per_ip
                ),
            )
        });
    };
    state
        .metrics
        .ws_opened
        .with_label_values(&["accepted"])
        .inc();
    // Frames a little above the limit are read and refused politely; far larger ones end
    // the connection.
    let max = state.config.limits.frame_bytes;
    Ok(ws
        .max_message_size(max.saturating_mul(2))
        .max_frame_size(max.saturating_mul(2))
        .on_upgrade(move |socket| {
            let id = Uuid::new_v4();
            let span = tracing::info_span!("session", id = %id, ip = %client.ip);
            Session::new(state, socket, slot, client.client)
                .run()
                .instrument(span)
        }))
}

type Leasing = Pin<Box<dyn Future<Output = Result<LiveRun, ApiError>> + Send>>;

/// Where the session's current run is.
enum Phase {
    /// No run.
    Idle,
    /// Waiting for a container; controls received meanwhile are kept for the run.
    Leasing {
        fut: Leasing,
        positions: mpsc::UnboundedReceiver<QueuePosition>,
        pending: Vec<RunControl>,
    },
    /// Running.
    Running(LiveRun),
}

/// One socket's session.
struct Session {
    state: SharedState,
    tx: SplitSink<WebSocket, Message>,
    rx: futures_util::stream::SplitStream<WebSocket>,
    client: Client,
    phase: Phase,
    _slot: SessionSlot,
}

/// What woke the session loop.
enum Wake {
    Shutdown,
    Socket(Option<Result<Message, axum::Error>>),
    Idle,
    Position(Option<QueuePosition>),
    Leased(Result<LiveRun, ApiError>),
    Event(Option<LiveEvent>),
}

impl Session {
    fn new(state: SharedState, socket: WebSocket, slot: SessionSlot, client: Client) -> Session {
        let (tx, rx) = socket.split();
        Session {
            state,
            tx,
            rx,
            client,
            phase: Phase::Idle,
            _slot: slot,
        }
    }

    async fn run(mut self) {
        info!("session opened");
        let idle = Duration::from_secs(self.state.config.limits.idle_timeout_s);
        loop {
            let wake = self.next(idle).await;
            let keep_going = match wake {
                Wake::Shutdown => {
                    self.send(&ServerFrame::Error {
                        code: "shutting_down".into(),
                        message: "the server is shutting down".into(),
                    })
                    .await;
                    false
                }
                Wake::Socket(Some(Ok(msg))) => self.on_message(msg).await,
                Wake::Socket(_) => false,
                Wake::Idle => {
                    self.send(&ServerFrame::Error {
                        code: "idle_timeout".into(),
                        message: format!("no activity for {}s; closing", idle.as_secs()),
                    })
                    .await;
                    false
                }
                Wake::Position(Some(position)) => {
                    self.send(&ServerFrame::Queued { position }).await
                }
                Wake::Position(None) => true,
                Wake::Leased(result) => self.on_leased(result).await,
                Wake::Event(ev) => self.on_event(ev).await,
            };
            if !keep_going {
                break;
            }
        }
        // Dropping a live run's handle kills the program; the container is reset.
        self.phase = Phase::Idle;
        let _ = self.tx.close().await;
        info!("session closed");
    }

    async fn next(&mut self, idle: Duration) -> Wake {
        // Draining (issue 17): a session without a run closes as soon as the node drains;
        // one with a run gets its output and exit first (the run was accepted), and is cut
        // only when the grace period ends (`shutdown`).
        let draining = self.state.draining.clone();
        let shutdown = self.state.shutdown.clone();
        let socket = tokio::time::timeout(idle, self.rx.next());
        match &mut self.phase {
            Phase::Idle => tokio::select! {
                biased;
                _ = draining.cancelled() => Wake::Shutdown,
                _ = shutdown.cancelled() => Wake::Shutdown,
                m = socket => m.map_or(Wake::Idle, Wake::Socket),
            },
            Phase::Leasing { fut, positions, .. } => tokio::select! {
                _ = shutdown.cancelled() => Wake::Shutdown,
                m = socket => m.map_or(Wake::Position(None), Wake::Socket),
                p = positions.recv() => Wake::Position(p),
                r = fut => Wake::Leased(r),
            },
            Phase::Running(run) => tokio::select! {
                _ = shutdown.cancelled() => Wake::Shutdown,
                // A running program is not idleness: a quiet socket just loops.
                m = socket => m.map_or(Wake::Position(None), Wake::Socket),
                ev = run.next() => Wake::Event(ev),
            },
        }
    }

    /// Sends a frame; false when the socket is gone.
    async fn send(&mut self, frame: &ServerFrame) -> bool {
        let text = serde_json::to_string(frame).expect("frames serialize");
        self.tx.send(Message::Text(text.into())).await.is_ok()
    }

    async fn error(&mut self, e: &ApiError) -> bool {
        self.send(&e.frame()).await
    }

    async fn on_message(&mut self, msg: Message) -> bool {
        let text = match msg {
            Message::Text(t) => t,
            Message::Binary(_) => {
                self.reject("bad_request");
                return self
                    .error(&ApiError::bad_request(
                        "binary frames are not supported; send JSON text frames",
                    ))
                    .await;
            }
            Message::Close(_) => return false,
            Message::Ping(_) | Message::Pong(_) => return true,
        };
        if text.len() > self.state.config.limits.frame_bytes {
            self.reject("too_large");
            return self
                .error(&ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!(
                        "frame of {} bytes; at most {} are allowed",
                        text.len(),
                        self.state.config.limits.frame_bytes
                    ),
                ))
                .await;
        }
        let frame: ClientFrame = match serde_json::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                self.reject("bad_request");
                return self
                    .error(&ApiError::bad_request(format!("invalid frame: {e}")))
                    .await;
            }
        };
        let control = match frame {
            ClientFrame::Run(run) => return self.start_run(run).await,
            ClientFrame::Stdin { data } => RunControl::Stdin(data.into_bytes()),
            ClientFrame::Eof {} => RunControl::Eof,
            ClientFrame::Kill {} => RunControl::Kill,
            ClientFrame::Resize { cols, rows } => RunControl::Resize(TtySize {
                cols: cols.clamp(1, 1000),
                rows: rows.clamp(1, 1000),
            }),
        };
        match &mut self.phase {
            Phase::Running(run) => {
                run.control(control);
                true
            }
            Phase::Leasing { .. } if control == RunControl::Kill => {
                // Leaving the queue: dropping the lease future gives up the place.
                self.phase = Phase::Idle;
                self.send(&ServerFrame::Exit(killed_in_queue())).await
            }
            Phase::Leasing { pending, .. } => {
                pending.push(control);
                true
            }
            Phase::Idle => {
                self.error(&ApiError::new(
                    StatusCode::CONFLICT,
                    "no_run",
                    "no program is running; send a run frame first",
                ))
                .await
            }
        }
    }

    fn reject(&self, reason: &str) {
        self.state.metrics.reject(reason);
    }

    async fn start_run(&mut self, frame: RunFrame) -> bool {
        if !matches!(self.phase, Phase::Idle) {
            return self
                .error(&ApiError::new(
                    StatusCode::CONFLICT,
                    "busy",
                    "a run is in progress on this socket; wait for its exit or send kill",
                ))
                .await;
        }
        if let Err(e) = self.state.limiters.check(&self.client) {
            self.state
                .metrics
                .rate_limited
                .with_label_values(&[self.client.scope()])
                .inc();
            return self.error(&e).await;
        }
        let req = match frame.to_pool() {
            Ok(r) => r,
            Err(e) => {
                self.reject("bad_request");
                return self.error(&e.into()).await;
            }
        };
        let (pos_tx, positions) = mpsc::unbounded_channel();
        let fut: Leasing = Box::pin(runner::start(self.state.clone(), req, move |p| {
            let _ = pos_tx.send(p);
        }));
        self.phase = Phase::Leasing {
            fut,
            positions,
            pending: Vec::new(),
        };
        true
    }

    async fn on_leased(&mut self, result: Result<LiveRun, ApiError>) -> bool {
        let pending = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Leasing { pending, .. } => pending,
            _ => Vec::new(),
        };
        match result {
            Ok(run) => {
                for c in pending {
                    run.control(c);
                }
                self.phase = Phase::Running(run);
                true
            }
            Err(e) => self.error(&e).await,
        }
    }

    async fn on_event(&mut self, ev: Option<LiveEvent>) -> bool {
        let frame = match ev {
            Some(LiveEvent::Compiled(c)) => ServerFrame::Compile(c.to_api()),
            Some(LiveEvent::Started) => ServerFrame::Started,
            Some(LiveEvent::WaitingForInput) => ServerFrame::WaitingForInput,
            Some(LiveEvent::Stdout(data)) => ServerFrame::Stdout { data },
            Some(LiveEvent::Stderr(data)) => ServerFrame::Stderr { data },
            Some(LiveEvent::Exit(outcome)) => {
                self.phase = Phase::Idle;
                // The files the program left come before the exit that ends its run.
                for artifact in &outcome.artifacts.files {
                    if !self.send(&ServerFrame::Artifact(artifact.to_api())).await {
                        return false;
                    }
                }
                ServerFrame::Exit(outcome.to_api())
            }
            // Only after the exit, when the session is idle again.
            None => return true,
        };
        self.send(&frame).await
    }
}

/// The exit of a run killed while it was still waiting for a container.
fn killed_in_queue() -> ExitJson {
    pool::RunOutcome {
        exit: pool::ExitReport::unmeasured(pool::Verdict::Killed),
        lease: pool::LeaseKind::Queued,
        lease_ms: 0,
        total_ms: 0,
        artifacts: Default::default(),
    }
    .to_api()
}
