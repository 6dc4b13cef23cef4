//! One sandbox container and the framed link to its agent over the attached stdio.

use crate::catalog::Language;
use crate::config::EngineConfig;
use crate::error::PoolError;
use crate::spec;
use agent::{Event, Request};
use bollard::container::LogOutput;
use bollard::models::ContainerUpdateBody;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};
use tokio_util::io::StreamReader;
use tracing::{debug, warn};

/// Sandbox uids are unique per container so that per-uid kernel limits (RLIMIT_NPROC)
/// of one container never count another's processes.
static NEXT_UID: AtomicU32 = AtomicU32::new(0);
const UID_BASE: u32 = 100_000;
const UID_SPAN: u32 = 1 << 20;

/// A running sandbox container whose agent reported ready.
pub struct Container {
    /// Docker's id.
    pub id: String,
    /// Docker's name (`warmrun-<instance>-<lang>-<n>`).
    pub name: String,
    /// The uid user code runs as.
    pub sandbox_uid: u32,
    /// The container's current memory limit.
    pub memory_mb: u64,
    /// Runs served so far.
    pub uses: u32,
    /// When the container became ready.
    pub created_at: Instant,
    docker: Docker,
    requests: mpsc::UnboundedSender<Request>,
    events: mpsc::UnboundedReceiver<Event>,
    alive: Arc<AtomicBool>,
    tasks: [JoinHandle<()>; 2],
    removed: bool,
    /// Its place in the engine's container budget (taken over by a replacement).
    budget: Option<OwnedSemaphorePermit>,
}

impl Container {
    /// Creates, attaches and starts a container, and waits for its agent's first `Ready`.
    pub async fn create(
        docker: &Docker,
        lang: &Language,
        config: &EngineConfig,
        budget: OwnedSemaphorePermit,
    ) -> Result<Container, PoolError> {
        Self::create_with_memory(docker, lang, config, budget, lang.limits.memory_mb).await
    }

