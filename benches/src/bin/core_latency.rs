//! The execution core's latency, all in one run on this machine:
//!
//! * Python hello world through a warm lease (`Engine::execute`), vs a per-request
//!   `docker run --rm` with the same limits, vs `python3 -c` on the host;
//! * the engine's overhead running `true` (bash), vs `bash -c true` on the host.
//!
//! `cargo run --release -p benches --bin core_latency [-- WARM DOCKER HOST]`
//! (defaults 50 20 50). Needs Docker, the language images and the agent binary, like the
//! engine. Prints figures; asserts nothing.

use pool::{Catalog, Engine, EngineConfig, File, LanguageId, RunRequest, RunResult, Verdict};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HELLO: &str = "print(\"hello\")";

/// Timings of one series, in milliseconds.
struct Series {
    name: String,
    ms: Vec<f64>,
}

impl Series {
    fn new(name: &str) -> Series {
        Series {
            name: name.to_string(),
            ms: Vec::new(),
        }
    }

    fn push(&mut self, d: Duration) {
        self.ms.push(d.as_secs_f64() * 1000.0);
    }

    fn pct(&self, p: f64) -> f64 {
        let mut v = self.ms.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if v.is_empty() {
            return f64::NAN;
        }
        // Nearest rank.
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    }

    fn p50(&self) -> f64 {
        self.pct(50.0)
    }

    fn print(&self) {
        let min = self.ms.iter().cloned().fold(f64::INFINITY, f64::min);
        let mean = self.ms.iter().sum::<f64>() / self.ms.len() as f64;
        println!(
            "  {:<52} n={:<3} p50 {:>8.2} ms  p90 {:>8.2} ms  min {:>8.2} ms  mean {:>8.2} ms",
            self.name,
            self.ms.len(),
            self.p50(),
            self.pct(90.0),
            min,
            mean
        );
    }
}

fn catalog() -> Catalog {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../images/languages.toml");
    let mut catalog = Catalog::load(&path).expect("images/languages.toml");
    catalog
        .languages
        .retain(|l| matches!(l.id.as_str(), "python" | "bash"));
    catalog
}

fn request(lang: &str, code: &str) -> RunRequest {
    RunRequest {
        language: lang.into(),
        files: vec![File {
            name: String::new(),
            content: code.into(),
        }],
        ..Default::default()
    }
}

/// Where a warm run's time goes, per run.
struct Breakdown {
    lease: Series,
    program: Series,
    rest: Series,
    kinds: std::collections::BTreeMap<&'static str, usize>,
}

impl Breakdown {
    fn new() -> Breakdown {
        Breakdown {
            lease: Series::new("  of which: lease (waiting for a container)"),
            program: Series::new("  of which: program (agent: spawn to exit, whole ms)"),
            rest: Series::new("  of which: the rest (engine, protocol, events)"),
            kinds: Default::default(),
        }
    }
}

/// One run through a warm lease, timed from the client's side.
async fn warm_once(
    engine: &Engine,
    lang: &str,
    code: &str,
    expect: &str,
    s: &mut Series,
    b: &mut Breakdown,
) {
    let t = Instant::now();
    let r: RunResult = engine.execute(request(lang, code)).await.expect("run");
    let total = t.elapsed();
    assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{r:?}");
    assert_eq!(String::from_utf8_lossy(&r.stdout), expect);
    s.push(total);
    let lease = Duration::from_millis(r.outcome.lease_ms);
    let program = Duration::from_millis(r.outcome.exit.wall_ms);
    b.lease.push(lease);
    b.program.push(program);
    b.rest.push(total.saturating_sub(lease + program));
    *b.kinds.entry(r.outcome.lease.as_str()).or_default() += 1;
}

