//! Reads the container's own cgroup (mounted read-only by Docker) so that CPU time and OOM
//! kills come from the kernel rather than from guesses.
//!
//! Under gVisor (runsc) no cgroup files are visible inside the sandbox. CPU time then comes
//! from /proc: what every process of the container has used, plus what the reaped ones used
//! (their parents' `cutime`/`cstime`, docker-init's included, so detached processes count
//! too). The OOM counter has no such substitute: a program that exhausts the memory limit
//! under gVisor takes the whole sandbox with it, and the pool reads Docker's `OOMKilled`
//! flag of the dead container instead.

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
    /// No cgroup (gVisor): the sum over /proc, see [`procfs_cpu_us`].
    Procfs,
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
            })
            .or_else(|| procfs_cpu_us().map(|_| CpuSource::Procfs));
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
            CpuSource::Procfs => procfs_cpu_us(),
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

/// CPU time used in the container's PID namespace so far, in microseconds, from /proc: every
/// process's own time and its reaped children's, except the agent's own time (only its
/// children's, the programs it ran) and docker-init's own time (only the orphans it reaped).
fn procfs_cpu_us() -> Option<u64> {
    // SAFETY: sysconf has no preconditions.
    let tick = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        t if t > 0 => t as u64,
        _ => 100,
    };
    let me = std::process::id();
    let mut ticks = 0;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue; // gone meanwhile
        };
        let Some((own, children)) = stat_ticks(&stat) else {
            continue;
        };
        ticks += if pid == me || pid == 1 {
            children
        } else {
            own + children
        };
    }
    Some(ticks * 1_000_000 / tick)
}

/// A process's own CPU ticks (utime + stime) and its reaped children's (cutime + cstime)
/// from its /proc/PID/stat line: fields 14-17, counted after the command name, which may hold
/// spaces and parentheses.
fn stat_ticks(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    (f.len() == 4).then(|| (f[0] + f[1], f[2] + f[3]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn stat_line_fields() {
        let line = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 11 13 20 0 1 0 5 0 0";
        assert_eq!(super::stat_ticks(line), Some((10, 24)));
        assert_eq!(super::stat_ticks("garbage"), None);
    }

    #[test]
    fn reaped_children_count() {
        let ours = || {
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
            super::stat_ticks(&stat).unwrap().1
        };
        let before = ours();
        // Burn CPU in a child process, which is reaped: its time lands in our cutime.
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(ours() > before);
        assert!(super::procfs_cpu_us().is_some());
    }
}
