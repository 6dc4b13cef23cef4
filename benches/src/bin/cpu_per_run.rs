//! CPU time per Python hello-world run through a warm container, against the host's own
//! `/usr/bin/python3 -c` start-up, counted as load-tests/cpu_sample.py counts it: the sandbox
//! container's cpuacct cgroup (agent, fork server or interpreter, resets), this process (the
//! engine), and the Docker daemons that carry the agent's stdio (dockerd, containerd,
//! containerd-shim); the machine's busy time (/proc/stat) beside it, which other jobs on the
//! machine disturb.
//!
//! ```text
//! cargo run --release -p benches --bin cpu_per_run -- [runs per round] [rounds]
//! WARMRUN_FORK_SERVER=0 …   # the zygote;   WARMRUN_ZYGOTES=0 …   # plain interpreter starts
//! ```
//! Linux, cgroup v1 (Docker's cgroupfs driver), runc, root.

#[path = "../ops_common.rs"]
mod ops_common;

use pool::{Catalog, Engine, EngineConfig, File, RunRequest, Verdict};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const HELLO: &str = "print(\"hello from warmrun\")";

/// CPU seconds so far of processes named like the Docker daemons, and of this process.
fn daemons_and_self() -> (f64, f64) {
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let me = std::process::id().to_string();
    let (mut daemons, mut own) = (0.0, 0.0);
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{name}/stat")) else {
            continue;
        };
        let Some(open) = stat.find('(') else { continue };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let cpu =
            (f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0)) / tick;
        if name == me {
            own = cpu;
        } else if matches!(comm, "dockerd" | "containerd" | "containerd-shim")
            || comm.starts_with("containerd-shim")
        {
            daemons += cpu;
        }
    }
    (daemons, own)
}

/// CPU seconds of the containers of `instance` (their cpuacct cgroups).
fn containers(ids: &[String]) -> f64 {
    ids.iter()
        .filter_map(|id| {
            std::fs::read_to_string(format!("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage"))
                .ok()
        })
        .map(|ns| ns.trim().parse::<f64>().unwrap_or(0.0) / 1e9)
        .sum()
}

fn ids(instance: &str) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args([
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("label=io.warmrun.instance={instance}"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

struct Sample {
    counted: f64,
    sandbox: f64,
    machine: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let runs = args.first().copied().unwrap_or(100);
    let rounds = args.get(1).copied().unwrap_or(5);
    let config = EngineConfig {
        instance: format!("cpubench-{}", std::process::id()),
        zygotes: std::env::var("WARMRUN_ZYGOTES").as_deref() != Ok("0"),
        fork_server: std::env::var("WARMRUN_FORK_SERVER").as_deref() != Ok("0"),
        // One container throughout, so its cgroup counts every run.
        max_uses: 1_000_000,
        agent_path: std::env::var_os("WARMRUN_AGENT")
            .map(PathBuf::from)
            .unwrap_or_else(|| EngineConfig::default().agent_path),
        ..Default::default()
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../images/languages.toml");
    let mut catalog = Catalog::load(&path).unwrap();
    catalog.languages.retain(|l| l.id.as_str() == "python");
    for l in &mut catalog.languages {
        l.pool.min_idle = 1;
        l.pool.max = 1;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let registry = prometheus::Registry::new();
    let engine: Engine = rt.block_on(async {
        let engine = Engine::start(config.clone(), catalog, &registry)
            .await
            .expect("engine starts");
        while engine.readiness().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        engine
    });
    let ids = ids(&config.instance);
    let one = |engine: &Engine| {
        rt.block_on(async {
            let r = engine
                .execute(RunRequest {
                    language: "python".into(),
                    files: vec![File {
                        name: String::new(),
                        content: HELLO.into(),
                    }],
                    close_stdin: true,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(r.outcome.exit.verdict, Verdict::Ok);
        })
    };
    for _ in 0..20 {
        one(&engine);
    }
    let mut warm = Vec::new();
    let mut host = Vec::new();
    for _ in 0..rounds {
        // Warm runs, one after another (each waits for the previous reset).
        let (d0, s0, c0, m0) = {
            let (d, s) = daemons_and_self();
            (d, s, containers(&ids), ops_common::machine_busy_s())
        };
        for _ in 0..runs {
            one(&engine);
        }
        // The last reset (and the server's next start, with the zygote) ends off the latency
        // path: let it finish before reading.
        std::thread::sleep(Duration::from_millis(300));
        let (d1, s1) = daemons_and_self();
        let (c1, m1) = (containers(&ids), ops_common::machine_busy_s());
        warm.push(Sample {
            counted: ((d1 - d0) + (s1 - s0) + (c1 - c0)) / runs as f64,
            sandbox: (c1 - c0) / runs as f64,
            machine: (m1 - m0) / runs as f64,
        });
        // The host's own interpreter, the same number of times.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
        let cpu = |u: &libc::rusage| {
            u.ru_utime.tv_sec as f64
                + u.ru_utime.tv_usec as f64 / 1e6
                + u.ru_stime.tv_sec as f64
                + u.ru_stime.tv_usec as f64 / 1e6
        };
        let before = cpu(&usage);
        let m0 = ops_common::machine_busy_s();
        let t0 = Instant::now();
        for _ in 0..runs {
            let out = std::process::Command::new("/usr/bin/python3")
                .args(["-c", "print(\"hello\")"])
                .output()
                .unwrap();
            assert!(out.status.success());
        }
        let _ = t0.elapsed();
        let m1 = ops_common::machine_busy_s();
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
        host.push(Sample {
            counted: (cpu(&usage) - before) / runs as f64,
            sandbox: 0.0,
            machine: (m1 - m0) / runs as f64,
        });
    }
    let ms = |v: f64| v * 1000.0;
    println!(
        "python hello world, {runs} runs × {rounds} rounds; zygotes {}, fork server {}",
        config.zygotes, config.fork_server
    );
    println!(
        "warm run: counted (container + engine + docker daemons) {:.2} ms CPU/run (median), sandbox container {:.2} ms, machine busy {:.2} ms",
        ms(median(warm.iter().map(|s| s.counted).collect())),
        ms(median(warm.iter().map(|s| s.sandbox).collect())),
        ms(median(warm.iter().map(|s| s.machine).collect())),
    );
    println!(
        "host /usr/bin/python3 -c: {:.2} ms CPU/run (median, its own rusage), machine busy {:.2} ms",
        ms(median(host.iter().map(|s| s.counted).collect())),
        ms(median(host.iter().map(|s| s.machine).collect())),
    );
    rt.block_on(async {
        engine.shutdown().await;
    });
}
