//! Memory of one idle warm container per language, from its memory cgroup (cgroup v1).
//!
//!   cargo run --release -p benches --bin container_memory
//!
//! Starts its own release `warmrun-server` on the full catalog (min_idle containers per
//! language), waits for the pools, and for one idle container of each language reads
//! /sys/fs/cgroup/memory/docker/<id>/memory.usage_in_bytes and memory.stat (rss, cache,
//! shmem: tmpfs pages count as cache), what `docker stats` shows (usage − inactive file),
//! the RSS and PSS (shared pages divided among their users) of the processes inside
//! (agent + docker-init) and of the container's containerd-shim on the host: the shim is
//! outside the container's cgroup but exists once per container. Then runs a python hello world three times and measures
//! again after the reset, and prints the server's own RSS for the ratio.

#[path = "../ops_common.rs"]
mod ops_common;

use ops_common::*;
use std::collections::BTreeMap;
use std::time::Duration;

struct Mem {
    usage: u64,
    stat: BTreeMap<String, u64>,
    procs_rss: u64,
    procs_pss: u64,
    shim_rss: u64,
    shim_pss: u64,
}

/// Pss of a process (its private pages plus its share of shared ones), bytes.
fn pss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

fn read_mem(id: &str) -> Mem {
    let dir = format!("/sys/fs/cgroup/memory/docker/{id}");
    let usage = std::fs::read_to_string(format!("{dir}/memory.usage_in_bytes"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("{dir}/memory.stat"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect();
    let pids: Vec<u32> = std::fs::read_to_string(format!("{dir}/cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|p| p.trim().parse::<u32>().ok())
        .collect();
    let shim = shim_pid(id);
    Mem {
        usage,
        stat,
        procs_rss: pids
            .iter()
            .map(|&p| proc_status_kib(p, "VmRSS") * 1024)
            .sum(),
        procs_pss: pids.iter().map(|&p| pss(p)).sum(),
        shim_rss: shim
            .map(|p| proc_status_kib(p, "VmRSS") * 1024)
            .unwrap_or(0),
        shim_pss: shim.map(pss).unwrap_or(0),
    }
}

/// The containerd-shim whose command line names the container.
fn shim_pid(id: &str) -> Option<u32> {
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd);
        if cmd.contains("containerd-shim") && cmd.contains(id) {
            return Some(pid);
        }
    }
    None
}

fn mib(b: u64) -> f64 {
    b as f64 / 1048576.0
}

fn row(lang: &str, m: &Mem) {
    let s = |k: &str| *m.stat.get(k).unwrap_or(&0);
    let docker_stats = m.usage.saturating_sub(s("total_inactive_file"));
    println!(
        "  {lang:<11} {:9.2} {:8.2} {:6.2} {:6.2} {:12.2} {:6.2} /{:5.2} {:6.2} /{:5.2}",
        mib(m.usage),
        mib(s("total_rss")),
        mib(s("total_cache")),
        mib(s("total_shmem")),
        mib(docker_stats),
        mib(m.procs_rss),
        mib(m.procs_pss),
        mib(m.shim_rss),
        mib(m.shim_pss)
    );
}

const HEADER: &str =
    "  language    usage MiB  rss MiB  cache  shmem  docker-stats  procs RSS/PSS  shim RSS/PSS";

fn main() {
    let server = Server::start("benchctr", "[rate_limit]\nper_ip_per_s = 0\n", None);
    std::thread::sleep(Duration::from_secs(3));
    let (_, langs) = get(server.port, "/api/v1/languages").expect("languages");
    let langs: serde_json::Value = serde_json::from_str(&langs).expect("JSON");
    let ids: Vec<String> = langs
        .as_array()
        .or_else(|| langs["languages"].as_array())
        .expect("language list")
        .iter()
        .filter_map(|l| l["id"].as_str().map(String::from))
        .collect();
    println!("Idle warm containers, fresh (memory cgroup v1; MiB = 2^20 bytes):");
    println!("{HEADER}");
    let mut python_fresh = 0;
    let mut usages = Vec::new();
    for lang in &ids {
        let Some(id) = server.containers(lang).into_iter().next() else {
            println!("  {lang:<11} (no container)");
            continue;
        };
        let m = read_mem(&id);
        if lang == "python" {
            python_fresh = m.usage;
        }
        usages.push(m.usage);
        row(lang, &m);
    }
    // docker stats' own figure for one python container, as a cross-check.
    if let Some(id) = server.containers("python").into_iter().next() {
        let out = std::process::Command::new("docker")
            .args(["stats", "--no-stream", "--format", "{{.MemUsage}}", &id])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        println!("  docker stats --no-stream (python): {out}");
    }
    for _ in 0..3 {
        let (status, body) = post_json(
            server.port,
            "/api/v1/runs",
            r#"{"language":"python","code":"print('hello')"}"#,
        )
        .expect("POST");
        assert_eq!(status, 200, "{body}");
    }
    std::thread::sleep(Duration::from_secs(1));
    println!("python containers after 3 hello-world runs and their resets:");
    println!("{HEADER}");
    for id in server.containers("python") {
        row("python", &read_mem(&id));
    }
    let server_rss = server.rss_kib() * 1024;
    let py = server
        .containers("python")
        .into_iter()
        .next()
        .map(|id| read_mem(&id));
    usages.sort();
    let median = usages.get(usages.len() / 2).copied().unwrap_or(0);
    println!("ratios:");
    println!(
        "  python idle container {:.2} MiB; median over languages {:.2} MiB; all {} idle containers {:.1} MiB",
        mib(python_fresh),
        mib(median),
        usages.len(),
        mib(usages.iter().sum())
    );
    if let Some(m) = py {
        let total = m.usage + m.shim_pss;
        println!(
            "  with its containerd-shim (PSS {:.2} MiB) one idle python container costs {:.2} MiB: the shim is {:.0}% of it",
            mib(m.shim_pss),
            mib(total),
            100.0 * m.shim_pss as f64 / total.max(1) as f64
        );
    }
    println!(
        "  warmrun-server RSS {:.1} MiB = {:.1} idle python containers (cgroup usage)",
        mib(server_rss),
        server_rss as f64 / python_fresh.max(1) as f64
    );
    drop(server);
}