    /// [`Container::create`] with a memory limit other than the language's default.
    pub async fn create_with_memory(
        docker: &Docker,
        lang: &Language,
        config: &EngineConfig,
        budget: OwnedSemaphorePermit,
        memory_mb: u64,
    ) -> Result<Container, PoolError> {
        let n = NEXT_UID.fetch_add(1, Ordering::Relaxed);
        let sandbox_uid = UID_BASE + (std::process::id() * 7919 + n) % UID_SPAN;
        let name = format!(
            "warmrun-{}-{}-{}-{n}",
            config.instance,
            lang.id,
            std::process::id()
        );
        let body = spec::container_body(lang, config, sandbox_uid, memory_mb);
        let created = docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(&name).build()),
                body,
            )
            .await?;
        let id = created.id;
        match Self::attach_and_start(docker, &id, &name, sandbox_uid, lang, budget).await {
            Ok(mut c) => {
                c.memory_mb = memory_mb;
                let timeout = Duration::from_millis(config.create_timeout_ms);
                match c.wait_ready(timeout).await {
                    Ok(()) => Ok(c),
                    Err(e) => {
                        c.destroy().await;
                        Err(e)
                    }
                }
            }
            Err(e) => {
                remove(docker, &id).await;
                Err(e)
            }
        }
    }

    async fn attach_and_start(
        docker: &Docker,
        id: &str,
        name: &str,
        sandbox_uid: u32,
        lang: &Language,
        budget: OwnedSemaphorePermit,
    ) -> Result<Container, PoolError> {
        // Attach before starting so that the agent's first frame cannot be missed.
        let attach = docker
            .attach_container(
                id,
                Some(
                    AttachContainerOptionsBuilder::default()
                        .stdin(true)
                        .stdout(true)
                        .stderr(true)
                        .stream(true)
                        .build(),
                ),
            )
            .await?;
        docker.start_container(id, None).await?;
        let alive = Arc::new(AtomicBool::new(true));
        let (events_tx, events) = mpsc::unbounded_channel();
        let (requests, mut requests_rx) = mpsc::unbounded_channel::<Request>();

        let log_name = name.to_string();
        let agent_stdout = attach.output.filter_map(move |item| {
            let out = match item {
                Ok(LogOutput::StdOut { message }) => Some(Ok(message)),
                Ok(LogOutput::StdErr { message }) => {
                    debug!(container = %log_name, "agent: {}", String::from_utf8_lossy(&message).trim_end());
                    None
                }
                Ok(_) => None,
                Err(e) => Some(Err(std::io::Error::other(e))),
            };
            std::future::ready(out)
        });
        let codec = LengthDelimitedCodec::builder()
            .little_endian()
            .length_field_length(4)
            .max_frame_length(agent::MAX_FRAME_BYTES)
            .new_codec();
        let mut frames = FramedRead::new(StreamReader::new(Box::pin(agent_stdout)), codec);
        let reader_alive = alive.clone();
        let reader_name = name.to_string();
        let reader = tokio::spawn(async move {
            while let Some(frame) = frames.next().await {
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
        let mut input = attach.input;
        let writer_alive = alive.clone();
        let writer = tokio::spawn(async move {
            while let Some(req) = requests_rx.recv().await {
                let frame = agent::encode_frame(&req);
                if input.write_all(&frame).await.is_err() || input.flush().await.is_err() {
                    break;
                }
            }
            writer_alive.store(false, Ordering::SeqCst);
        });
        Ok(Container {
            id: id.to_string(),
            name: name.to_string(),
            sandbox_uid,
            memory_mb: lang.limits.memory_mb,
            uses: 0,
            created_at: Instant::now(),
            docker: docker.clone(),
            requests,
            events,
            alive,
            tasks: [reader, writer],
            removed: false,
            budget: Some(budget),
        })
    }

    /// Whether the link to the agent is still up (it drops when the container dies).
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Whether Docker saw the kernel's OOM killer act in this container (`State.OOMKilled`).
    /// Under gVisor a program that exhausts the memory limit takes the whole sandbox with it,
    /// and this is how the run still gets its `memory_limit` verdict.
    /// Docker records the flag once it has seen the container exit, which may come a moment
    /// after the agent's link broke: this waits up to 3 s for that.
    pub async fn oom_killed(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let inspect = self.docker.inspect_container(&self.id, None);
            let state = match tokio::time::timeout(Duration::from_secs(3), inspect).await {
                Ok(Ok(c)) => c.state.unwrap_or_default(),
                _ => return false,
            };
            if state.oom_killed == Some(true) {
                return true;
            }
            if state.running != Some(true) || Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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

    /// Changes the container's memory limit (memory + swap alike) if it differs.
    pub async fn set_memory(&mut self, memory_mb: u64) -> Result<(), PoolError> {
        if memory_mb == self.memory_mb {
            return Ok(());
        }
        let bytes = (memory_mb * 1024 * 1024) as i64;
        // Swap equal to memory: a program cannot swap its way past the limit.
        let body = ContainerUpdateBody {
            memory: Some(bytes),
            memory_swap: Some(bytes),
            ..Default::default()
        };
        self.docker.update_container(&self.id, body).await?;
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
        let permit = self.budget.take().ok_or_else(|| {
            PoolError::Sandbox(format!("{}: no budget left to replace it", self.name))
        })?;
        let docker = self.docker.clone();
        let mut fresh =
            Container::create_with_memory(&docker, lang, config, permit, memory_mb).await?;
        fresh.uses = self.uses;
        std::mem::replace(self, fresh).destroy().await;
        Ok(())
    }

    /// Removes the container for good.
    pub async fn destroy(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        remove(&self.docker, &self.id).await;
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
                let (docker, id) = (self.docker.clone(), self.id.clone());
                rt.spawn(async move { remove(&docker, &id).await });
            }
        }
    }
}

/// Force-removes a container, logging (not failing) when Docker refuses.
pub async fn remove(docker: &Docker, id: &str) {
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    if let Err(e) = docker.remove_container(id, Some(opts)).await {
        // 404: already gone; 409: a removal is already under way.
        if !matches!(
            e,
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            }
        ) {
            warn!(container = %id, "removing container failed: {e}");
        }
    }
}
