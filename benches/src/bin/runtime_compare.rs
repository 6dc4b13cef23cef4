//! What gVisor costs: the same warm leases under runc and under runsc, one runtime after
//! the other on this machine.
//!
//! * Python hello world and bash `true` through a warm lease (`Engine::execute`, client side,
//!   p50/p90), with a pause between runs so that each one finds its container reset (a
//!   playground's pace, not a throughput test);
//! * the reset after each run and a container's start (create → agent ready), from the
//!   engine's own histograms.
//!
//! `cargo run --release -p benches --bin runtime_compare [-- N]` (default 40 runs per series).
//! Needs Docker with the runtime "runsc" registered (scripts/setup-docker.sh --runsc), the
//! python and bash images and the agent binary. Prints figures and a Markdown table;
//! asserts nothing.

use pool::{Catalog, Engine, EngineConfig, File, RunRequest, Runtime, Verdict};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn pct(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn catalog() -> Catalog {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../images/languages.toml");
    let mut catalog = Catalog::load(&path).expect("images/languages.toml");
    catalog
        .languages
        .retain(|l| matches!(l.id.as_str(), "python" | "bash"));
    for l in &mut catalog.languages {
        l.pool.min_idle = 1;
        l.pool.max = 1;
    }
    catalog
}

fn request(lang: &str, code: &str) -> RunRequest {
    RunRequest {
        language: lang.into(),
        files: vec![File {
            name: String::new(),
            content: code.into(),
        }],
        close_stdin: true,
        ..Default::default()
    }
}

/// Mean of a histogram (`sum / count`) in ms, from the registry's text exposition.
fn histogram_mean_ms(registry: &prometheus::Registry, name: &str, lang: &str) -> f64 {
    let families = registry.gather();
    let Some(f) = families.iter().find(|f| f.name() == name) else {
        return f64::NAN;
    };
    for m in f.get_metric() {
        if m.get_label().iter().any(|l| l.value() == lang) {
            let h = m.get_histogram();
            if h.get_sample_count() > 0 {
                return 1000.0 * h.get_sample_sum() / h.get_sample_count() as f64;
            }
        }
    }
    f64::NAN
}

struct Figures {
    runtime: Runtime,
    python: Vec<f64>,
    bash: Vec<f64>,
    warm_share: f64,
    reset_python_ms: f64,
    reset_bash_ms: f64,
    start_python_ms: f64,
    start_bash_ms: f64,
}

fn measure(rt: &tokio::runtime::Runtime, runtime: Runtime, n: usize) -> Figures {
    let config = EngineConfig {
        instance: format!("bench-{}", runtime.docker_name()),
        runtime,
        ..Default::default()
    };
    let registry = prometheus::Registry::new();
    rt.block_on(async {
        let engine = Engine::start(config, catalog(), &registry)
            .await
            .expect("engine starts");
        while engine.readiness().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut series = [Vec::new(), Vec::new()];
        let mut warm = 0;
        let cases = [
            ("python", "print(\"hello\")", "hello\n"),
            ("bash", "true", ""),
        ];
        for i in 0..n + 5 {
            for (k, (lang, code, out)) in cases.iter().enumerate() {
                // Leave the reset (and Python's prestarted interpreter) time to finish.
                tokio::time::sleep(Duration::from_millis(150)).await;
                let t = Instant::now();
                let r = engine.execute(request(lang, code)).await.expect("run");
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{r:?}");
                assert_eq!(String::from_utf8_lossy(&r.stdout), *out);
                if i >= 5 {
                    series[k].push(ms);
                    warm += usize::from(r.outcome.lease == pool::LeaseKind::Warm);
                }
            }
        }
        engine.shutdown().await;
        let [python, bash] = series;
        Figures {
            runtime,
            warm_share: warm as f64 / (2 * n) as f64,
            reset_python_ms: histogram_mean_ms(&registry, "warmrun_reset_seconds", "python"),
            reset_bash_ms: histogram_mean_ms(&registry, "warmrun_reset_seconds", "bash"),
            start_python_ms: histogram_mean_ms(
                &registry,
                "warmrun_container_start_seconds",
                "python",
            ),
            start_bash_ms: histogram_mean_ms(&registry, "warmrun_container_start_seconds", "bash"),
            python,
            bash,
        }
    })
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N is a number"))
        .unwrap_or(40);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "runtime compare: {} CPUs, {n} warm runs per series",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let figures: Vec<Figures> = [Runtime::Runc, Runtime::Runsc]
        .into_iter()
        .map(|r| measure(&rt, r, n))
        .collect();
    for f in &figures {
        println!(
            "{}: python hello p50 {:.1} ms p90 {:.1} ms | bash true p50 {:.1} ms p90 {:.1} ms | \
             warm leases {:.0} % | reset mean python {:.1} ms bash {:.1} ms | \
             container start mean python {:.0} ms bash {:.0} ms",
            f.runtime.docker_name(),
            pct(&f.python, 50.0),
            pct(&f.python, 90.0),
            pct(&f.bash, 50.0),
            pct(&f.bash, 90.0),
            100.0 * f.warm_share,
            f.reset_python_ms,
            f.reset_bash_ms,
            f.start_python_ms,
            f.start_bash_ms,
        );
    }
    println!();
    println!("| runtime | python hello p50 | p90 | bash `true` p50 | p90 | reset (python / bash) | container start (python / bash) |");
    println!("|---|---|---|---|---|---|---|");
    for f in &figures {
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} / {:.0} ms | {:.0} / {:.0} ms |",
            f.runtime.docker_name(),
            pct(&f.python, 50.0),
            pct(&f.python, 90.0),
            pct(&f.bash, 50.0),
            pct(&f.bash, 90.0),
            f.reset_python_ms,
            f.reset_bash_ms,
            f.start_python_ms,
            f.start_bash_ms,
        );
    }
    if let [a, b] = &figures[..] {
        println!(
            "\nrunsc / runc at p50: python {:.1}x, bash {:.1}x",
            pct(&b.python, 50.0) / pct(&a.python, 50.0),
            pct(&b.bash, 50.0) / pct(&a.bash, 50.0)
        );
    }
}
