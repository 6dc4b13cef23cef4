//! Engine-wide settings: the container runtime, budgets, sandbox sizes, limit maxima.

use crate::catalog::Limits;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The OCI runtime containers run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// Docker's default runc.
    #[default]
    Runc,
    /// gVisor's runsc (must be registered in Docker's daemon.json).
    Runsc,
}

impl Runtime {
    /// The runtime's name as Docker knows it.
    pub fn docker_name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Runsc => "runsc",
        }
    }
}

/// Settings of the execution engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Names this engine's containers (label `io.warmrun.instance`); a start removes the
    /// containers a previous process of the same instance left.
    pub instance: String,
    /// The engine's node id, stable across its restarts and unique among the engines sharing
    /// a Docker daemon (label `io.warmrun.node`): a start removes the containers its node's
    /// earlier engine left, and engines of other nodes remove them once the owner-liveness
    /// oracle says that node's engine is gone. Empty (the default): the instance name.
    pub node_id: String,
    /// How often the janitor removes dead containers of this engine and those of engines that
    /// are gone (at most 10 s, so that a dead engine's containers go within a minute).
    pub janitor_interval_ms: u64,
    /// This start's id on the container labels (`io.warmrun.boot`); empty: a random one.
    /// A server sets it to the boot id of its heartbeats, so that other nodes can ask the
    /// shared database whether the owner of a container is alive.
    #[serde(default)]
    pub boot_id: String,
    /// Path of the static agent binary on the Docker host, bind-mounted read-only.
    pub agent_path: PathBuf,
    pub runtime: Runtime,
    /// Containers across all languages at most. Default: from the host's memory and CPUs
    /// (`sizing::default_max_containers`: half the memory at 256 MiB a container, at most
    /// 16 per CPU, at least 4).
    pub max_containers: usize,
    /// Pools size themselves (sizing.rs): each keeps a warm target that follows its recent
    /// arrivals, lease times and misses, within the catalog's `min_idle` (the floor) and
    /// `max`, and trims idle containers above it. Off: each keeps `min_idle` idle ones.
    pub autosize: bool,
    /// Sliding window (time constant) of the autosizing rule over arrivals and peaks.
    pub autosize_window_ms: u64,
    /// The warm target steps down by one container at most this often, and idle containers
    /// above it are removed at most this often.
    pub autosize_shrink_ms: u64,
    /// Uses before a container is replaced (1 = single-use). Every reset already kills the
    /// sandbox's processes and wipes what it can write (the root file system is read-only);
    /// retirement renews what a reset cannot reach. A new container costs about as much
    /// machine CPU as fifteen Python runs, so the default (1000) keeps renewal near 1 % of
    /// the CPU, where 100 made it about a seventh (load-tests/README.md).
    pub max_uses: u32,
    /// How long a lease may wait in the queue.
    pub lease_timeout_ms: u64,
    /// How long creating a container (until its agent is ready) may take.
    pub create_timeout_ms: u64,
    /// How long a reset may take before the container is destroyed.
    pub reset_timeout_ms: u64,
    /// Waiting leases per language at most; more are refused.
    pub queue_capacity: usize,
    /// Containers being created at once at most, across languages.
    pub max_concurrent_creates: usize,
    /// CPUs per container (fractions allowed).
    pub cpus: f64,
    pub pids_limit: i64,
    /// Processes the sandbox uid may have (RLIMIT_NPROC), below `pids_limit`.
    pub processes: u64,
    pub open_files: u64,
    pub workspace_mb: u64,
    pub tmp_mb: u64,
    pub shm_mb: u64,
    /// Largest file a program may write.
    pub file_size_mb: u64,
    /// The most a client may ask for, per field.
    pub max_limits: Limits,
    /// Keep interpreters prestarted for languages whose catalog entry names a zygote.
    pub zygotes: bool,
    /// With `zygotes`: one fork server per container instead of an interpreter started after
    /// every reset (Python; see the agent's fork_server.rs). Off: today's zygote.
    pub fork_server: bool,
    /// Files of `/workspace/output` a run gives back at most (0: none, and no such
    /// directory is made).
    pub artifacts_max_files: u32,
    /// Bytes of those files together at most (capped at 32 MiB).
    pub artifacts_max_bytes: u64,
    /// Size bound of the compile cache (see `compile_cache.rs`) in MiB; 0 turns it off.
    pub compile_cache_mib: u64,
    /// Directory of the compile cache; empty: `warmrun-compile-cache/<node id>` in the
    /// system's temporary directory.
    pub compile_cache_dir: PathBuf,
}

impl EngineConfig {
    /// The node id in effect: `node_id`, or the instance name when it is empty.
    pub fn effective_node_id(&self) -> &str {
        if self.node_id.is_empty() {
            &self.instance
        } else {
            &self.node_id
        }
    }

    /// The compile cache's directory in effect (one per node).
    pub fn effective_compile_cache_dir(&self) -> PathBuf {
        if self.compile_cache_dir.as_os_str().is_empty() {
            std::env::temp_dir()
                .join("warmrun-compile-cache")
                .join(self.effective_node_id())
        } else {
            self.compile_cache_dir.clone()
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            instance: "default".into(),
            node_id: String::new(),
            janitor_interval_ms: 10_000,
            boot_id: String::new(),
            agent_path: PathBuf::from("/var/cache/warmrun-build/agent/warmrun-agent"),
            runtime: Runtime::Runc,
            max_containers: crate::sizing::host_max_containers(),
            autosize: true,
            autosize_window_ms: 60_000,
            autosize_shrink_ms: 15_000,
            max_uses: 1000,
            lease_timeout_ms: 30_000,
            create_timeout_ms: 30_000,
            reset_timeout_ms: 5_000,
            queue_capacity: 64,
            max_concurrent_creates: 4,
            cpus: 1.0,
            pids_limit: 128,
            processes: 96,
            open_files: 256,
            workspace_mb: 64,
            tmp_mb: 64,
            shm_mb: 16,
            file_size_mb: 32,
            max_limits: Limits {
                wall_ms: 60_000,
                cpu_ms: 30_000,
                memory_mb: 1024,
                output_kb: 4096,
                compile_wall_ms: 60_000,
                idle_ms: 1_800_000,
            },
            zygotes: true,
            fork_server: true,
            artifacts_max_files: 10,
            artifacts_max_bytes: 4 * 1024 * 1024,
            compile_cache_mib: 256,
            compile_cache_dir: PathBuf::new(),
        }
    }
}
