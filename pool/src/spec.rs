//! What a sandbox container looks like to Docker: isolation, limits and our labels
//! (made by `ownership.rs`).

use crate::catalog::Language;
use crate::config::{EngineConfig, Runtime};
use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, ResourcesUlimits};
use std::collections::HashMap;

pub use crate::ownership::{
    LABEL_BOOT, LABEL_INSTANCE, LABEL_LANGUAGE, LABEL_MANAGED, LABEL_NODE, LABEL_PID, LABEL_PIDNS,
};

/// Where the agent binary appears inside the container.
pub const AGENT_IN_CONTAINER: &str = "/opt/warmrun/agent";

/// Capabilities the agent keeps: switching to the sandbox uid for each step and for the
/// reset (setgroups/setresuid/setresgid). User code, running as that uid, has none.
pub const AGENT_CAPABILITIES: [&str; 2] = ["SETUID", "SETGID"];

/// Under gVisor the host's pids cgroup counts the sandbox kernel's own threads and the ptrace
/// platform's stub processes, not the guest's processes: about 5.5 host tasks per sleeping
/// guest process, and up to ~4,500 in all while a fork bomb churns against the guest's
/// process limit (measured with Debian's runsc 20221219). At the runc limit the sandbox
/// kernel panics ("error initializing first thread") as soon as a program starts a few dozen
/// processes or threads (rustc, a fork bomb), killing the container. gVisor enforces
/// RLIMIT_NPROC (`EngineConfig::processes`) on the guest itself, so the host limit only has
/// to stop a runaway sandbox kernel: this many times the configured one (8,192 by default).
/// Such sandboxes need a large `kernel.pid_max` (scripts/setup-docker.sh --runsc raises it).
pub const RUNSC_PIDS_FACTOR: i64 = 64;

/// The pids cgroup limit of a container under `config`'s runtime.
pub fn pids_limit(config: &EngineConfig) -> i64 {
    match config.runtime {
        Runtime::Runc => config.pids_limit,
        Runtime::Runsc => config.pids_limit.saturating_mul(RUNSC_PIDS_FACTOR),
    }
}

/// The body of `POST /containers/create` for one sandbox of `lang`.
pub fn container_body(
    lang: &Language,
    config: &EngineConfig,
    sandbox_uid: u32,
    memory_mb: u64,
    labels: HashMap<String, String>,
) -> ContainerCreateBody {
    let tmpfs = HashMap::from([
        (
            "/workspace".to_string(),
            format!(
                "rw,exec,nosuid,nodev,size={}m,uid={sandbox_uid},gid={sandbox_uid},mode=0755",
                config.workspace_mb
            ),
        ),
        (
            "/tmp".to_string(),
            format!("rw,exec,nosuid,nodev,size={}m,mode=1777", config.tmp_mb),
        ),
    ]);
    let memory = (memory_mb * 1024 * 1024) as i64;
    let file_size = (config.file_size_mb * 1024 * 1024) as i64;
    let host = HostConfig {
        binds: Some(vec![format!(
            "{}:{AGENT_IN_CONTAINER}:ro",
            config.agent_path.display()
        )]),
        network_mode: Some("none".into()),
        readonly_rootfs: Some(true),
        cap_drop: Some(vec!["ALL".into()]),
        cap_add: Some(AGENT_CAPABILITIES.iter().map(|c| c.to_string()).collect()),
        security_opt: Some(vec!["no-new-privileges".into()]),
        pids_limit: Some(pids_limit(config)),
        memory: Some(memory),
        memory_swap: Some(memory),
        nano_cpus: Some((config.cpus * 1e9) as i64),
        tmpfs: Some(tmpfs),
        shm_size: Some((config.shm_mb * 1024 * 1024) as i64),
        ulimits: Some(vec![
            ResourcesUlimits {
                name: Some("nofile".into()),
                soft: Some(1024),
                hard: Some(1024),
            },
            ResourcesUlimits {
                name: Some("fsize".into()),
                soft: Some(file_size),
                hard: Some(file_size),
            },
        ]),
        init: Some(true),
        runtime: Some(config.runtime.docker_name().into()),
        // Output travels over attach; nothing is worth keeping in Docker's logs.
        log_config: Some(HostConfigLogConfig {
            typ: Some("none".into()),
            config: None,
        }),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(lang.image.clone()),
        cmd: Some(vec![AGENT_IN_CONTAINER.into()]),
        env: Some(vec![format!("WARMRUN_SANDBOX_UID={sandbox_uid}")]),
        labels: Some(labels),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(false),
        tty: Some(false),
        working_dir: Some("/workspace".into()),
        // No libnetwork sandbox at all (the container still gets its own network namespace
        // with only `lo`, as with "none"): without it Docker skips its `libnetwork-setkey`
        // prestart hook, a re-exec of the whole dockerd binary per container that cost half
        // of a creation's machine CPU here (≈190 of ≈390 ms, perf; benches/density.rs).
        network_disabled: Some(true),
        host_config: Some(host),
        ..Default::default()
    }
}
