//! Runs one program through the engine: `cargo run -p pool --example smoke -- CATALOG LANG CODE [STDIN]`.

use pool::{Catalog, Engine, EngineConfig, File, RunRequest};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let args: Vec<String> = std::env::args().collect();
    let catalog = Catalog::load(args[1].as_ref()).unwrap();
    let mut config = EngineConfig {
        instance: "smoke".into(),
        ..Default::default()
    };
    if std::env::var("WARMRUN_RUNTIME").as_deref() == Ok("runsc") {
        config.runtime = pool::Runtime::Runsc;
    }
    let engine = Engine::start(config, catalog, &prometheus::Registry::new())
        .await
        .unwrap();
    let gap = std::env::var("WARMRUN_GAP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for i in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(gap)).await;
        let t = std::time::Instant::now();
        let r = engine
            .execute(RunRequest {
                language: args[2].clone(),
                files: vec![File {
                    name: String::new(),
                    content: args[3].clone(),
                }],
                stdin: args.get(4).cloned().unwrap_or_default().into_bytes(),
                ..Default::default()
            })
            .await
            .unwrap();
        println!(
            "#{i} {:?} in {:?}\nstdout={:?}\nstderr={:?}",
            r.outcome,
            t.elapsed(),
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        );
    }
    engine.shutdown().await;
}
