//! The compile cache: each example of C, C++, Go, Rust and Java (the catalog's `examples`)
//! run twice through `Engine::execute` on warm containers; the first compiles (and keeps what
//! the compile left), the second reuses it. Wall time from request to result, with a warm
//! container waiting both times.
//!
//! `cargo run --release -p benches --bin compile_cache [-- REPS]` (default 3: each example
//! is run as a new program REPS times, with a comment that makes its source differ, so
//! every first run really compiles). Needs Docker, the images and the agent binary
//! (`WARMRUN_AGENT` if not the default). Prints a Markdown table of medians; asserts that
//! second runs end as first runs did.

use pool::{Catalog, Engine, EngineConfig, File, RunRequest, RunResult};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const LANGS: [&str; 5] = ["c", "cpp", "go", "rust", "java"];

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
    catalog.languages.retain(|l| LANGS.contains(&l.id.as_str()));
    for l in &mut catalog.languages {
        l.pool.min_idle = 1;
        l.pool.max = 1;
    }
    catalog
}

/// Waits until every pool has its container idle again (reset done), so each run leases a
/// warm one.
async fn settle(engine: &Engine) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if engine
            .status()
            .iter()
            .all(|p| p.leased == 0 && p.resetting == 0 && p.idle >= 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn timed(engine: &Engine, lang: &str, code: &str) -> (f64, RunResult) {
    settle(engine).await;
    let req = RunRequest {
        language: lang.into(),
        files: vec![File {
            name: String::new(),
            content: code.into(),
        }],
        stdin: b"Ada\n".to_vec(),
        close_stdin: true,
        ..Default::default()
    };
    let t = Instant::now();
    let r = engine.execute(req).await.expect("the run is accepted");
    (t.elapsed().as_secs_f64() * 1000.0, r)
}

/// A line comment in the language, so a repetition is a new program to the cache.
fn tagged(lang: &str, code: &str, tag: &str) -> String {
    let _ = lang; // all five take `//`
    format!("// {tag}\n{code}")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let dir = std::env::temp_dir().join(format!(
        "warmrun-bench-compile-cache-{}",
        std::process::id()
    ));
    let mut config = EngineConfig {
        instance: format!("bench-ccache-{}", std::process::id()),
        max_containers: 5,
        max_uses: 100_000,
        compile_cache_dir: dir.clone(),
        ..Default::default()
    };
    if let Some(agent) = std::env::var_os("WARMRUN_AGENT") {
        config.agent_path = agent.into();
    }
    let catalog = catalog();
    let engine = Engine::start(config, catalog.clone(), &prometheus::Registry::new())
        .await
        .expect("engine starts");
    let deadline = Instant::now() + Duration::from_secs(300);
    while engine.readiness().await.is_err() {
        assert!(Instant::now() < deadline, "pools never got warm");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("| language | example | first (compiles) | second (reused) | speed-up |");
    println!("|---|---|---|---|---|");
    let mut summary = Vec::new();
    for lang in LANGS {
        let language = catalog.find(lang).expect("in the catalog");
        let (mut firsts, mut seconds) = (Vec::new(), Vec::new());
        for example in &language.examples {
            let (mut first_ms, mut second_ms) = (Vec::new(), Vec::new());
            for rep in 0..reps {
                let code = tagged(
                    lang,
                    &example.code,
                    &format!("bench {rep} {}", std::process::id()),
                );
                let (a, first) = timed(&engine, lang, &code).await;
                // The entry is written in the background after the first result (Rust's
                // 11 MB binary takes a while): a user's second run comes seconds later.
                tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
                let (b, second) = timed(&engine, lang, &code).await;
                let cached = second.compile.as_ref().is_some_and(|c| c.cached);
                if !cached {
                    // A compile error is not kept: both runs compile.
                    let verdict = first.compile.as_ref().map(|c| c.exit.verdict);
                    println!(
                        "<!-- {lang}/{}: not reused (compile {verdict:?}) -->",
                        example.id
                    );
                    break;
                }
                // Outputs may differ (an example prints addresses, which ASLR moves).
                assert_eq!(
                    first.outcome.exit.verdict, second.outcome.exit.verdict,
                    "{lang}/{}: same verdict",
                    example.id
                );
                first_ms.push(a);
                second_ms.push(b);
            }
            if first_ms.is_empty() {
                continue;
            }
            let (a, b) = (median(&first_ms), median(&second_ms));
            println!(
                "| {lang} | {} | {a:.0} ms | {b:.0} ms | {:.1}× |",
                example.id,
                a / b
            );
            firsts.push(a);
            seconds.push(b);
        }
        summary.push((lang, median(&firsts), median(&seconds)));
    }
    println!();
    println!("| language | first run (median of examples) | second run | speed-up |");
    println!("|---|---|---|---|");
    for (lang, a, b) in summary {
        println!("| {lang} | {a:.0} ms | {b:.0} ms | **{:.1}×** |", a / b);
    }
    let m = engine.metrics();
    println!(
        "\ncache: {} entries, {:.1} MiB",
        m.compile_cache_entries.get(),
        m.compile_cache_bytes.get() as f64 / 1048576.0
    );
    engine.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
