//! Judge mode against separate runs: 20 test cases of a C program in one judged run
//! (`Engine::judge`: one lease, one compile) against the same 20 cases as 20 separate runs
//! (`Engine::execute`, each compiling), the two series interleaved so both see the same
//! machine load.
//!
//! Per series and repetition: wall time from request to result; CPU time of the sandbox
//! containers (their cgroups' `cpuacct.usage`: compiler, programs, agent, resets); CPU time
//! of the engine process (`getrusage`); and the CPU the agent reported for compile steps and
//! programs.
//!
//! `cargo run --release -p benches --bin judge_batch [-- REPS]` (default 7). Needs Docker
//! (runc, cgroup v1 as on this machine), the c image and the agent binary (`WARMRUN_AGENT`
//! if not the default). Prints medians and a Markdown table; asserts only that every case
//! got its right answer.

use pool::{Catalog, Engine, EngineConfig, File, RunRequest, TestCase, TestSuite, Verdict};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const CASES: usize = 20;

const SUM_C: &str = r#"#include <stdio.h>
int main(void) {
    long a, b;
    if (scanf("%ld %ld", &a, &b) != 2) return 1;
    printf("%ld\n", a + b);
    return 0;
}
"#;

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn catalog() -> Catalog {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../images/languages.toml");
    let mut catalog = Catalog::load(&path).expect("images/languages.toml");
    catalog.languages.retain(|l| l.id.as_str() == "c");
    for l in &mut catalog.languages {
        // Two warm containers: separate runs find one ready while the other resets.
        l.pool.min_idle = 2;
        l.pool.max = 2;
    }
    catalog
}

fn request(stdin: &str) -> RunRequest {
    RunRequest {
        language: "c".into(),
        files: vec![File {
            name: String::new(),
            content: SUM_C.into(),
        }],
        stdin: stdin.as_bytes().to_vec(),
        close_stdin: true,
        ..Default::default()
    }
}

fn input(i: usize) -> (String, String) {
    (format!("{i} {}\n", 7 * i), format!("{}\n", 8 * i))
}

/// CPU time of this process (user + system), in ms.
fn own_cpu_ms() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(u.ru_utime) + ms(u.ru_stime)
}

/// CPU time of the engine's containers (cgroup v1, cgroupfs driver), in ms.
async fn containers_cpu_ms(engine: &Engine) -> f64 {
    use bollard::query_parameters::ListContainersOptionsBuilder;
    let docker = engine.docker().expect("a Docker engine");
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("io.warmrun.instance={}", engine.config().instance)],
    )]);
    let list = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("docker lists containers");
    list.iter()
        .filter_map(|c| c.id.as_deref())
        .filter_map(|id| {
            std::fs::read_to_string(format!("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage"))
                .ok()
        })
        .filter_map(|t| t.trim().parse::<f64>().ok())
        .sum::<f64>()
        / 1e6
}

#[derive(Default)]
struct Series {
    wall_ms: Vec<f64>,
    containers_cpu_ms: Vec<f64>,
    engine_cpu_ms: Vec<f64>,
    reported_cpu_ms: Vec<f64>,
    compiles: Vec<f64>,
}

impl Series {
    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} |",
            median(&self.wall_ms),
            median(&self.containers_cpu_ms),
            median(&self.engine_cpu_ms),
            median(&self.reported_cpu_ms),
            median(&self.compiles),
        )
    }
}

/// Waits until every container is idle again (resets done), so a series starts clean and
/// the container CPU of one series does not run into the next.
async fn settle(engine: &Engine) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if engine
            .status()
            .iter()
            .all(|p| p.leased == 0 && p.resetting == 0 && p.idle >= 2)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
}

fn compiles(engine: &Engine) -> f64 {
    engine
        .metrics()
        .compile_seconds
        .with_label_values(&["c", "ok"])
        .get_sample_count() as f64
}

async fn measure<F: std::future::Future<Output = f64>>(
    engine: &Engine,
    series: &mut Series,
    run: F,
) {
    settle(engine).await;
    let (containers, own, compiled) = (
        containers_cpu_ms(engine).await,
        own_cpu_ms(),
        compiles(engine),
    );
    let t = Instant::now();
    let reported = run.await;
    series.wall_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    series.engine_cpu_ms.push(own_cpu_ms() - own);
    series.reported_cpu_ms.push(reported);
    settle(engine).await;
    series
        .containers_cpu_ms
        .push(containers_cpu_ms(engine).await - containers);
    series.compiles.push(compiles(engine) - compiled);
}

async fn judged(engine: &Engine) -> f64 {
    let cases = (0..CASES)
        .map(|i| {
            let (stdin, want) = input(i);
            TestCase {
                stdin,
                expected_stdout: Some(want),
                args: None,
            }
        })
        .collect();
    let mut req = request("");
    req.tests = Some(TestSuite {
        cases,
        ..Default::default()
    });
    let r = engine.judge(req, &mut |_| {}).await.expect("judged");
    assert_eq!(r.passed(), CASES, "{:?}", r.outcome);
    let compile = r.compile.map_or(0, |c| c.exit.cpu_ms);
    (compile + r.cases.iter().map(|c| c.exit.cpu_ms).sum::<u64>()) as f64
}

async fn separate(engine: &Engine) -> f64 {
    let mut cpu = 0;
    for i in 0..CASES {
        let (stdin, want) = input(i);
        let r = engine.execute(request(&stdin)).await.expect("run");
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok);
        assert_eq!(String::from_utf8_lossy(&r.stdout), want);
        cpu += r.compile.map_or(0, |c| c.exit.cpu_ms) + r.outcome.exit.cpu_ms;
    }
    cpu as f64
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let mut config = EngineConfig {
        instance: format!("bench-judge-{}", std::process::id()),
        max_containers: 2,
        // No container retires during the measurement (its CPU counter would go with it).
        max_uses: 100_000,
        // Separate runs of one program would reuse its compile: compare compiling alike.
        compile_cache_mib: 0,
        ..Default::default()
    };
    if let Some(agent) = std::env::var_os("WARMRUN_AGENT") {
        config.agent_path = agent.into();
    }
    let engine = Engine::start(config, catalog(), &prometheus::Registry::new())
        .await
        .expect("the engine starts");
    while engine.readiness().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Warm-up: the compiler's files in the page cache, both paths exercised once.
    judged(&engine).await;
    separate(&engine).await;
    let (mut one, mut many) = (Series::default(), Series::default());
    for rep in 0..reps {
        measure(&engine, &mut one, judged(&engine)).await;
        measure(&engine, &mut many, separate(&engine)).await;
        eprintln!(
            "rep {rep}: judged {:.0} ms, separate {:.0} ms",
            one.wall_ms[rep], many.wall_ms[rep]
        );
    }
    println!("{CASES} cases of a C program (a + b), medians of {reps} repetitions, runc:\n");
    println!("| way | wall | containers' CPU | engine CPU | agent-reported CPU (compile + runs) | compilations |");
    println!("|---|---|---|---|---|---|");
    println!("{}", one.row("one judged run with 20 `tests`"));
    println!("{}", many.row("20 separate runs"));
    println!(
        "\nratios (separate / judged): wall {:.1}×, containers' CPU {:.1}×",
        median(&many.wall_ms) / median(&one.wall_ms),
        median(&many.containers_cpu_ms) / median(&one.containers_cpu_ms),
    );
    engine.shutdown().await;
}
