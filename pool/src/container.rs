//! One sandbox container and the framed link to its agent over the attached stdio; the
//! runtime underneath is a [`Backend`].

use crate::backend::{Backend, CreateSpec};
use crate::catalog::Language;
use crate::config::EngineConfig;
use crate::error::PoolError;
use crate::ownership::Identity;
use agent::{Event, Request, PROTOCOL_VERSION};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};
use tracing::warn;

/// Sandbox uids are unique per container so that per-uid kernel limits (RLIMIT_NPROC)
/// of one container never count another's processes.
static NEXT_UID: AtomicU32 = AtomicU32::new(0);
const UID_BASE: u32 = 100_000;
const UID_SPAN: u32 = 1 << 20;

/// The command that rebuilds the agent, named in protocol errors.
pub const REBUILD_AGENT: &str = "bash scripts/build-agent.sh";

/// A running sandbox container whose agent reported ready.
pub struct Container {
    /// The runtime's id.
    pub id: String,
    /// The container's name (`warmrun-<instance>-<lang>-<pid>-<n>`).
    pub name: String,
    /// The uid user code runs as.
    pub sandbox_uid: u32,
    /// The container's current memory limit.
    pub memory_mb: u64,
    /// Runs served so far.
    pub uses: u32,
    /// Past its retirement age, it serves on until its successor is warm (see lease.rs).
    pub(crate) retiring: bool,
    /// When the container became ready.
    pub created_at: Instant,
    backend: Arc<dyn Backend>,
    owner: Arc<Identity>,
    requests: mpsc::UnboundedSender<Request>,
    events: mpsc::UnboundedReceiver<Event>,
    alive: Arc<AtomicBool>,
    tasks: [JoinHandle<()>; 2],
    removed: bool,
    /// Its place in the engine's container budget (taken over by a replacement).
    budget: Option<OwnedSemaphorePermit>,
}

impl Container {
    /// Creates and starts a container with `memory_mb` of memory, and waits for its agent's
    /// first `Ready` (of this engine's protocol version).
    pub async fn create(
        backend: &Arc<dyn Backend>,
        owner: &Arc<Identity>,
        lang: &Language,
        config: &EngineConfig,
        budget: OwnedSemaphorePermit,
        memory_mb: u64,
    ) -> Result<Container, PoolError> {
        let n = NEXT_UID.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let sandbox_uid = UID_BASE + (pid.wrapping_mul(7919).wrapping_add(n)) % UID_SPAN;
        let name = format!("warmrun-{}-{}-{pid}-{n}", config.instance, lang.id);
        let attached = backend
            .create(&CreateSpec {
                name: &name,
                language: lang,
                config,
                sandbox_uid,
                memory_mb,
                labels: owner.labels(lang.id.as_str()),
            })
            .await?;
        let (alive, requests, events, tasks) = link(
            attached.stdout,
            attached.stdin,
            &name,
            &config.agent_path.display().to_string(),
        );
        let mut c = Container {
            id: attached.id,
            name,
            sandbox_uid,
            memory_mb,
            uses: 0,
            retiring: false,
            created_at: Instant::now(),
            backend: backend.clone(),
            owner: owner.clone(),
            requests,
            events,
            alive,
            tasks,
            removed: false,
            budget: Some(budget),
        };
        match c
            .wait_ready(Duration::from_millis(config.create_timeout_ms))
            .await
        {
            Ok(()) => {
                c.created_at = Instant::now();
                Ok(c)
            }
            Err(e) => {
                c.destroy().await;
                Err(e)
            }
        }
    }

    /// Whether the link to the agent is still up (it drops when the container dies).
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Whether the runtime saw the kernel's OOM killer act in this container. Under gVisor a
    /// program that exhausts the memory limit takes the whole sandbox with it, and this is
    /// how the run still gets its `memory_limit` verdict.
    pub async fn oom_killed(&self, since: std::time::SystemTime) -> bool {
        self.backend.oom_killed(&self.id, since).await
    }

    /// Sends a request to the agent.
    pub fn send(&self, req: Request) -> Result<(), PoolError> {
        self.requests
            .send(req)
            .map_err(|_| PoolError::Sandbox(format!("{}: agent link closed", self.name)))
    }

