//! The Docker implementation of [`Backend`]: containers over the Engine API, the agent's stdio
//! over attach.

use crate::backend::{Attached, Backend, ContainerState, CreateSpec, Managed};
use crate::error::PoolError;
use crate::ownership::LABEL_MANAGED;
use crate::spec;
use async_trait::async_trait;
use bollard::container::LogOutput;
use bollard::models::{ContainerSummaryStateEnum, ContainerUpdateBody};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, EventsOptionsBuilder,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::{ClientVersion, Docker};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_util::io::StreamReader;
use tracing::{debug, warn};

/// Connects to the local Docker engine (`DOCKER_HOST` or the default socket), speaking an API
/// version the engine supports (Debian's Docker 20.10 stops at 1.41).
pub async fn connect_docker() -> Result<Docker, PoolError> {
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".into());
    let docker = Docker::connect_with_unix(
        &socket,
        120,
        &ClientVersion {
            major_version: 1,
            minor_version: 41,
        },
    )?;
    let docker = docker.negotiate_version().await?;
    docker.ping().await?;
    Ok(docker)
}

/// Sandbox containers on a Docker engine.
pub struct DockerBackend {
    docker: Docker,
}

impl DockerBackend {
    pub fn new(docker: Docker) -> DockerBackend {
        DockerBackend { docker }
    }

    async fn attach_and_start(&self, id: &str, name: &str) -> Result<Attached, PoolError> {
        let attach = self
            .docker
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
        self.docker.start_container(id, None).await?;
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
        Ok(Attached {
            id: id.to_string(),
            stdout: Box::pin(StreamReader::new(Box::pin(agent_stdout))),
            stdin: attach.input,
        })
    }

    /// Whether the daemon recorded an `oom` event of container `id` from `since` until now.
    async fn oom_event_since(&self, id: &str, since: std::time::SystemTime) -> bool {
        let secs = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64()
        };
        let filters = HashMap::from([
            ("container", vec![id]),
            ("type", vec!["container"]),
            ("event", vec!["oom"]),
        ]);
        let options = EventsOptionsBuilder::default()
            // A second of slack: the daemon's and our clocks are the same, its timestamps
            // are rounded.
            .since(&format!("{:.3}", secs(since) - 1.0))
            .until(&format!("{:.3}", secs(std::time::SystemTime::now()) + 1.0))
            .filters(&filters)
            .build();
        // With `until` in the past the stream ends by itself; the timeout is for a slow daemon.
        let first = tokio::time::timeout(
            Duration::from_secs(3),
            self.docker.events(Some(options)).next(),
        )
        .await;
        matches!(first, Ok(Some(Ok(_))))
    }
}

#[async_trait]
impl Backend for DockerBackend {
    async fn create(&self, spec: &CreateSpec<'_>) -> Result<Attached, PoolError> {
        let body = spec::container_body(
            spec.language,
            spec.config,
            spec.sandbox_uid,
            spec.memory_mb,
            spec.labels.clone(),
        );
        let created = self
            .docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::default()
                        .name(spec.name)
                        .build(),
                ),
                body,
            )
            .await?;
        match self.attach_and_start(&created.id, spec.name).await {
            Ok(a) => Ok(a),
            Err(e) => {
                self.remove(&created.id).await;
                Err(e)
            }
        }
    }

    async fn set_memory(&self, id: &str, memory_mb: u64) -> Result<(), PoolError> {
        let bytes = (memory_mb * 1024 * 1024) as i64;
        // Swap equal to memory: a program cannot swap its way past the limit.
        let body = ContainerUpdateBody {
            memory: Some(bytes),
            memory_swap: Some(bytes),
            ..Default::default()
        };
        self.docker.update_container(id, body).await?;
        Ok(())
    }

    /// Docker's `State.OOMKilled` is unreliable: it is set only when containerd's OOM event
    /// reaches the daemon before the exit event (Docker 20.10 even hands a late one to the
    /// next container that exits). The daemon's `oom` event of the container is recorded
    /// either way, so this looks for that too, from `since` on. It waits for the container
    /// to stop, then a little longer for the event; a slow daemon (one inspect timing out)
    /// is asked again rather than taken for "no".
    async fn oom_killed(&self, id: &str, since: std::time::SystemTime) -> bool {
        const WAIT: Duration = Duration::from_secs(10);
        const AFTER_EXIT: Duration = Duration::from_millis(1500);
        let started = Instant::now();
        let mut stopped_at: Option<Instant> = None;
        while started.elapsed() < WAIT {
            let inspect = self.docker.inspect_container(id, None);
            match tokio::time::timeout(Duration::from_secs(5), inspect).await {
                Ok(Ok(c)) => {
                    let state = c.state.unwrap_or_default();
                    if state.oom_killed == Some(true) {
                        return true;
                    }
                    if state.running != Some(true) {
                        if self.oom_event_since(id, since).await {
                            return true;
                        }
                        let at = *stopped_at.get_or_insert_with(Instant::now);
                        if at.elapsed() >= AFTER_EXIT {
                            return false;
                        }
                    }
                }
                // Gone: nothing more to learn.
                Ok(Err(_)) => return false,
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    async fn remove(&self, id: &str) {
        remove(&self.docker, id).await
    }

    async fn list_managed(&self) -> Result<Vec<Managed>, PoolError> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL_MANAGED}=true")])]);
        let list = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let state = match c.state {
                    Some(ContainerSummaryStateEnum::CREATED) => ContainerState::Created,
                    Some(ContainerSummaryStateEnum::RUNNING) => ContainerState::Running,
                    Some(ContainerSummaryStateEnum::EXITED) => ContainerState::Exited,
                    Some(ContainerSummaryStateEnum::DEAD) => ContainerState::Dead,
                    _ => ContainerState::Other,
                };
                Some(Managed {
                    id: c.id?,
                    labels: c.labels.unwrap_or_default(),
                    state,
                    created: c.created.unwrap_or_default(),
                })
            })
            .collect())
    }

    async fn image_present(&self, image: &str) -> bool {
        self.docker.inspect_image(image).await.is_ok()
    }

    async fn image_id(&self, image: &str) -> Option<String> {
        self.docker.inspect_image(image).await.ok()?.id
    }

    async fn ping(&self) -> Result<(), PoolError> {
        self.docker.ping().await?;
        Ok(())
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
