//! What the catalog costs: the memory of the idle pools with the default catalog, and each
//! language's first run (a container started for it: the pools of rarely used languages keep
//! none) and warm runs of its `hello` example.
//!
//!   cargo build --release -p server && cargo run --release -p benches --bin languages [-- WARM_RUNS]
//!
//! Starts its own release `warmrun-server` on images/languages.toml as shipped (each pool at
//! its `min_idle`), waits for the pools, sums the memory cgroups (v1) of its containers, then
//! for each language: one run through `POST /api/v1/runs` when it has no idle container
//! (cold), and WARM_RUNS (default 3) once a container is back (warm). Times are client-side
//! wall times of the whole HTTP request. Prints a Markdown table; asserts nothing.

#[path = "../ops_common.rs"]
mod ops_common;

use ops_common::*;
use std::time::{Duration, Instant};

fn usage_bytes(container: &str) -> u64 {
    std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory/docker/{container}/memory.usage_in_bytes"
    ))
    .ok()
    .and_then(|s| s.trim().parse().ok())
    .unwrap_or(0)
}

fn image_mb(image: &str) -> f64 {
    let out = std::process::Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Size}}", image])
        .output()
        .expect("docker image inspect");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse::<f64>()
        .map_or(f64::NAN, |b| b / 1e6)
}

/// One run of `code` with `Ada` as input: (client wall ms, verdict, stdout).
fn run(server: &Server, language: &str, code: &str) -> (f64, String, String) {
    let body = serde_json::json!({"language": language, "code": code, "stdin": "Ada\n"});
    let t = Instant::now();
    let (status, text) =
        post_json(server.port, "/api/v1/runs", &body.to_string()).expect("POST /api/v1/runs");
    let wall = ms(t.elapsed());
    let r: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let verdict = if status == 200 {
        r["verdict"].as_str().unwrap_or("?").to_string()
    } else {
        format!("HTTP {status}: {text}")
    };
    (
        wall,
        verdict,
        r["stdout"].as_str().unwrap_or("").to_string(),
    )
}

/// Waits (bounded) until the language has an idle container again after a run's reset.
fn wait_idle(server: &Server, language: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let metric = format!("warmrun_pool_containers{{language=\"{language}\",state=\"idle\"}}");
    while Instant::now() < deadline {
        if server.metric(&metric).unwrap_or(0.0) >= 1.0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn main() {
    let warm_runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let started = Instant::now();
    let server = Server::start(
        "benchlang",
        "[rate_limit]\nper_ip_per_s = 0\n[engine]\nmax_containers = 64\n",
        None,
    );
    let ready_s = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(3));
    let (_, text) = get(server.port, "/api/v1/languages").expect("languages");
    let langs: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let langs = langs.as_array().expect("language list").clone();
    // Images are the catalog's (some languages share one, e.g. C and C++ with Clang).
    let catalog = pool::Catalog::load(&repo_root().join("images/languages.toml")).expect("catalog");

    let all: Vec<String> = std::process::Command::new("docker")
        .args(["ps", "-q", "--no-trunc", "--filter"])
        .arg(format!("label=io.warmrun.instance={}", server.instance))
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let idle_bytes: u64 = all.iter().map(|c| usage_bytes(c)).sum();
    println!(
        "Default catalog: {} languages, {} warm containers at start (ready in {ready_s:.1} s), \
         their memory cgroups {:.1} MiB in all; server RSS {:.1} MiB.",
        langs.len(),
        all.len(),
        idle_bytes as f64 / 1048576.0,
        server.rss_kib() as f64 / 1024.0
    );
    println!();
    println!("| language | version | image MB | warm at start | first run ms | warm run ms (p50 of {warm_runs}) | verdict |");
    println!("|---|---|---:|---|---:|---:|---|");
    for l in &langs {
        let id = l["id"].as_str().unwrap_or_default();
        let code = l["example"].as_str().unwrap_or_default();
        let image = catalog
            .find(id)
            .map(|l| l.image.clone())
            .unwrap_or_default();
        let warm_at_start = !server.containers(id).is_empty();
        let (first, verdict, stdout) = run(&server, id, code);
        let ok = verdict == "ok" && stdout.contains("Hello, Ada!");
        let mut warm = Vec::new();
        for _ in 0..warm_runs {
            wait_idle(&server, id);
            warm.push(run(&server, id, code).0);
        }
        let warm = stats(&mut warm);
        println!(
            "| {id} | {} | {:.0} | {} | {first:.0} | {:.0} | {} |",
            l["version"].as_str().unwrap_or(""),
            image_mb(&image),
            if warm_at_start { "yes" } else { "no" },
            warm.p50,
            if ok {
                "ok".to_string()
            } else {
                format!("{verdict} {stdout:?}")
            }
        );
    }
}