    /// The agent's next event; `None` when the container is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        let ev = self.events.recv().await;
        if ev.is_none() {
            self.alive.store(false, Ordering::SeqCst);
        }
        ev
    }

    /// Waits for `Ready`, skipping what an ended run may still have had in flight.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<(), PoolError> {
        let wait = async {
            loop {
                match self.recv().await {
                    Some(Event::Ready { .. }) => return Ok(()),
                    Some(Event::Error {
                        message,
                        fatal: true,
                    }) => return Err(PoolError::Sandbox(format!("{}: {message}", self.name))),
                    Some(_) => continue,
                    None => {
                        return Err(PoolError::Sandbox(format!(
                            "{}: container exited before its agent was ready",
                            self.name
                        )))
                    }
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or_else(|_| {
                Err(PoolError::Sandbox(format!(
                    "{}: agent not ready within {timeout:?}",
                    self.name
                )))
            })
    }

    /// Wipes the sandbox for the next user.
    pub async fn reset(&mut self, timeout: Duration) -> Result<(), PoolError> {
        self.send(Request::Reset)?;
        self.wait_ready(timeout).await
    }

    /// Whether the agent answers a ping within `timeout`. Only between runs: events other
    /// than the answer are dropped.
    pub async fn answers(&mut self, timeout: Duration) -> bool {
        if self.send(Request::Ping).is_err() {
            return false;
        }
        let pong = async {
            loop {
                match self.recv().await {
                    Some(Event::Pong) => return true,
                    Some(_) => continue,
                    None => return false,
                }
            }
        };
        tokio::time::timeout(timeout, pong).await.unwrap_or(false)
    }

    /// Changes the container's memory limit (memory + swap alike) if it differs.
    pub async fn set_memory(&mut self, memory_mb: u64) -> Result<(), PoolError> {
        if memory_mb == self.memory_mb {
            return Ok(());
        }
        self.backend.set_memory(&self.id, memory_mb).await?;
        self.memory_mb = memory_mb;
        Ok(())
    }

    /// Replaces this container with a fresh one of the same language whose memory limit is
    /// `memory_mb`, keeping its place in the container budget and its use count. For gVisor:
    /// runsc cannot change a running sandbox's limit (it has no `update` command, so
    /// `docker update` fails). On error the container is unusable (its budget place is gone).
    pub async fn recreate_with_memory(
        &mut self,
        lang: &Language,
        config: &EngineConfig,
        memory_mb: u64,
    ) -> Result<(), PoolError> {
        let permit = self.take_budget().ok_or_else(|| {
            PoolError::Sandbox(format!("{}: no budget left to replace it", self.name))
        })?;
        let mut fresh =
            Container::create(&self.backend, &self.owner, lang, config, permit, memory_mb).await?;
        fresh.uses = self.uses;
        std::mem::replace(self, fresh).destroy().await;
        Ok(())
    }

    /// Its place in the container budget, for a container about to be destroyed whose place
    /// goes to another.
    pub(crate) fn take_budget(&mut self) -> Option<OwnedSemaphorePermit> {
        self.budget.take()
    }

    /// Removes the container for good.
    pub async fn destroy(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.backend.remove(&self.id).await;
        self.removed = true;
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        // A container dropped on an error path is still removed; shutdown removes by label
        // whatever a stopping runtime could not.
        if !self.removed {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let (backend, id) = (self.backend.clone(), self.id.clone());
                rt.spawn(async move { backend.remove(&id).await });
            }
        }
    }
}

type Link = (
    Arc<AtomicBool>,
    mpsc::UnboundedSender<Request>,
    mpsc::UnboundedReceiver<Event>,
    [JoinHandle<()>; 2],
);