/// When each event of a warm run reaches the client, from the request on.
async fn phases(engine: &Engine, lang: &str, code: &str, n: usize) -> Vec<Series> {
    use pool::RunEvent;
    let mut started = Series::new("  request -> Started");
    let mut first_out = Series::new("  request -> first Stdout");
    let mut exit = Series::new("  request -> Exit");
    for _ in 0..n {
        let mut req = request(lang, code);
        req.close_stdin = true;
        let t = Instant::now();
        let mut h = engine.lease_and_start(req, &mut |_| {}).await.unwrap();
        let mut seen_out = false;
        while let Some(ev) = h.events.recv().await {
            match ev {
                RunEvent::Started => started.push(t.elapsed()),
                RunEvent::Stdout(_) if !seen_out => {
                    seen_out = true;
                    first_out.push(t.elapsed());
                }
                RunEvent::Exit(_) => {
                    exit.push(t.elapsed());
                    break;
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    vec![started, first_out, exit]
}

/// One run of a command, timed.
fn command_once(name: &str, mut cmd: Command, expect: &str, s: &mut Series) {
    let t = Instant::now();
    let out = cmd.stderr(Stdio::inherit()).output().expect("command runs");
    s.push(t.elapsed());
    assert!(out.status.success(), "{name}: {:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout), expect, "{name}");
}

/// `docker run --rm` with the limits and isolation of a pooled container.
fn docker_run(config: &EngineConfig, image: &str, memory_mb: u64) -> Command {
    let mut c = Command::new("docker");
    c.args([
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "--cap-drop",
        "ALL",
    ])
    .args([
        "--security-opt",
        "no-new-privileges",
        "--init",
        "--log-driver",
        "none",
    ])
    .args(["--pids-limit", &config.pids_limit.to_string()])
    .args(["--memory", &format!("{memory_mb}m")])
    .args(["--memory-swap", &format!("{memory_mb}m")])
    .args(["--cpus", &config.cpus.to_string()])
    .args([
        "--tmpfs",
        &format!("/tmp:rw,exec,nosuid,nodev,size={}m", config.tmp_mb),
    ])
    .args([
        "--tmpfs",
        &format!(
            "/workspace:rw,exec,nosuid,nodev,size={}m",
            config.workspace_mb
        ),
    ])
    .args(["--ulimit", "nofile=1024:1024"])
    .args(["--user", "100000:100000", "--workdir", "/workspace"])
    .args([image, "python3", "-c", HELLO]);
    c
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("counts are numbers"))
        .collect();
    let n_warm = args.first().copied().unwrap_or(50);
    let n_docker = args.get(1).copied().unwrap_or(20);
    let n_host = args.get(2).copied().unwrap_or(50);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // WARMRUN_ZYGOTES=0 measures plain interpreter starts (no prestarted interpreter).
    let config = EngineConfig {
        instance: "bench".into(),
        zygotes: std::env::var("WARMRUN_ZYGOTES").as_deref() != Ok("0"),
        fork_server: std::env::var("WARMRUN_FORK_SERVER").as_deref() != Ok("0"),
        ..Default::default()
    };
    let catalog = catalog();
    let python = catalog.find("python").unwrap().clone();
    let registry = prometheus::Registry::new();
    let engine = rt.block_on(async {
        let engine = Engine::start(config.clone(), catalog, &registry)
            .await
            .expect("engine starts");
        while engine.readiness().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        engine
    });

    println!("zygotes: {}", if config.zygotes { "on" } else { "off" });
    println!(
        "fork server: {}",
        if config.fork_server { "on" } else { "off" }
    );
    println!(
        "core latency: {} CPUs, runtime {}, {} warm / {} docker run / {} host iterations",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        config.runtime.docker_name(),
        n_warm,
        n_docker,
        n_host
    );

    // Warm-up of every path (page cache, interpreters, the pool's second container).
    let (mut scratch, mut scratch_b) = (Series::new(""), Breakdown::new());
    for _ in 0..5 {
        rt.block_on(warm_once(
            &engine,
            "python",
            HELLO,
            "hello\n",
            &mut scratch,
            &mut scratch_b,
        ));
        rt.block_on(warm_once(
            &engine,
            "bash",
            "true",
            "",
            &mut scratch,
            &mut scratch_b,
        ));
        command_once("", host("python3", &["-c", HELLO]), "hello\n", &mut scratch);
    }
    command_once(
        "",
        docker_run(&config, &python.image, python.limits.memory_mb),
        "hello\n",
        &mut scratch,
    );

    // The three ways interleaved, so that they share whatever else the machine is doing;
    // the other runs between two warm runs are the client's think time.
    let mut warm = Series::new("warm lease, python hello (Engine::execute)");
    let mut breakdown = Breakdown::new();
    let mut docker = Series::new("docker run --rm, python hello (same limits)");
    let mut host_py = Series::new(&format!(
        "host {} -c 'print(\"hello\")'",
        host_program("python3")
    ));
    for i in 0..n_warm.max(n_docker).max(n_host) {
        if i < n_warm {
            rt.block_on(warm_once(
                &engine,
                "python",
                HELLO,
                "hello\n",
                &mut warm,
                &mut breakdown,
            ));
        }
        if i < n_host {
            command_once(
                "host",
                host("python3", &["-c", HELLO]),
                "hello\n",
                &mut host_py,
            );
        }
        if i < n_docker {
            let cmd = docker_run(&config, &python.image, python.limits.memory_mb);
            command_once("docker run", cmd, "hello\n", &mut docker);
        }
    }
    let mut warm_true = Series::new("warm lease, bash `true`");
    let mut true_breakdown = Breakdown::new();
    let mut host_true = Series::new(&format!("host {} -c true", host_program("bash")));
    for i in 0..n_warm.max(n_host) {
        if i < n_warm {
            rt.block_on(warm_once(
                &engine,
                "bash",
                "true",
                "",
                &mut warm_true,
                &mut true_breakdown,
            ));
        }
        if i < n_host {
            command_once("host", host("bash", &["-c", "true"]), "", &mut host_true);
        }
    }

    // Back to back, no think time: the next run may have to wait for the last one's reset.
    let (back_to_back, b2b_kinds) = rt.block_on(async {
        let mut s = Series::new("warm lease, python hello, back to back");
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        for _ in 0..n_warm {
            let t = Instant::now();
            let r = engine.execute(request("python", HELLO)).await.unwrap();
            assert_eq!(r.outcome.exit.verdict, Verdict::Ok);
            s.push(t.elapsed());
            *kinds.entry(r.outcome.lease.as_str()).or_default() += 1;
        }
        (s, kinds)
    });
    // The bare round trip to an agent over the attached stdio (pool -> dockerd -> shim ->
    // agent and back), which every event of a run pays once.
    let ping = rt.block_on(async {
        let mut s = Series::new("agent round trip (Ping/Pong over attach)");
        let mut lease = engine
            .lease(&LanguageId("python".into()), &mut |_| {})
            .await
            .unwrap();
        let c = lease.container();
        for _ in 0..n_warm {
            let t = Instant::now();
            c.send(agent::Request::Ping).unwrap();
            while !matches!(c.recv().await, Some(agent::Event::Pong) | None) {}
            s.push(t.elapsed());
        }
        lease.release().await;
        s
    });

    let phases = rt.block_on(phases(&engine, "python", HELLO, n_warm));

    println!("\nPython hello world:");
    warm.print();
    breakdown.lease.print();
    breakdown.program.print();
    breakdown.rest.print();
    docker.print();
    host_py.print();
    println!("  lease kinds: {:?}", breakdown.kinds);
    back_to_back.print();
    println!("  lease kinds back to back: {b2b_kinds:?}");
    ping.print();
    println!("  phases of a warm run (from the request, event arrival times at the client):");
    for p in &phases {
        p.print();
    }

    println!("\nEngine overhead on `true`:");
    warm_true.print();
    true_breakdown.program.print();
    true_breakdown.rest.print();
    host_true.print();
    println!(
        "  overhead (warm p50 - host p50): {:.2} ms",
        warm_true.p50() - host_true.p50()
    );

    let m = engine.metrics();
    for lang in ["python", "bash"] {
        let h = m.reset_seconds.with_label_values(&[lang]);
        if h.get_sample_count() > 0 {
            println!(
                "  mean reset ({lang}, after the Exit event, off the latency path): {:.2} ms over {} resets",
                h.get_sample_sum() * 1000.0 / h.get_sample_count() as f64,
                h.get_sample_count()
            );
        }
    }

    let warm_vs_host = warm.p50() / host_py.p50();
    let docker_vs_warm = docker.p50() / warm.p50();
    println!("\nRatios (p50):");
    println!(
        "  warm / host python3 -c  = {warm_vs_host:.2}x   (target <= 1.5x: {})",
        verdict(warm_vs_host <= 1.5)
    );
    println!(
        "  docker run / warm       = {docker_vs_warm:.1}x   (target >= 20x: {})",
        verdict(docker_vs_warm >= 20.0)
    );
    rt.block_on(engine.shutdown());
}

/// The host's own interpreter (`/usr/bin/...` when there: a `python3` found on PATH may be
/// a pyenv shim, a shell script that costs more than the interpreter).
fn host_program(name: &str) -> String {
    let system = format!("/usr/bin/{name}");
    if std::path::Path::new(&system).exists() {
        system
    } else {
        name.to_string()
    }
}

fn host(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(host_program(program));
    c.args(args);
    c
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}
