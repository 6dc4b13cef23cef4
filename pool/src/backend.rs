//! The container runtime as the pools see it: make a sandbox container running the agent with
//! its stdio attached, change its memory limit, remove it, list the managed ones. Docker is
//! the real one (`docker.rs`); unit tests run the pools on a fake, without a daemon.

use crate::catalog::Language;
use crate::config::EngineConfig;
use crate::error::PoolError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncWrite};

/// What to create: one sandbox container of a language.
pub struct CreateSpec<'a> {
    /// The container's name.
    pub name: &'a str,
    pub language: &'a Language,
    pub config: &'a EngineConfig,
    /// The uid user code runs as.
    pub sandbox_uid: u32,
    pub memory_mb: u64,
    /// Ownership labels (`io.warmrun.*`).
    pub labels: HashMap<String, String>,
}

/// A started container with the agent's stdio: frames go in on `stdin` and come out of
/// `stdout`.
pub struct Attached {
    pub id: String,
    pub stdout: Pin<Box<dyn AsyncRead + Send>>,
    pub stdin: Pin<Box<dyn AsyncWrite + Send>>,
}

/// A container's lifecycle state as the runtime reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Exited,
    Dead,
    /// Paused, restarting, being removed.
    Other,
}

/// A container carrying the managed label, whoever owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Managed {
    pub id: String,
    pub labels: HashMap<String, String>,
    pub state: ContainerState,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
}

/// A container runtime.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Creates and starts a container running the agent, attached before the start so that
    /// the agent's first frame cannot be missed. A container whose start failed is removed.
    async fn create(&self, spec: &CreateSpec<'_>) -> Result<Attached, PoolError>;

    /// Changes a container's memory limit (memory + swap alike).
    async fn set_memory(&self, id: &str, memory_mb: u64) -> Result<(), PoolError>;

    /// Whether the kernel's OOM killer acted in the container since `since` (waiting briefly
    /// for the runtime to notice that it exited).
    async fn oom_killed(&self, id: &str, since: std::time::SystemTime) -> bool;

    /// Force-removes a container; gone already is fine.
    async fn remove(&self, id: &str);

    /// Every managed container on the runtime, of any owner and in any state.
    async fn list_managed(&self) -> Result<Vec<Managed>, PoolError>;

    /// Whether the image exists locally.
    async fn image_present(&self, image: &str) -> bool;

    /// The image's id (its content digest), when the runtime tells: part of the compile
    /// cache's keys, so that a rebuilt image does not reuse compiles of the old one.
    async fn image_id(&self, _image: &str) -> Option<String> {
        None
    }

    /// Whether the runtime answers.
    async fn ping(&self) -> Result<(), PoolError>;
}