/// Frames requests onto the agent's stdin and events off its stdout. The first frame must be
/// the agent's hello of this engine's protocol version; anything else ends the link with a
/// fatal error that says which agent it met and how to rebuild it.
fn link(
    stdout: std::pin::Pin<Box<dyn AsyncRead + Send>>,
    mut stdin: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    name: &str,
    agent_path: &str,
) -> Link {
    let alive = Arc::new(AtomicBool::new(true));
    let (events_tx, events) = mpsc::unbounded_channel();
    let (requests, mut requests_rx) = mpsc::unbounded_channel::<Request>();
    let codec = LengthDelimitedCodec::builder()
        .little_endian()
        .length_field_length(4)
        .max_frame_length(agent::MAX_FRAME_BYTES)
        .new_codec();
    let mut frames = FramedRead::new(stdout, codec);
    let reader_alive = alive.clone();
    let (reader_name, agent_path) = (name.to_string(), agent_path.to_string());
    let reader = tokio::spawn(async move {
        let mut first = true;
        while let Some(frame) = frames.next().await {
            let checked = match (&frame, first) {
                (Ok(f), true) => check_hello(f, &agent_path),
                (Err(e), true) => Err(unreadable_hello(&e.to_string(), &agent_path)),
                _ => Ok(()),
            };
            first = false;
            if let Err(message) = checked {
                warn!(container = %reader_name, "{message}");
                let _ = events_tx.send(Event::Error {
                    message,
                    fatal: true,
                });
                break;
            }
            let Ok(frame) = frame else { break };
            match agent::decode_payload::<Event>(&frame) {
                Ok(ev) => {
                    if events_tx.send(ev).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    warn!(container = %reader_name, "undecodable agent frame: {e}");
                    break;
                }
            }
        }
        reader_alive.store(false, Ordering::SeqCst);
    });
    let writer_alive = alive.clone();
    let writer = tokio::spawn(async move {
        while let Some(req) = requests_rx.recv().await {
            let frame = agent::encode_frame(&req);
            if stdin.write_all(&frame).await.is_err() || stdin.flush().await.is_err() {
                break;
            }
        }
        writer_alive.store(false, Ordering::SeqCst);
    });
    (alive, requests, events, [reader, writer])
}

/// Checks the agent's first frame (without its length prefix): a hello of this engine's
/// protocol version. The error names both versions and the rebuild command.
pub(crate) fn check_hello(payload: &[u8], agent_path: &str) -> Result<(), String> {
    match agent::peek_protocol(payload) {
        Some(PROTOCOL_VERSION) => Ok(()),
        Some(other) => Err(format!(
            "the agent {agent_path} speaks protocol version {other} but this engine speaks \
             version {PROTOCOL_VERSION}: the agent binary is stale (or newer than the engine); \
             rebuild it with `{REBUILD_AGENT}`"
        )),
        None => Err(unreadable_hello(
            "its first frame is not a hello",
            agent_path,
        )),
    }
}

fn unreadable_hello(what: &str, agent_path: &str) -> String {
    format!(
        "the agent {agent_path} does not speak a known version of the protocol ({what}); this \
         engine speaks version {PROTOCOL_VERSION}: rebuild the agent with `{REBUILD_AGENT}`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_of_this_version_passes() {
        let hello = agent::encode_frame(&Event::Ready {
            protocol: PROTOCOL_VERSION,
            sandbox_uid: 100_000,
        });
        assert_eq!(check_hello(&hello[4..], "/a"), Ok(()));
    }

    #[test]
    fn another_version_names_both_and_the_rebuild_command() {
        // A newer agent whose hello has grown fields after the version.
        let newer = PROTOCOL_VERSION as u8 + 1;
        let payload = [0u8, newer, 0xde, 0xad, 0xbe, 0xef];
        let err = check_hello(&payload, "/x/warmrun-agent").unwrap_err();
        assert!(err.contains(&format!("protocol version {newer}")), "{err}");
        assert!(
            err.contains(&format!("version {PROTOCOL_VERSION}")),
            "{err}"
        );
        assert!(err.contains("bash scripts/build-agent.sh"), "{err}");
        assert!(err.contains("/x/warmrun-agent"), "{err}");
    }

    #[test]
    fn something_else_is_not_taken_for_an_agent() {
        let err = check_hello(b"\x05hello", "/a").unwrap_err();
        assert!(err.contains("not a hello"), "{err}");
        assert!(err.contains("bash scripts/build-agent.sh"), "{err}");
    }
}
