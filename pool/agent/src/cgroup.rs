//! Reads the container's own cgroup (mounted read-only by Docker) so that CPU time and OOM
//! kills come from the kernel rather than from guesses.

use std::fs;

/// Where this container's cgroup counters live, found once at start.
pub struct Cgroup {
    cpu_usage: Option<CpuSource>,
    oom_file: Option<&'static str>,
}

enum CpuSource {
    /// cgroup v1 `cpuacct.usage`, nanoseconds.
    V1(&'static str),
    /// cgroup v2 `cpu.stat` `usage_usec`.
    V2(&'static str),
}

impl Cgroup {
    /// Probes the v1 and v2 layouts.
    pub fn detect() -> Cgroup {
        let v1_cpu = [
            "/sys/fs/cgroup/cpuacct/cpuacct.usage",
            "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage",
        ];
        let cpu_usage = v1_cpu
            .into_iter()
            .find(|p| fs::metadata(p).is_ok())
            .map(CpuSource::V1)
            .or_else(|| {
                fs::metadata("/sys/fs/cgroup/cpu.stat")
                    .ok()
                    .map(|_| CpuSource::V2("/sys/fs/cgroup/cpu.stat"))
            });
        let oom_file = [
            "/sys/fs/cgroup/memory/memory.oom_control",
            "/sys/fs/cgroup/memory.events",
        ]
        .into_iter()
        .find(|p| read_key(p, "oom_kill").is_some());
        Cgroup {
            cpu_usage,
            oom_file,
        }
    }

    /// CPU time used by the whole container so far, in microseconds.
    pub fn cpu_usage_us(&self) -> Option<u64> {
        match self.cpu_usage.as_ref()? {
            CpuSource::V1(p) => fs::read_to_string(p)
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()
                .map(|ns| ns / 1000),
            CpuSource::V2(p) => read_key(p, "usage_usec"),
        }
    }

    /// How many processes the OOM killer has killed in this container so far.
    pub fn oom_kills(&self) -> Option<u64> {
        read_key(self.oom_file?, "oom_kill")
    }
}

/// Reads `key value` lines, the format of `memory.oom_control`, `memory.events`, `cpu.stat`.
fn read_key(path: &str, key: &str) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        (parts.next()? == key).then(|| parts.next()?.parse().ok())?
    })
}
